import type { SessionRepository } from '../session/session-repository.ts'
import type { AgentStateConflict, SyncBookkeeping, SyncFailure } from './sync-bookkeeping.ts'

export interface AgentSyncStatus {
  agentId: string
  localMessages: number
  /** Local messages not yet known to be on the remote (pushed at the next sync). */
  pendingMessages: number
  pendingUpdates: number
  lastSyncAt: string | null
  lastError: SyncFailure | null
  lastConflict: AgentStateConflict | null
}

export interface SyncStatus {
  sessionId: string
  /** Sum over the session's agents. */
  pendingMessages: number
  pendingUpdates: number
  /** The session was deleted here and the remote copy is still to be deleted. */
  deletionPending: boolean
  /** When every agent of the session last finished a sync (the oldest of them); null if one never did. */
  lastSyncAt: string | null
  /** The latest failure since the last successful sync, if any. */
  lastError: SyncFailure | null
  agents: AgentSyncStatus[]
}

export interface SyncStatusInput {
  local: SessionRepository
  bookkeeping: SyncBookkeeping
  sessionId: string
  /** Agents written in this process (they may have no agent record yet). */
  agentsWritten: ReadonlySet<string>
  /** A failure before any session was reached (listing the remote). */
  storeFailure: SyncFailure | null
}

/**
 * A session's sync status from local data only (the bookkeeping and local counts): it answers
 * offline. Agents are those with bookkeeping, an agent record, or writes in this process.
 */
export async function readSyncStatus(input: SyncStatusInput): Promise<SyncStatus> {
  const ref = { sessionId: input.sessionId }
  const states = await input.bookkeeping.listAgents(ref)
  const known = new Map(states.map((state) => [state.agentId, state]))
  for (const agent of await input.local.listAgents(ref)) {
    if (!known.has(agent.agentId))
      known.set(agent.agentId, await input.bookkeeping.readAgent({ ...ref, agentId: agent.agentId }))
  }
  for (const agentId of input.agentsWritten) {
    if (!known.has(agentId)) known.set(agentId, await input.bookkeeping.readAgent({ ...ref, agentId }))
  }
  const agents: AgentSyncStatus[] = []
  for (const state of known.values()) {
    const localMessages = await input.local.countMessages({ ...ref, agentId: state.agentId })
    agents.push({
      agentId: state.agentId,
      localMessages,
      pendingMessages: Math.max(localMessages - state.syncedCount, 0),
      pendingUpdates: state.pendingUpdates.length,
      lastSyncAt: state.lastSyncAt,
      lastError: state.lastError,
      lastConflict: state.lastConflict,
    })
  }
  const syncedAt = agents.map((agent) => agent.lastSyncAt)
  const lastSyncAt = syncedAt.includes(null) || syncedAt.length === 0 ? null : (syncedAt.sort()[0] ?? null)
  const failures = [...agents.map((agent) => agent.lastError), input.storeFailure].filter(
    (failure): failure is SyncFailure => failure !== null && (lastSyncAt === null || failure.at > lastSyncAt),
  )
  return {
    sessionId: ref.sessionId,
    pendingMessages: agents.reduce((sum, agent) => sum + agent.pendingMessages, 0),
    pendingUpdates: agents.reduce((sum, agent) => sum + agent.pendingUpdates, 0),
    deletionPending: await input.bookkeeping.isDeletionPending(ref),
    lastSyncAt,
    lastError: failures.sort((a, b) => (a.at < b.at ? 1 : -1))[0] ?? null,
    agents: agents.sort((a, b) => (a.agentId < b.agentId ? -1 : 1)),
  }
}
