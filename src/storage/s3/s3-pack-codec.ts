import { z } from 'zod'
import { parseRecord } from '../../session/session-records.ts'

/**
 * A pack holds copies of `PACK_SIZE` consecutive messages of a conditional-write log, claimed
 * (If-None-Match) by the writer that claimed the last of them, so a restore reads a window with a
 * few GETs instead of one per message; a redaction rewrites the entry it changes (or claims the
 * pack first, with that entry alone). Each entry names the ETag of the message object it copies; a
 * reader uses an entry only when that ETag is still the one LIST reports, so a pack can be stale
 * or partial but never wrong. Messages larger than `PACK_COPY_LIMIT` are not
 * copied: large content is uploaded once. Version history: 1 (tether-agents 0.2).
 */

export const PACK_SIZE = 8
export const PACK_COPY_LIMIT = 16 * 1024

export const packSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('pack'),
  /** Index of `entries[0]`. */
  start: z.number().int().nonnegative(),
  entries: z.array(
    z.object({
      etag: z.string(),
      /** The stored record, verbatim; absent for a message too large to copy. */
      record: z.unknown().optional(),
    }),
  ),
})
export type Pack = z.infer<typeof packSchema>

export function decodePack(text: string, where: string): Pack {
  return parseRecord(packSchema, text, where)
}

/** The first index of the pack that ends at `index`, if a pack ends there. */
export const packStart = (last: number): number => last - PACK_SIZE + 1
export const packEndingAt = (index: number): number =>
  Math.floor(index / PACK_SIZE) * PACK_SIZE + PACK_SIZE - 1

/**
 * `pack` (or, where the group has none, an empty one) with the entry of message `index` replaced
 * by `text` and its ETag: what a redaction leaves in the pack, so that no copy of the old text
 * stays. Entries nobody knows are empty (`etag: ''`): readers GET those messages.
 */
export function withEntry(pack: Pack | null, index: number, text: string, etag: string): Pack {
  const start = packStart(packEndingAt(index))
  const entries = Array.from({ length: PACK_SIZE }, (_, i) => pack?.entries[i] ?? { etag: '' })
  entries[index - start] = packEntry(text, etag)
  return { schemaVersion: 1, kind: 'pack', start, entries }
}

/** A pack's entry for a stored record: its ETag, and the record itself unless it is large. */
export function packEntry(text: string, etag: string): Pack['entries'][number] {
  return text.length <= PACK_COPY_LIMIT ? { etag, record: JSON.parse(text) as unknown } : { etag }
}
