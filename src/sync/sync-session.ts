import type { Logger } from '../logging/logger.ts'
import { jsonEqual } from '../messages/json-equal.ts'
import { DamagedRecordError } from '../session/session-errors.ts'
import { canRecoverSessionRecord } from '../session/session-record-recovery.ts'
import type { SessionRecord } from '../session/session-records.ts'
import type { AgentRef, SessionRepository } from '../session/session-repository.ts'
import { syncAgentRecord } from './sync-agent-record.ts'
import type { AgentStateConflict, AgentSyncState, SyncBookkeeping } from './sync-bookkeeping.ts'
import { SyncError } from './sync-errors.ts'
import { type HistorySyncOutcome, LocalHistoryMoved, syncHistory } from './sync-history.ts'

/** Passes of one agent's history sync when local appends keep landing during the pull. */
const MAX_PASSES = 5

export interface AgentSyncReport extends HistorySyncOutcome {
  agentId: string
  agentRecord: 'none' | 'pushed' | 'pulled'
  conflict: AgentStateConflict | null
}

export interface SessionSyncReport {
  sessionId: string
  /** `remote`: a deletion made here reached the remote. `local`: deleted on another device, so here too. */
  deleted?: 'remote' | 'local'
  agents: AgentSyncReport[]
}

export interface SessionSyncInput {
  local: SessionRepository
  remote: SessionRepository
  bookkeeping: SyncBookkeeping
  sessionId: string
  /** Ignore the synced prefix: compare whole histories. */
  recheck: boolean
  /** The title or metadata changed here since the last sync: push them (else the remote's win). */
  pushSessionUpdate?: boolean
  /** Agents this process wrote to (their agent record may not exist yet). */
  agentsWritten: ReadonlySet<string>
  /** Read-modify-write of one agent's bookkeeping, serialised with the repository's own. */
  commit(ref: AgentRef, update: (state: AgentSyncState) => AgentSyncState): Promise<AgentSyncState>
  /** Where a rebuilt remote session record is reported (warn). */
  logger: Logger
}

/**
 * Syncs one session: a deletion made here goes to the remote; a session deleted on another device
 * is deleted here unless this device holds messages the remote never had (then it is pushed again:
 * nothing is lost); otherwise both sides are created as needed and every agent found on either
 * side is synced.
 */
export async function syncSession(input: SessionSyncInput): Promise<SessionSyncReport> {
  const { local, remote, bookkeeping, sessionId } = input
  const ref = { sessionId }
  if (await bookkeeping.isDeletionPending(ref)) {
    await remote.deleteSession(ref)
    await bookkeeping.forgetSession(ref)
    // Cleared last: a crash before this deletes the remote copy again (a no-op).
    await bookkeeping.clearDeletion(ref)
    if ((await local.readSession(ref)) === null) return { sessionId, deleted: 'remote', agents: [] }
  }
  const here = await local.readSession(ref)
  const { record: there, rebuilt } = await readRemoteSession(input)
  if (here === null && there === null) return { sessionId, agents: [] }
  const states = await bookkeeping.listAgents(ref)
  if (here !== null && there === null && states.some(wasSynced)) {
    if (await onlySyncedMessages(local, states)) {
      await local.deleteSession(ref)
      await bookkeeping.forgetSession(ref)
      return { sessionId, deleted: 'local', agents: [] }
    }
    // Deleted elsewhere while this device wrote to it: keep it and push it whole again.
    await bookkeeping.forgetSession(ref)
  }
  const remoteRecord = there ?? (await remote.createSession(ref))
  const localRecord = here ?? (await local.createSession(ref))
  // A rebuilt remote record lost its title and metadata: this device's copy goes back up.
  await syncTitleAndMetadata(
    rebuilt ? { ...input, pushSessionUpdate: true } : input,
    localRecord,
    remoteRecord,
  )

  const agentIds = new Set([
    ...(await local.listAgents(ref)).map((agent) => agent.agentId),
    ...(await remote.listAgents(ref)).map((agent) => agent.agentId),
    ...(await bookkeeping.listAgents(ref)).map((state) => state.agentId),
    ...input.agentsWritten,
  ])
  const agents: AgentSyncReport[] = []
  for (const agentId of [...agentIds].sort()) {
    agents.push(await syncAgent(input, { sessionId, agentId }))
  }
  return { sessionId, agents }
}

async function syncAgent(input: SessionSyncInput, ref: AgentRef): Promise<AgentSyncReport> {
  const { local, remote, bookkeeping } = input
  const state = await bookkeeping.readAgent(ref)
  let history: HistorySyncOutcome | undefined
  for (let pass = 0; history === undefined; pass++) {
    try {
      history = await syncHistory(local, remote, ref, input.recheck ? { ...state, syncedCount: 0 } : state)
    } catch (error) {
      if (!(error instanceof LocalHistoryMoved) || pass + 1 >= MAX_PASSES) {
        throw error instanceof LocalHistoryMoved
          ? new SyncError(
              `Local appends to session "${ref.sessionId}" kept racing the sync; the next sync resumes.`,
            )
          : error
      }
    }
  }
  const record = await syncAgentRecord(local, remote, ref, state.agentRevisions)
  const remoteCount = history.remoteCount
  // Written only now, after the local copy is durable: the synced count never runs ahead of it.
  await input.commit(ref, (fresh) => ({
    ...fresh,
    syncedCount: remoteCount,
    agentRevisions: record.revisions,
    // Updates queued while this sync ran were not pushed by it: they stay queued.
    pendingUpdates: fresh.pendingUpdates.filter((index) => !state.pendingUpdates.includes(index)),
    lastSyncAt: new Date().toISOString(),
    lastError: null,
    lastConflict: record.conflict ?? fresh.lastConflict,
  }))
  return { agentId: ref.agentId, ...history, agentRecord: record.direction, conflict: record.conflict }
}

/**
 * The remote session record. A damaged one (a torn or corrupted object) would stop every sync of
 * the session until someone ran `tether sessions repair`; all it holds is the title, metadata and
 * creation time, and this device has a copy. So where the remote repository can, it is rebuilt
 * (its damaged bytes kept aside first, never discarded) and the caller pushes the local title and
 * metadata to it. Elsewhere the damage is reported as before.
 */
async function readRemoteSession(
  input: SessionSyncInput,
): Promise<{ record: SessionRecord | null; rebuilt: boolean }> {
  const { remote, sessionId } = input
  try {
    return { record: await remote.readSession({ sessionId }), rebuilt: false }
  } catch (error) {
    if (!(error instanceof DamagedRecordError) || error.kind !== 'session') throw error
    if (!canRecoverSessionRecord(remote)) throw error
    const { record, keptAs } = await remote.recoverSessionRecord({ sessionId })
    input.logger.warn(
      'rebuilt the damaged remote session record; this device’s title and metadata go back up',
      {
        sessionId,
        reason: error.reason,
        keptAs: keptAs ?? null,
      },
    )
    return { record, rebuilt: true }
  }
}

/** Title and metadata: the side that changed them since the last sync wins; by default the remote. */
async function syncTitleAndMetadata(
  input: SessionSyncInput,
  here: SessionRecord,
  there: SessionRecord,
): Promise<void> {
  const from = input.pushSessionUpdate ? here : there
  const to = input.pushSessionUpdate ? input.remote : input.local
  const other = input.pushSessionUpdate ? there : here
  if (jsonEqual(from.title, other.title) && jsonEqual(from.metadata, other.metadata)) return
  await to.updateSession({
    sessionId: here.sessionId,
    title: from.title ?? null,
    metadata: from.metadata ?? null,
  })
}

function wasSynced(state: AgentSyncState): boolean {
  return state.syncedCount > 0 || state.agentRevisions !== null
}

async function onlySyncedMessages(local: SessionRepository, states: AgentSyncState[]): Promise<boolean> {
  const [first] = states
  if (!first) return true
  const synced = new Map(states.map((state) => [state.agentId, state.syncedCount]))
  for (const agent of await local.listAgents(first))
    if (!synced.has(agent.agentId)) synced.set(agent.agentId, 0)
  for (const [agentId, count] of synced) {
    if ((await local.countMessages({ sessionId: first.sessionId, agentId })) > count) return false
  }
  return true
}
