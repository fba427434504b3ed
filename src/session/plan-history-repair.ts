import { isValidWindowStart } from '../conversation/sliding-window-conversation-manager.ts'
import { type Message, type ToolResultBlock, toolResults, toolUses } from '../messages/message.ts'

export type RepairKind =
  | 'damaged-record'
  | 'damaged-agent-record'
  | 'interrupted-tool-use'
  | 'orphaned-tool-result'
  | 'displaced-tool-result'
  | 'window-start-moved'
  | 'window-start-out-of-range'
  | 'consecutive-roles'
  | 'unanswered-prompt'

/**
 * One thing found wrong, and what was done. `written` says whether storage was changed. `index` is
 * the message it concerns (for `damaged-agent-record`, the message the window now starts at).
 */
export interface Repair {
  kind: RepairKind
  index: number
  detail: string
  written: boolean
}

export interface StoredEntry {
  index: number
  message: Message
}

export interface RepairPlan {
  /** Messages to append at the tail so the stored history carries what was missing. */
  append: Message[]
  repairs: Repair[]
  /** The window's first index after skipping an invalid start (≥ the given one). */
  windowStart: number
  /** The history from `windowStart` as it reads once `append` is stored. */
  entries: StoredEntry[]
}

export const INTERRUPTED_TOOL_TEXT =
  'The tool run was interrupted (the process stopped before it finished); no result was recorded.'

/**
 * Plans the repair of a stored history (or its window) without I/O, so the rules are tested alone
 * and every process that reads the same history plans the same repair.
 *
 * Written to storage, because information is missing and every reader must see the same answer:
 * - a tool call with no result anywhere after it (the process died during the tool) gets an
 *   error result saying the run was interrupted, appended at the tail. (A damaged record is the
 *   other written repair; see load-repaired-history.ts.)
 *
 * Not written, because the history is intact and the request builder (agent/model-view.ts), a pure
 * function of storage, already makes it valid the same way in every process; reported so a person
 * reading the history knows:
 * - with `adjustWindowStart`, a window that opens on a tool result or an assistant message skips
 *   forward to the next user prompt (the orphan leaves the window, not storage);
 * - a result stored after other messages (two writers interleaved) is placed after its call;
 * - a result whose call is not in the range is left out of requests;
 * - two consecutive messages of one role, or a trailing prompt with no reply, are merged.
 */
export function planHistoryRepair(
  input: StoredEntry[],
  options: { windowStart: number; adjustWindowStart: boolean; isTail: boolean },
): RepairPlan {
  const repairs: Repair[] = []
  let entries = input
  let windowStart = options.windowStart

  if (options.adjustWindowStart) {
    const firstValid = entries.findIndex((entry) => isValidWindowStart(entry.message))
    const skip = firstValid === -1 ? entries.length : firstValid
    if (skip > 0) {
      const next = windowStart + skip
      const opener = entries[0]?.message.role === 'assistant' ? 'an assistant message' : 'a tool result'
      repairs.push({
        kind: 'window-start-moved',
        index: windowStart,
        detail: `the window opened on ${opener}; it now starts at message ${next}`,
        written: false,
      })
      windowStart = next
      entries = entries.slice(skip)
    }
  }

  const callAt = new Map<string, number>()
  const answered = new Set<string>()
  const unanswered: { index: number; calls: { toolUseId: string; name: string }[] }[] = []
  for (const [position, entry] of entries.entries()) {
    for (const result of toolResults(entry.message)) {
      const call = callAt.get(result.toolUseId)
      if (call === undefined) {
        repairs.push({
          kind: 'orphaned-tool-result',
          index: entry.index,
          detail: `result ${result.toolUseId} has no call before it; requests leave it out`,
          written: false,
        })
      } else if (call !== position - 1 && !answered.has(result.toolUseId)) {
        repairs.push({
          kind: 'displaced-tool-result',
          index: entry.index,
          detail: `result ${result.toolUseId} was stored after other messages; requests place it after its call`,
          written: false,
        })
      }
      answered.add(result.toolUseId)
    }
    for (const call of toolUses(entry.message)) callAt.set(call.toolUseId, position)
  }
  for (const entry of entries) {
    const calls = toolUses(entry.message).filter((call) => !answered.has(call.toolUseId))
    if (calls.length > 0) unanswered.push({ index: entry.index, calls })
  }

  const append: Message[] = []
  if (options.isTail && unanswered.length > 0) {
    const content: ToolResultBlock[] = unanswered.flatMap(({ calls }) =>
      calls.map((call) => ({
        type: 'toolResult' as const,
        toolUseId: call.toolUseId,
        status: 'error' as const,
        content: [{ type: 'text' as const, text: INTERRUPTED_TOOL_TEXT }],
      })),
    )
    append.push({ role: 'user', content })
    for (const { index, calls } of unanswered) {
      repairs.push({
        kind: 'interrupted-tool-use',
        index,
        detail: `${calls.map((call) => `${call.name} (${call.toolUseId})`).join(', ')} had no result; an error result was appended`,
        written: true,
      })
    }
  }

  for (const [position, entry] of entries.entries()) {
    const previous = entries[position - 1]
    // A message of only tool results is absorbed into its call by the request view, so a prompt
    // after it is not a same-role pair worth reporting.
    const absorbed = previous?.message.content.every((block) => block.type === 'toolResult') ?? false
    if (previous && !absorbed && previous.message.role === entry.message.role) {
      repairs.push({
        kind: 'consecutive-roles',
        index: entry.index,
        detail: `two ${entry.message.role} messages in a row; requests merge them`,
        written: false,
      })
    }
  }
  const last = entries.at(-1)
  if (options.isTail && last && isValidWindowStart(last.message)) {
    repairs.push({
      kind: 'unanswered-prompt',
      index: last.index,
      detail:
        'the last prompt has no reply (the run stopped before the model answered); the next prompt joins it',
      written: false,
    })
  }

  const tail = windowStart + entries.length
  const appended = append.map((message, offset) => ({ index: tail + offset, message }))
  return { append, repairs, windowStart, entries: [...entries, ...appended] }
}
