import { loadRepairedHistory, type RepairReport } from './load-repaired-history.ts'
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
  const agentIds =
    options.agentId !== undefined
      ? [options.agentId]
      : (await repository.listAgents({ sessionId })).map((record) => record.agentId)
  const reports: RepairReport[] = []
  for (const agentId of agentIds) {
    const history = await loadRepairedHistory(
      repository,
      { sessionId, agentId },
      {
        offset: 0,
        adjustWindowStart: false,
        ...(options.dryRun === undefined ? {} : { dryRun: options.dryRun }),
      },
    )
    reports.push({ sessionId, agentId, repairs: history.repairs })
  }
  return reports
}
