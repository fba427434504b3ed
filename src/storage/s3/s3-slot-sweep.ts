import { StorageError } from '../../session/session-errors.ts'
import { batchChain, type Decided } from './s3-batch-chain.ts'
import { type AgentKeys, ownValue, type SlotKey, valueFormat, valueWriter } from './s3-key-layout.ts'
import { blobOwner } from './s3-message-blob.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import { type Tail, tailEnd } from './s3-record-codec.ts'
import type { LogView } from './s3-slot-protocol.ts'

/** Sweep every this many messages appended. */
const SWEEP_EVERY = 8
/** List the whole log for garbage every this many messages (a multiple of SWEEP_EVERY). */
const FULL_SWEEP_EVERY = 512

/**
 * Which sweep, if any, the slot that decided `tail` runs: an update (a redaction, a repair) a
 * full one; an append one whenever its messages cross a mark, every SWEEP_EVERY messages, and a
 * full one every FULL_SWEEP_EVERY. The marks sit halfway between the segment boundaries, so an
 * append of one message never both seals a segment and sweeps: a turn keeps to 8 requests.
 */
export function sweepAfter(tail: Tail): 'none' | 'recent' | 'full' {
  if (tail.appended === 0) return 'full'
  const offset = Math.floor(tail.segmentSize / 2)
  const count = tailEnd(tail)
  const crosses = (every: number) =>
    Math.floor((count + offset) / every) > Math.floor((count - tail.appended + offset) / every)
  return crosses(FULL_SWEEP_EVERY) ? 'full' : crosses(SWEEP_EVERY) ? 'recent' : 'none'
}

/**
 * Deletes what older slots no longer need: their prepares, their accepts, and their batches
 * except those still holding messages after the last sealed segment (format 1: every older tail);
 * and the losing proposals of this slot. Decided keys stay, so a writer that paused mid-slot for any
 * length of time still learns how its slot ended. After an append, best effort: a failed sweep
 * leaves garbage for the next one, never a gap. It is also how an update (a redaction) removes
 * the old copies of a message; that failure is thrown.
 *
 * `view` is the LIST that decided the slot: an ordinary sweep deletes what it showed (the last
 * ~50 slots, listed with a larger page on sweeping slots) and costs one DeleteObjects. What
 * appeared after that LIST is left for a later sweep.
 */
export async function sweepSlot(
  store: S3ObjectStore,
  keys: AgentKeys,
  { slot, value, tail, view }: { slot: number; value: string; tail: Tail; view?: LogView | undefined },
): Promise<void> {
  try {
    // Every FULL_SWEEP_EVERY messages and after an update, the whole log is listed, so garbage
    // however far back (a crashed writer's prepare, a failed sweep's leftovers) is reached at a
    // bounded cost per message, and a redaction leaves no old tail anywhere.
    const full = sweepAfter(tail) === 'full' || view === undefined
    const listed: string[] = []
    if (full) {
      for await (const page of store.listAll(keys.slotDir(slot))) listed.push(...page)
      for await (const page of store.listAll(keys.log, keys.belowSlot(slot), 1000)) {
        listed.push(...page)
      }
    } else {
      listed.push(...view.listed)
    }
    const parsed = listed.map((key) => keys.parse(key))
    const live = liveBatches(keys, slot, value, tail, parsed)
    const winner = keys.proposal(slot, value)
    const doomed: string[] = []
    for (const key of parsed) {
      if (key.slot > slot || key.kind === 'decided' || key.key === winner) continue
      // A batch (format 2) is an accept that carries its own value.
      const batch = key.kind === 'accept' && key.value === ownValue(key.ballot)
      if (key.slot === slot) {
        // This slot: prepares and losing batches (format 1 tails ride on prepares).
        if (key.kind === 'prepare' || batch) doomed.push(key.key)
      } else if (!batch || (live !== null && !live.has(key.key))) {
        // Older slots: everything but decided keys and the batches still holding unsealed
        // messages. If those cannot be told from the listing, batches wait for a later sweep.
        doomed.push(key.key)
      }
    }
    // Blobs of proposals that lost their slot (a failed or killed append's), however old. Only
    // format 2 has blobs.
    if (full && valueFormat(value) === 2) doomed.push(...(await orphanBlobs(store, keys, slot, parsed)))
    // A rewritten segment's old revision, and the blob of a replaced message, hold the text a
    // redaction removed.
    for (const rewrite of tail.rewrites) doomed.push(keys.segment(rewrite.segment, rewrite.previous))
    for (const name of tail.dropped ?? []) doomed.push(keys.blob(name))
    await store.deleteMany(doomed)
  } catch (error) {
    // After an append this is garbage collection: what a failed sweep leaves, the next one
    // removes (it lists every older slot). After an update (a redaction) it removes the old
    // copies of the message, so the caller must hear that it failed: the old text may remain.
    if (!(error instanceof StorageError)) throw error
    if (tail.appended === 0) {
      throw new StorageError('remove the old copies of an updated message from', store.where(keys.log), {
        cause: error,
      })
    }
  }
}

/**
 * The batches of older slots that still hold unsealed messages once `slot` is decided (format
 * 2), or null if the listing does not reach far enough to tell.
 */
function liveBatches(
  keys: AgentKeys,
  slot: number,
  value: string,
  tail: Tail,
  listed: SlotKey[],
): Set<string> | null {
  if (valueFormat(value) === 1) return new Set()
  const decided = new Map<number, Decided>()
  for (const key of listed) if (key.kind === 'decided') decided.set(key.slot, key)
  const top: Decided = { kind: 'decided', slot, count: tailEnd(tail), value, key: '' }
  const chain = batchChain(top, tail.segmentSize, decided)
  if (chain === null) return null
  return new Set(
    chain.filter((link) => link.slot !== slot).map((link) => keys.proposal(link.slot, link.value)),
  )
}

/**
 * Blobs that nobody can ever refer to: each names the slot its proposal was for and the
 * proposal's writer, and that slot is decided for another writer's value (decisions are final).
 * A blob whose slot is not decided yet may belong to a proposal in flight, and stays.
 */
async function orphanBlobs(
  store: S3ObjectStore,
  keys: AgentKeys,
  slot: number,
  listed: SlotKey[],
): Promise<string[]> {
  const winners = new Map<number, string>()
  for (const key of listed) {
    if (key.kind === 'decided' && valueFormat(key.value) === 2) winners.set(key.slot, valueWriter(key.value))
  }
  const orphans: string[] = []
  for await (const page of store.listAll(keys.blobs)) {
    for (const key of page) {
      const owner = blobOwner(key.slice(keys.blobs.length))
      if (owner === null || owner.slot > slot) continue
      const winner = winners.get(owner.slot)
      if (winner !== undefined && winner !== owner.writer) orphans.push(key)
    }
  }
  return orphans
}
