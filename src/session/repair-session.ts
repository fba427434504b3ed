import { loadRepairedHistory, type RepairReport } from './load-repaired-history.ts'
import type { Repair } from './plan-history-repair.ts'
import type { AgentRecord } from './session-records.ts'
import type { SessionRepository } from './session-repository.ts'

export interface RepairSessionOptions {
  repository: SessionRepository
  sessionId: string
  /** Only this agent; default: every agent in the session. */
  agentId?: string
  /** Report what would be repaired without writing anything. */
  dryRun?: boolean
}

/**
 * Checks and repairs a whole stored session on demand (the restore repairs only the window it
 * reads). Returns one report per agent; repairs are written back unless `dryRun`.
 */
export async function repairSession(options: RepairSessionOptions): Promise<RepairReport[]> {
  const { repository, sessionId } = options
  const records =
    options.agentId !== undefined
      ? [await repository.readAgent({ sessionId, agentId: options.agentId })]
      : await repository.listAgents({ sessionId })
  const agentIds =
    options.agentId !== undefined ? [options.agentId] : records.flatMap((record) => record?.agentId ?? [])
  const reports: RepairReport[] = []
  for (const agentId of agentIds) {
    const ref = { sessionId, agentId }
    const history = await loadRepairedHistory(repository, ref, {
      offset: 0,
      adjustWindowStart: false,
      ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
    })
    const record = records.find((candidate) => candidate?.agentId === agentId) ?? null
    const windowRepair = await repairWindowStart(repository, record, options.dryRun ?? false)
    reports.push({ sessionId, agentId, repairs: [...history.repairs, ...windowRepair] })
  }
  return reports
}

/**
 * A window start past the last message would restore an empty context for a manager that reads
 * from it: it is reset to 0, the whole history, which hides nothing.
 */
async function repairWindowStart(
  repository: SessionRepository,
  record: AgentRecord | null,
  dryRun: boolean,
): Promise<Repair[]> {
  if (record === null) return []
  const count = await repository.countMessages(record)
  if (record.windowStart <= count) return []
  if (!dryRun) {
    await repository.writeAgent({
      sessionId: record.sessionId,
      agentId: record.agentId,
      state: record.state,
      conversationManagerState: record.conversationManagerState,
      windowStart: 0,
    })
  }
  return [
    {
      kind: 'window-start-out-of-range',
      index: count,
      detail: `the agent record's window start ${record.windowStart} is past the ${count} stored messages; it was reset to 0`,
      written: !dryRun,
    },
  ]
}
