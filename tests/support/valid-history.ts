import { expect } from 'vitest'
import { modelView } from '../../src/agent/model-view.ts'
import { type Message, toolResults, toolUses } from '../../src/messages/message.ts'
import { INTERRUPTED_TOOL_TEXT } from '../../src/session/plan-history-repair.ts'

/**
 * Asserts what every provider requires of a request: it opens on a user turn, roles alternate,
 * each tool call is answered in the very next message, and no result comes without its call.
 */
export function expectValidForModel(messages: Message[]): void {
  const view = modelView(messages)
  expect(view[0]?.role ?? 'user').toBe('user')
  for (const [position, message] of view.entries()) {
    const previous = view[position - 1]
    if (previous) expect(message.role, `message ${position} alternates`).not.toBe(previous.role)
    const calls = toolUses(message).map((call) => call.toolUseId)
    const next = view[position + 1]
    if (calls.length > 0 && next) {
      expect(
        toolResults(next)
          .map((result) => result.toolUseId)
          .sort(),
      ).toEqual([...calls].sort())
    }
    const results = toolResults(message).map((result) => result.toolUseId)
    if (results.length > 0) {
      const answered = previous ? toolUses(previous).map((call) => call.toolUseId) : []
      for (const id of results) expect(answered, `result ${id} has its call`).toContain(id)
    }
  }
}

/** A message a restore appended for a tool call it found without a result (another writer's, still running). */
export function isInterruptedRepairAppend(message: Message): boolean {
  return (
    message.role === 'user' &&
    message.content.every(
      (block) =>
        block.type === 'toolResult' &&
        block.content.some((content) => content.type === 'text' && content.text === INTERRUPTED_TOOL_TEXT),
    )
  )
}
