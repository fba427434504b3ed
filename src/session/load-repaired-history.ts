import { isValidWindowStart } from '../conversation/sliding-window-conversation-manager.ts'
import type { Message } from '../messages/message.ts'
import { planHistoryRepair, type Repair, type StoredEntry } from './plan-history-repair.ts'
import { DamagedRecordError, SessionConflictError, StorageError } from './session-errors.ts'
import type { MessageRecord } from './session-records.ts'
import type { AgentRef, SessionRepository } from './session-repository.ts'

export interface RepairReport {
  sessionId: string
  agentId: string
  repairs: Repair[]
}

export interface RepairedHistory {
  /** The history from `windowStart`, as stored after the repair (or as it would be, in a dry run). */
  entries: StoredEntry[]
  windowStart: number
  repairs: Repair[]
}

export const DAMAGED_PLACEHOLDER: Message = {
  role: 'user',
  content: [
    { type: 'text', text: '[A stored message could not be read; it was kept aside for inspection.]' },
  ],
}

const MAX_ATTEMPTS = 8
/** How many messages one step back reads when a window holds no valid start (doubles each step). */
const FIRST_STEP_BACK = 32

/**
 * Reads an agent's history from `offset` and makes it valid for the next model call, writing each
 * repair back (unless `dryRun`) so every later reader, in any process, sees the same history.
 * Damaged records are kept aside and replaced by a placeholder. Appends use compare-and-append, so
 * a repair racing with another writer re-reads and re-plans instead of writing at a stale index.
 */
export async function loadRepairedHistory(
  repository: SessionRepository,
  ref: AgentRef,
  options: { offset: number; adjustWindowStart: boolean; dryRun?: boolean },
): Promise<RepairedHistory> {
  const found: Repair[] = []
  let offset = options.offset
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const records = options.dryRun
      ? await readTolerant(repository, ref, offset, found)
      : await readQuarantining(repository, ref, offset, found)
    if (records === null) continue
    if (options.adjustWindowStart && offset > 0 && records.length > 0 && !records.some(isValidStart)) {
      // The window holds no message it may open on (one tool turn longer than the window): open
      // on the latest valid start before it instead, keeping that turn whole, as the sliding
      // window does in memory. Opening past it would restore an empty context.
      offset = await latestValidStartBefore(repository, ref, offset)
      continue
    }
    const plan = planHistoryRepair(
      records.map((record) => ({ index: record.index, message: record.message })),
      { windowStart: offset, adjustWindowStart: options.adjustWindowStart, isTail: true },
    )
    const result = {
      entries: plan.entries,
      windowStart: plan.windowStart,
      repairs: [...found, ...plan.repairs],
    }
    if (options.dryRun)
      return { ...result, repairs: result.repairs.map((repair) => ({ ...repair, written: false })) }
    try {
      let head = offset + records.length
      for (const message of plan.append) {
        await repository.appendMessage({ ...ref, message, expectedIndex: head++ })
      }
    } catch (error) {
      // Another writer appended while we planned: our plan is stale. Re-read and plan again.
      if (error instanceof SessionConflictError) continue
      throw error
    }
    return result
  }
  throw new StorageError(
    'repair',
    `session "${ref.sessionId}" agent "${ref.agentId}" (it kept changing under ${MAX_ATTEMPTS} attempts)`,
  )
}

function isValidStart(record: MessageRecord): boolean {
  return isValidWindowStart(record.message)
}

/**
 * The index of the latest message before `offset` a window may open on, or 0. Reads backwards in
 * growing steps, so a long tool turn costs a few reads, never the whole history.
 */
async function latestValidStartBefore(
  repository: SessionRepository,
  ref: AgentRef,
  offset: number,
): Promise<number> {
  let end = offset
  for (let step = FIRST_STEP_BACK; end > 0; step *= 2) {
    const start = Math.max(0, end - step)
    const records = await readTolerant(repository, ref, start, [], end - start)
    const opening = records.findLast(isValidStart)
    if (opening) return opening.index
    end = start
  }
  return 0
}

/** Reads from `offset`; a damaged record is quarantined and null returned so the caller reads again. */
async function readQuarantining(
  repository: SessionRepository,
  ref: AgentRef,
  offset: number,
  found: Repair[],
): Promise<MessageRecord[] | null> {
  try {
    return await repository.readMessages({ ...ref, offset })
  } catch (error) {
    if (!(error instanceof DamagedRecordError) || error.index === undefined) throw error
    const record = await repository.quarantineMessage({
      ...ref,
      index: error.index,
      placeholder: DAMAGED_PLACEHOLDER,
    })
    found.push({
      kind: 'damaged-record',
      index: error.index,
      detail: `${error.reason}; the bytes were kept at ${record.damaged?.keptAs ?? error.location}`,
      written: true,
    })
    return null
  }
}

/** Reads from `offset` without writing: a damaged record is reported and stands in as the placeholder. */
async function readTolerant(
  repository: SessionRepository,
  ref: AgentRef,
  offset: number,
  found: Repair[],
  limit?: number,
): Promise<MessageRecord[]> {
  try {
    return await repository.readMessages({ ...ref, offset, ...(limit === undefined ? {} : { limit }) })
  } catch (error) {
    if (!(error instanceof DamagedRecordError)) throw error
  }
  const head = await repository.countMessages(ref)
  const count = limit === undefined ? head : Math.min(head, offset + limit)
  const records: MessageRecord[] = []
  for (let index = offset; index < count; index++) {
    try {
      records.push(...(await repository.readMessages({ ...ref, offset: index, limit: 1 })))
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      found.push({
        kind: 'damaged-record',
        index,
        detail: `${error.reason} at ${error.location}`,
        written: false,
      })
      const time = new Date(0).toISOString()
      records.push({
        schemaVersion: 1,
        sessionId: ref.sessionId,
        agentId: ref.agentId,
        index,
        revision: 0,
        message: DAMAGED_PLACEHOLDER,
        createdAt: time,
        updatedAt: time,
      })
    }
  }
  return records
}
