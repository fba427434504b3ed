import { jsonEqual } from '../messages/json-equal.ts'
import { SessionConflictError } from '../session/session-errors.ts'
import type { MessageRecord } from '../session/session-records.ts'
import type { AgentRef, SessionRepository } from '../session/session-repository.ts'
import { messageIdOf, withId } from './message-identity.ts'
import type { AgentSyncState } from './sync-bookkeeping.ts'
import { SyncError } from './sync-errors.ts'

/** Messages read per request: long histories are read in bounded batches. */
const BATCH = 200
/** Lost append races per message before the pass gives up (the next sync resumes). */
const MAX_CONFLICTS = 50

export interface HistorySyncOutcome {
  /** Local messages this sync appended to the remote. */
  pushed: number
  /** Remote messages this device did not have, now stored locally. */
  pulled: number
  /** Local positions rewritten so the local order equals the remote's (a merge). */
  rewritten: number
  /** Local updates (redactions) sent to the remote. */
  updatesPushed: number
  /** Messages on the remote, all of them now local in the same order. */
  remoteCount: number
}

/**
 * One sync pass of one agent's history. Afterwards local messages 0..remoteCount-1 equal the
 * remote's, in the remote's order. Raises `LocalHistoryMoved` when a local append raced the
 * rewrite (the caller runs another pass).
 *
 * 1. Pending local updates (redactions of synced messages) go to the remote.
 * 2. The synced prefix hint is checked at its last message (the same identity on both sides);
 *    a hint that does not hold falls back to comparing whole histories.
 * 3. Push: every local message after the prefix whose identity the remote lacks is appended with
 *    `expectedIndex`, so two syncing processes never both append it: the loser of the race re-reads
 *    the remote tail and finds the message there. A crash after a push and before the bookkeeping
 *    finds the message on the remote next time (same identity) and does not push it again.
 * 4. Pull: the local copy is made equal to the remote tail. New remote messages are appended
 *    first, then differing positions are overwritten from the highest index down. Our messages
 *    only ever move to a higher index in the remote order, so a message is always written at its
 *    new position before its old one is overwritten: a crash part-way leaves a local history
 *    that may hold a message twice (until the next sync) but never lacks one.
 */
export async function syncHistory(
  local: SessionRepository,
  remote: SessionRepository,
  ref: AgentRef,
  state: AgentSyncState,
): Promise<HistorySyncOutcome> {
  const updatesPushed = await pushUpdates(local, remote, ref, state.pendingUpdates)
  let synced = state.syncedCount
  let localTail = await readFrom(local, ref, Math.max(synced - 1, 0))
  let remoteTail = await readFrom(remote, ref, Math.max(synced - 1, 0))
  if (synced > 0) {
    const [mine, theirs] = [localTail.shift(), remoteTail.shift()]
    if (!mine || !theirs || messageIdOf(mine) !== messageIdOf(theirs)) {
      // The hint does not hold (the session was deleted and made again on one side): compare all.
      synced = 0
      localTail = await readFrom(local, ref, 0)
      remoteTail = await readFrom(remote, ref, 0)
    }
  }

  // 3. Push.
  const onRemote = new Set(remoteTail.map(messageIdOf))
  let pushed = 0
  for (const record of localTail) {
    const id = messageIdOf(record)
    for (let conflicts = 0; !onRemote.has(id); conflicts++) {
      if (conflicts > MAX_CONFLICTS) {
        throw new SyncError(
          `The remote history of session "${ref.sessionId}" (agent "${ref.agentId}") kept moving while pushing; ${pushed} messages were pushed, the rest go at the next sync.`,
        )
      }
      const at = synced + remoteTail.length
      try {
        const stored = await remote.appendMessage({ ...ref, message: withId(record), expectedIndex: at })
        remoteTail.push(stored)
        onRemote.add(id)
        pushed++
      } catch (error) {
        if (!(error instanceof SessionConflictError)) throw error
        // Another device (or another sync of ours that crashed or raced) got there first.
        for (const newer of await readFrom(remote, ref, at)) {
          remoteTail.push(newer)
          onRemote.add(messageIdOf(newer))
        }
      }
    }
  }

  // 4. Pull: make local[synced..] equal remoteTail.
  const localCount = synced + localTail.length
  const remoteCount = synced + remoteTail.length
  if (localCount > remoteCount) {
    throw new SyncError(
      `Session "${ref.sessionId}" (agent "${ref.agentId}") has ${localCount} local messages but only ${remoteCount} after pushing every one to the remote; nothing was rewritten. Run \`tether sessions verify\` on both stores.`,
    )
  }
  let pulled = 0
  for (let index = localCount; index < remoteCount; index++) {
    const record = remoteTail[index - synced] as MessageRecord
    try {
      await local.appendMessage({ ...ref, message: record.message, expectedIndex: index })
    } catch (error) {
      if (error instanceof SessionConflictError) throw new LocalHistoryMoved()
      throw error
    }
    pulled++
  }
  let rewritten = 0
  for (let index = localCount - 1; index >= synced; index--) {
    const mine = localTail[index - synced] as MessageRecord
    const theirs = remoteTail[index - synced] as MessageRecord
    const same = messageIdOf(mine) === messageIdOf(theirs)
    // Same identity, other content: an update (redaction) made on another device; it wins.
    if (same && jsonEqual(withId(mine), theirs.message)) continue
    await local.updateMessage({ ...ref, index, message: theirs.message })
    if (!same) rewritten++
  }
  return { pushed, pulled, rewritten, updatesPushed, remoteCount }
}

/** A local append landed during the pull; the pass is run again from fresh reads. */
export class LocalHistoryMoved extends Error {}

async function pushUpdates(
  local: SessionRepository,
  remote: SessionRepository,
  ref: AgentRef,
  indexes: readonly number[],
): Promise<number> {
  let pushed = 0
  for (const index of indexes) {
    const [mine] = await local.readMessages({ ...ref, offset: index, limit: 1 })
    const [theirs] = await remote.readMessages({ ...ref, offset: index, limit: 1 })
    if (!mine || !theirs || messageIdOf(mine) !== messageIdOf(theirs)) continue
    const message = withId(mine)
    if (jsonEqual(message, theirs.message)) continue
    await remote.updateMessage({ ...ref, index, message })
    pushed++
  }
  return pushed
}

async function readFrom(
  repository: SessionRepository,
  ref: AgentRef,
  offset: number,
): Promise<MessageRecord[]> {
  const records: MessageRecord[] = []
  for (;;) {
    const batch = await repository.readMessages({ ...ref, offset: offset + records.length, limit: BATCH })
    records.push(...batch)
    if (batch.length < BATCH) return records
  }
}
