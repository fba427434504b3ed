import { Agent, type Model, type ModelRequest, type ModelStreamEvent } from '../../src/index.ts'

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

/**
 * Streams a prompt through an Agent on `model` and aborts at the first text delta: resolves with
 * the deltas seen and the error the stream ended with (an InvocationAbortedError, if all is well).
 */
export async function abortAtFirstTextDelta(model: Model): Promise<{ texts: string[]; error: unknown }> {
  const controller = new AbortController()
  const agent = new Agent({ model })
  const texts: string[] = []
  const error = await rejectionOf(
    (async () => {
      for await (const event of agent.stream('Tell me a story', { signal: controller.signal })) {
        if (event.type === 'text-delta') {
          texts.push(event.text)
          controller.abort()
        }
      }
    })(),
  )
  return { texts, error }
}
