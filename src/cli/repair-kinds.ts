import type { RepairKind } from '../session/plan-history-repair.ts'

/**
 * The repairs that change storage (see session/plan-history-repair.ts): a damaged record, a damaged
 * agent record, a tool call left without its result, or a window start past the last message. A
 * session needing one of these is damaged. The other kinds are
 * notes: the history is intact and every request is already built valid from it, e.g. the two
 * prompts in a row that a cancelled reply leaves behind.
 */
export const STORAGE_REPAIRS: ReadonlySet<RepairKind> = new Set<RepairKind>([
  'damaged-record',
  'damaged-agent-record',
  'interrupted-tool-use',
  'window-start-out-of-range',
])
