import { DamagedRecordError } from '../../session/session-errors.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import type { S3ObjectStore, StoredText } from './s3-object-store.ts'
import { decodeTail, type Tail } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'

/**
 * Reads of stored objects that several parts share: an object decoded (a record, a slot's value,
 * a segment, a blob), and which revision of each sealed segment is the newest.
 */

/**
 * The object at `key`, decoded: null if it is missing (swept), the damage if `decode` keeps
 * throwing a `DamagedRecordError`. A damaged one is read once more 50 ms later first: s3rver
 * rewrites an object in place when a repeated PUT arrives late, so a GET can see it half written
 * (docs/s3-storage-format.md). `first` is a GET of the key already under way (a prefetch).
 */
export async function readDecoded<T>(
  store: S3ObjectStore,
  key: string,
  decode: (text: string, etag: string | undefined) => T,
  first?: Promise<StoredText | null>,
): Promise<T | DamagedRecordError | null> {
  for (let attempt = 0; ; attempt++) {
    const stored = await ((attempt === 0 ? first : undefined) ?? store.get(key))
    if (stored === null) return null
    try {
      return decode(stored.text, stored.etag)
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      if (attempt > 0) return error
      await sleep(50)
    }
  }
}

/** The value of a slot stored at `key` (a format-1 tail or a format-2 batch); see readDecoded. */
export function readValue(store: S3ObjectStore, key: string): Promise<Tail | DamagedRecordError | null> {
  return readDecoded(store, key, (text) => decodeTail(text, store.where(key)))
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
