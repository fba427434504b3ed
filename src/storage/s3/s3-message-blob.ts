import { createHash } from 'node:crypto'
import { z } from 'zod'
import type { Message } from '../../messages/message.ts'
import { DamagedRecordError } from '../../session/session-errors.ts'
import type { MessageRecord } from '../../session/session-records.ts'
import { inGroups } from './s3-in-groups.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import { readDecoded } from './s3-log-objects.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import { BLOB_NAME, decodeRecord } from './s3-record-codec.ts'

/**
 * Large messages in the slot layout (format 2), stored once. A message whose JSON is over
 * BLOB_THRESHOLD goes, before its append is proposed, into an object of its own,
 * `<agent>/blobs/<name>`; the batch, and later the segment that seals it, hold the record with a
 * reference in place of the message: `messageBlob: { name, sha256, bytes }`. So a 5 MB tool
 * result is uploaded once, not again when its segment is sealed.
 *
 * The name says which proposal stored it: `<slot>-<writer>-<n>`, the slot proposed at and the
 * proposal's writer ID (which names its value). A blob is needed only if that value is decided at
 * that slot, and decisions are final: once the slot is decided for another value, nobody can ever
 * refer to the blob, and a full sweep deletes it (what a failed or killed append left behind). An
 * append retried at another slot copies its blobs to names for the new proposal, on the store's
 * side. The name is not the content's hash, so a redaction deletes exactly the old one: the update's
 * batch lists it in `dropped`, and whoever completes that slot deletes it. Blobs named before this
 * rule (32 random hex digits) are read as ever and never swept.
 */

export const BLOB_THRESHOLD = 16 * 1024

const OWNED_NAME = /^(\d{12})-([0-9a-f]{1,32})-(\d{1,6})$/

const blobRefSchema = z.object({
  name: z.string().regex(BLOB_NAME),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
})
export type BlobRef = z.infer<typeof blobRefSchema>

/** A message to append, with the blob it will be stored in if it is large. */
export interface PreparedMessage {
  message: Message
  blob?: { ref: BlobRef; body: string }
}

const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex')

/** The proposal a blob belongs to: the slot it proposed at and its writer ID. */
export interface BlobOwner {
  slot: number
  writer: string
}

const ownedName = (owner: BlobOwner, n: number): string =>
  `${String(owner.slot).padStart(12, '0')}-${owner.writer}-${n}`

/** Whose blob this is, from its name; null for a name from before owners were named. */
export function blobOwner(name: string): BlobOwner | null {
  const match = OWNED_NAME.exec(name)
  return match ? { slot: Number(match[1]), writer: match[2] as string } : null
}

/** Names a blob for each large message, for the proposal `owner`. */
function prepareMessages(messages: Message[], owner: BlobOwner): PreparedMessage[] {
  return messages.map((message, n) => {
    const body = JSON.stringify(message)
    if (body.length <= BLOB_THRESHOLD) return { message }
    const ref = { name: ownedName(owner, n), sha256: sha256(body), bytes: Buffer.byteLength(body) }
    return { message, blob: { ref, body } }
  })
}

/**
 * Stores the blobs of large messages for the proposal `owner`; the append is proposed only after
 * they are stored. Blobs a previous attempt stored (`before`, for another proposal) are copied on
 * the store's side, not uploaded again; one already swept (its slot went to another value) is
 * written from the bytes we hold.
 */
export async function storeBlobs(
  store: S3ObjectStore,
  keys: AgentKeys,
  messages: Message[],
  owner: BlobOwner,
  before?: PreparedMessage[],
): Promise<PreparedMessage[]> {
  const prepared = prepareMessages(messages, owner)
  await Promise.all(
    prepared.map(async (item, n) => {
      if (!item.blob) return
      const target = keys.blob(item.blob.ref.name)
      const earlier = before?.[n]?.blob?.ref.name
      if (earlier !== undefined && (await store.copy(keys.blob(earlier), target))) return
      await store.put(target, item.blob.body)
    }),
  )
  return prepared
}

/** What a batch stores for a record: the record itself, or with its message's blob referenced. */
export function storedForm(record: MessageRecord, prepared: PreparedMessage): unknown {
  if (!prepared.blob) return record
  const { message: _, ...envelope } = record
  return { ...envelope, messageBlob: prepared.blob.ref }
}

/** The blob a stored record refers to, if any (a malformed reference is null: damage, read as such). */
export function blobOf(raw: unknown): BlobRef | null {
  if (typeof raw !== 'object' || raw === null || !('messageBlob' in raw)) return null
  const parsed = blobRefSchema.safeParse((raw as { messageBlob: unknown }).messageBlob)
  return parsed.success ? parsed.data : null
}

export interface StoredEntry {
  raw: unknown
  /** Where the entry is stored, for errors (`s3://bucket/key`). */
  where: string
  index: number
}

/**
 * Decodes stored records, fetching the blobs they refer to (16 at a time). A missing blob, or
 * one whose bytes do not match the reference, is a `DamagedRecordError` naming the blob.
 */
export async function decodeStored(
  store: S3ObjectStore,
  keys: AgentKeys,
  entries: StoredEntry[],
): Promise<MessageRecord[]> {
  const results = await inGroups(entries, 16, (entry) => judgeStored(store, keys, entry))
  for (const result of results) if (result instanceof DamagedRecordError) throw result
  return results as MessageRecord[]
}

/** One stored record, decoded, or the damage that keeps it from being read. */
export async function judgeStored(
  store: S3ObjectStore,
  keys: AgentKeys,
  entry: StoredEntry,
): Promise<MessageRecord | DamagedRecordError> {
  try {
    return decodeRecord(await withMessage(store, keys, entry), entry.where, entry.index)
  } catch (error) {
    if (error instanceof DamagedRecordError) return error
    throw error
  }
}

async function withMessage(store: S3ObjectStore, keys: AgentKeys, entry: StoredEntry): Promise<unknown> {
  const raw = entry.raw
  if (typeof raw !== 'object' || raw === null || !('messageBlob' in raw)) return raw
  const ref = blobOf(raw)
  if (ref === null)
    throw new DamagedRecordError(`${entry.where}#${entry.index}`, 'malformed blob reference', entry.index)
  const key = keys.blob(ref.name)
  const where = store.where(key)
  const message = await readDecoded(store, key, (text) => {
    if (sha256(text) !== ref.sha256)
      throw new DamagedRecordError(where, 'does not match its SHA-256', entry.index)
    try {
      return JSON.parse(text) as unknown
    } catch (error) {
      throw new DamagedRecordError(where, 'not valid JSON', entry.index, { cause: error })
    }
  })
  if (message === null) throw new DamagedRecordError(where, 'missing', entry.index)
  if (message instanceof DamagedRecordError) throw message
  const { messageBlob: _, ...envelope } = raw as Record<string, unknown>
  return { ...envelope, message }
}
