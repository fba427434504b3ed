import type { Model, ModelRequest, ModelStreamEvent } from '../../src/index.ts'

/** Calls `model.stream` directly and gathers every event, for tests below the Agent. */
export async function collectEvents(model: Model, request: ModelRequest): Promise<ModelStreamEvent[]> {
  const events: ModelStreamEvent[] = []
  for await (const event of model.stream(request)) events.push(event)
  return events
}

/** The error a promise rejects with (fails the test if it resolves). */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise
  } catch (error) {
    return error
  }
  throw new Error('expected the promise to reject, but it resolved')
}
