import { isValidWindowStart } from '../conversation/sliding-window-conversation-manager.ts'
import {
  type ContentBlock,
  type Message,
  type ToolResultBlock,
  toolResults,
  toolUses,
} from '../messages/message.ts'

export type RepairKind =
  | 'damaged-record'
  | 'interrupted-tool-use'
  | 'orphaned-tool-result'
  | 'window-start-moved'
  | 'consecutive-roles'
  | 'unanswered-prompt'

/** One thing found wrong, and what was done. `written` says whether storage was changed. */
export interface Repair {
  kind: RepairKind
  index: number
  detail: string
  written: boolean
}

export type RepairAction =
  | { kind: 'append'; message: Message }
  | { kind: 'update'; index: number; message: Message }

export interface StoredEntry {
  index: number
  message: Message
}

export interface RepairPlan {
  /** Writes that make the stored history valid for the next model call. */
  actions: RepairAction[]
  repairs: Repair[]
  /** The window's first index after skipping an invalid start (≥ the given one). */
  windowStart: number
  /** The history as it reads once the actions are applied, from `windowStart`. */
  entries: StoredEntry[]
}

export const INTERRUPTED_TOOL_TEXT =
  'The tool run was interrupted (the process stopped before it finished); no result was recorded.'

/**
 * Plans the repair of a stored history (or its window), without I/O, so the rules are tested
 * alone and every process that reads the same history plans the same repair.
 *
 * Rules, in the order applied:
 * 1. With `adjustWindowStart`, the window skips forward to a user message without tool results:
 *    an orphaned tool result (its call is outside the window) leaves the window, not storage.
 * 2. A tool call whose result is missing from the next message gets an error result saying the run
 *    was interrupted: added to the next user message, or appended as a new one at the tail.
 *    When the next message is the assistant's (interleaved writers), the call itself is turned
 *    into a text note instead, since a result cannot be inserted between two stored messages.
 * 3. A tool result with no matching call in the message before it becomes a text note.
 * 4. Two consecutive messages of one role, or a trailing prompt with no reply, need no write:
 *    the Agent merges same-role neighbours when it builds each request (see model-view.ts).
 *    They are reported so that a person reading the history knows.
 */
export function planHistoryRepair(
  input: StoredEntry[],
  options: { windowStart: number; adjustWindowStart: boolean; isTail: boolean },
): RepairPlan {
  const repairs: Repair[] = []
  const actions: RepairAction[] = []
  let entries = input.map((entry) => ({ index: entry.index, message: structuredClone(entry.message) }))
  let windowStart = options.windowStart

  if (options.adjustWindowStart) {
    const firstValid = entries.findIndex((entry) => isValidWindowStart(entry.message))
    const skip = firstValid === -1 ? entries.length : firstValid
    if (skip > 0) {
      const next = entries[skip]?.index ?? windowStart + entries.length
      repairs.push({
        kind: 'window-start-moved',
        index: windowStart,
        detail: `the window opened on ${describe(entries[0]?.message)}; it now starts at message ${next}`,
        written: false,
      })
      windowStart = next
      entries = entries.slice(skip)
    }
  }

  const updated = new Map<number, Message>()
  const update = (entry: StoredEntry, message: Message) => {
    entry.message = message
    updated.set(entry.index, message)
  }

  for (const [position, entry] of entries.entries()) {
    const message = entry.message
    const previous = entries[position - 1]
    if (message.role === 'user' && toolResults(message).length > 0) {
      const calls = new Set(
        previous?.message.role === 'assistant' ? toolUses(previous.message).map((u) => u.toolUseId) : [],
      )
      const orphans = toolResults(message).filter((result) => !calls.has(result.toolUseId))
      if (orphans.length > 0 && previous !== undefined) {
        const orphanIds = new Set(orphans.map((orphan) => orphan.toolUseId))
        update(entry, {
          role: 'user',
          content: message.content.map((block) =>
            block.type === 'toolResult' && orphanIds.has(block.toolUseId)
              ? {
                  type: 'text',
                  text: `[A tool result for call ${block.toolUseId} was stored without its call.]`,
                }
              : block,
          ),
        })
        repairs.push({
          kind: 'orphaned-tool-result',
          index: entry.index,
          detail: `results without a call (${[...orphanIds].join(', ')}) became text notes`,
          written: true,
        })
      }
    }

    const calls = message.role === 'assistant' ? toolUses(message) : []
    if (calls.length === 0) continue
    const next = entries[position + 1]
    const answered = new Set(
      next?.message.role === 'user' ? toolResults(next.message).map((r) => r.toolUseId) : [],
    )
    const missing = calls.filter((call) => !answered.has(call.toolUseId))
    if (missing.length === 0) continue
    const ids = missing.map((call) => call.toolUseId).join(', ')
    if (next === undefined) {
      if (!options.isTail) continue
      actions.push({ kind: 'append', message: { role: 'user', content: missing.map(interruptedResult) } })
      repairs.push({
        kind: 'interrupted-tool-use',
        index: entry.index,
        detail: `calls ${ids} had no result; an error result was appended`,
        written: true,
      })
    } else if (next.message.role === 'user') {
      update(next, { role: 'user', content: [...missing.map(interruptedResult), ...next.message.content] })
      repairs.push({
        kind: 'interrupted-tool-use',
        index: entry.index,
        detail: `calls ${ids} had no result; error results were added to message ${next.index}`,
        written: true,
      })
    } else {
      const missingIds = new Set(missing.map((call) => call.toolUseId))
      update(entry, {
        role: 'assistant',
        content: message.content.map(
          (block): ContentBlock =>
            block.type === 'toolUse' && missingIds.has(block.toolUseId)
              ? { type: 'text', text: `[Tool call ${block.name} (${block.toolUseId}) was interrupted.]` }
              : block,
        ),
      })
      repairs.push({
        kind: 'interrupted-tool-use',
        index: entry.index,
        detail: `calls ${ids} were followed by another assistant message; they became text notes`,
        written: true,
      })
    }
  }

  for (const [index, message] of updated) actions.unshift({ kind: 'update', index, message })

  for (const [position, entry] of entries.entries()) {
    const previous = entries[position - 1]
    if (previous && previous.message.role === entry.message.role) {
      repairs.push({
        kind: 'consecutive-roles',
        index: entry.index,
        detail: `two ${entry.message.role} messages in a row; requests merge them`,
        written: false,
      })
    }
  }
  const last = entries.at(-1)
  if (
    options.isTail &&
    last &&
    isValidWindowStart(last.message) &&
    actions.every((a) => a.kind !== 'append')
  ) {
    repairs.push({
      kind: 'unanswered-prompt',
      index: last.index,
      detail:
        'the last prompt has no reply (the run stopped before the model answered); the next prompt joins it',
      written: false,
    })
  }

  let nextIndex = windowStart + entries.length
  const appended = actions.flatMap((action) =>
    action.kind === 'append' ? [{ index: nextIndex++, message: action.message }] : [],
  )
  return { actions, repairs, windowStart, entries: [...entries, ...appended] }
}

function interruptedResult(call: { toolUseId: string }): ToolResultBlock {
  return {
    type: 'toolResult',
    toolUseId: call.toolUseId,
    status: 'error',
    content: [{ type: 'text', text: INTERRUPTED_TOOL_TEXT }],
  }
}

function describe(message: Message | undefined): string {
  if (!message) return 'nothing'
  if (message.role === 'assistant') return 'an assistant message'
  return 'a tool result without its call'
}
