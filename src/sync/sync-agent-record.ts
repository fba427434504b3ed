import { jsonEqual } from '../messages/json-equal.ts'
import type { AgentRecord } from '../session/session-records.ts'
import type { AgentRef, SessionRepository } from '../session/session-repository.ts'
import type { AgentStateConflict, AgentSyncState } from './sync-bookkeeping.ts'

export interface AgentRecordSyncOutcome {
  revisions: AgentSyncState['agentRevisions']
  direction: 'none' | 'pushed' | 'pulled'
  conflict: AgentStateConflict | null
}

/**
 * Brings one agent record (state, conversation manager state, window start) to agreement.
 * `revisions` are both sides' record revisions when they last agreed; the side whose revision
 * moved since has changed. One side changed: it is copied to the other. Both changed (two devices
 * ran the agent while apart): the device syncing now wins, i.e. the last device to sync, as
 * server-time last-writer-wins in notes apps. It is also the device whose turns the merge just
 * placed last in the remote order, so the kept state is the one after the history's last turn.
 * (Records' `updatedAt` cannot decide: a store stamps it when the record is pushed, not when the
 * state changed.) The conflict is returned with the discarded state so it can be reported. Records
 * equal in content are never a conflict.
 */
export async function syncAgentRecord(
  local: SessionRepository,
  remote: SessionRepository,
  ref: AgentRef,
  revisions: AgentSyncState['agentRevisions'],
): Promise<AgentRecordSyncOutcome> {
  const [mine, theirs] = [await local.readAgent(ref), await remote.readAgent(ref)]
  if (!mine && !theirs) return { revisions, direction: 'none', conflict: null }
  if (mine && theirs && jsonEqual(content(mine), content(theirs))) {
    return { revisions: { local: mine.revision, remote: theirs.revision }, direction: 'none', conflict: null }
  }
  const localChanged = mine !== null && mine.revision !== revisions?.local
  const remoteChanged = theirs !== null && theirs.revision !== revisions?.remote
  let winner: 'local' | 'remote'
  let conflict: AgentStateConflict | null = null
  if (!theirs || (localChanged && !remoteChanged)) winner = 'local'
  else if (!mine || (remoteChanged && !localChanged)) winner = 'remote'
  else {
    winner = 'local'
    const loser = theirs
    conflict = {
      ...ref,
      at: new Date().toISOString(),
      kept: winner,
      local: { revision: mine.revision, updatedAt: mine.updatedAt },
      remote: { revision: theirs.revision, updatedAt: theirs.updatedAt },
      discardedState: loser.state,
    }
  }
  if (winner === 'local' && mine) {
    const written = await remote.writeAgent({ ...ref, ...content(mine) })
    return { revisions: { local: mine.revision, remote: written.revision }, direction: 'pushed', conflict }
  }
  if (theirs) {
    const written = await local.writeAgent({ ...ref, ...content(theirs) })
    return { revisions: { local: written.revision, remote: theirs.revision }, direction: 'pulled', conflict }
  }
  return { revisions, direction: 'none', conflict }
}

function content(record: AgentRecord) {
  return {
    state: record.state,
    conversationManagerState: record.conversationManagerState,
    windowStart: record.windowStart,
  }
}
