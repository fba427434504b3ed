import { DamagedRecordError } from '../../session/session-errors.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import { decodeTail, type Tail } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'

/**
 * Reads of the slot layout's stored objects that several parts share: a slot's value (a format-1
 * tail or a format-2 batch), and which revision of each sealed segment is the newest.
 */

/**
 * The value stored at `key`: null if it is missing (swept), the damage if it cannot be read.
 * A damaged one is read once more 50 ms later first: s3rver rewrites an object in place when a
 * repeated PUT arrives late, so a GET can see it half written (docs/s3-storage-format.md).
 */
export async function readValue(
  store: S3ObjectStore,
  key: string,
): Promise<Tail | DamagedRecordError | null> {
  for (let attempt = 0; ; attempt++) {
    const stored = await store.get(key)
    if (stored === null) return null
    try {
      return decodeTail(stored.text, store.where(key))
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      if (attempt > 0) return error
      await sleep(50)
    }
  }
}

/**
 * The newest revision of every sealed segment, listed (for when the map a value carries is
 * unreadable). A revision is named after the update slot that wrote it, so `upTo` leaves out
 * those written after that slot.
 */
export async function listSegmentRevisions(
  store: S3ObjectStore,
  keys: AgentKeys,
  upTo = Number.POSITIVE_INFINITY,
): Promise<Map<number, number>> {
  const revisions = new Map<number, number>()
  for await (const page of store.listAll(keys.segments)) {
    for (const key of page) {
      const parsed = keys.parseSegment(key)
      if (parsed === null || parsed.revision > upTo) continue
      revisions.set(parsed.index, Math.max(parsed.revision, revisions.get(parsed.index) ?? 0))
    }
  }
  return revisions
}
