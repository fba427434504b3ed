import { expect } from 'vitest'
import type { Message } from '../../src/index.ts'
import { LARGE_TOOL_NOTE } from '../support/large-tool-note.ts'
import { restoreInFreshProcess, runWorkersTogether, type WorkerStore } from '../support/run-session-worker.ts'
import { expectValidForModel } from '../support/valid-history.ts'

/** The plain-text prompts of a context, in order ("P1 turn 3", …). */
export function prompts(messages: Message[]): string[] {
  return messages.flatMap((message) =>
    message.role === 'user'
      ? message.content.flatMap((block) => (block.type === 'text' ? [block.text] : []))
      : [],
  )
}

/**
 * Runs writer processes together on one session, then opens it as a user would in a new process
 * with NullConversationManager (documented as the whole conversation) and checks that every prompt
 * whose `run` returned is there exactly once, in a history the model accepts.
 */
export async function writersThenFreshRestore(
  store: WorkerStore,
  sessionId: string,
  processes: number,
  writerManager: string,
  turns: number,
) {
  const labels = Array.from({ length: processes }, (_, i) => `P${i}`)
  const added = await runWorkersTogether(
    labels.map((label) => ({
      store,
      sessionId,
      label,
      turns,
      withTools: true,
      manager: writerManager,
    })),
  )
  const restored = await restoreInFreshProcess(store, sessionId, 'null')
  const acknowledged = labels.flatMap((label) =>
    Array.from({ length: turns }, (_, t) => `${label} turn ${t}`),
  )
  expect(prompts(restored).sort()).toEqual(acknowledged.sort())
  expectValidForModel(restored)
  // A tool call made for a second turn's prompt returns over 16 KiB (on S3, a blob): every such
  // result a writer added comes back whole. (Which prompt a call answers depends on how the
  // writers interleave, so not every writer makes one; some always do.)
  const large = (messages: string[]) => messages.filter((json) => json.includes(LARGE_TOOL_NOTE)).length
  const largeAdded = large(added.flat())
  if (turns >= 2) expect(largeAdded).toBeGreaterThan(0)
  expect(large(restored.map((message) => JSON.stringify(message)))).toBe(largeAdded)
  return restored
}
