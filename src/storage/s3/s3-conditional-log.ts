import { randomBytes } from 'node:crypto'
import type { Message } from '../../messages/message.ts'
import {
  DamagedRecordError,
  RecordNotFoundError,
  SessionConflictError,
  StorageError,
} from '../../session/session-errors.ts'
import {
  type MessageRecord,
  messageRecordSchema,
  parseRecord,
  SCHEMA_VERSION,
} from '../../session/session-records.ts'
import type { AgentRef } from '../../session/session-repository.ts'
import { inGroups } from './s3-in-groups.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import type { ListPage, S3ObjectStore } from './s3-object-store.ts'
import {
  decodePack,
  PACK_SIZE,
  type Pack,
  packEndingAt,
  packEntry,
  packStart,
  withEntry,
} from './s3-pack-codec.ts'
import { encode } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'

/** The log's first key is of the slot layout (written without conditional writes). */
export class SlotLayoutFound extends Error {
  /** The page listed from the top of the log: the slot protocol's view starts from it. */
  readonly page: ListPage
  constructor(page: ListPage) {
    super(`slot layout at ${page.keys[0]}`)
    this.page = page
  }
}

/** What a LIST of the log told: each message's ETag, and which packs exist. */
interface Listing {
  etags: Map<number, string>
  packs: Set<number>
  /** Newest index + 1, when the listing started at the top of the log. */
  count: number | undefined
  /** The listing holds every key of indexes from here up (to `count`, or to where it started). */
  lowest: number
  takenAt: number
}

interface Known {
  text: string
  etag: string
}

const MAX_ATTEMPTS = 100
const KNOWN_LIMIT = 64
const READ_BATCH = 256
/** Requests in flight at once, for reads and for a bulk import's claims. */
const READ_CONCURRENCY = 16
/** Keys per LIST in `count`: the newest ~55 messages and their packs, enough for a usual window. */
const COUNT_PAGE = 120
/** How long the listing of `count` may serve the read that follows it (a restore's next call). */
const LISTING_REUSE_MS = 1_000

/**
 * One agent's history on a store that enforces conditional writes (AWS S3, R2, MinIO, Ceph RGW):
 * one object per message at `log/m<inverted index>`, claimed with `If-None-Match: *`. The store
 * lets exactly one writer create each key, so the PUT is the whole compare-and-append: it either
 * lands (the message has that index, for every reader, forever) or answers 412 (another message
 * has it; read the head again). An append is one request and uploads the message once.
 *
 * Redaction replaces a message object with `If-Match` on its ETag. Every `PACK_SIZE` messages
 * the writer of the last one also writes a pack of copies (s3-pack-codec.ts), so a restore reads
 * a window with a few GETs; a pack entry counts only while its ETag matches the listed one.
 */
export class S3ConditionalLog {
  readonly #store: S3ObjectStore
  readonly #keys: AgentKeys
  readonly #ref: AgentRef
  /** The count after this handle's last LIST or append; appends start there, and a 412 corrects it. */
  #count: number | null = null
  /** Records this handle wrote or read lately, with their ETags (the next pack copies them). */
  readonly #known = new Map<number, Known>()
  /** The listing `count` took, for the read that immediately follows it; used once. */
  #listing: Listing | null = null
  #queue: Promise<unknown> = Promise.resolve()

  constructor(store: S3ObjectStore, keys: AgentKeys, ref: AgentRef) {
    this.#store = store
    this.#keys = keys
    this.#ref = ref
  }

  /** One LIST from the newest key. Throws SlotLayoutFound for a log of the slot layout. */
  async count(): Promise<number> {
    const listing = await this.#list(undefined, Number.MAX_SAFE_INTEGER, COUNT_PAGE)
    this.#count = listing.count ?? 0
    this.#listing = listing
    return this.#count
  }

  /** The count for a write; the listing is not kept, as the write makes it stale. */
  async #refreshCount(): Promise<number> {
    const count = await this.count()
    this.#listing = null
    return count
  }

  append(message: Message, expectedIndex?: number): Promise<MessageRecord> {
    return this.#serial(() => this.#append(message, expectedIndex))
  }

  /** Bulk import (tests, benchmark): claims consecutive indexes in parallel, then writes the packs. */
  appendMany(messages: Message[]): Promise<MessageRecord[]> {
    return this.#serial(async () => {
      const start = await this.#refreshCount()
      const time = new Date().toISOString()
      const records = messages.map((message, i) => this.#record(start + i, message, time))
      const written = new Map<number, Known>()
      await inGroups(records, READ_CONCURRENCY, async (record) => {
        const text = encode(record)
        const etag = await this.#store.write(this.#keys.message(record.index), text, {
          ifNoneMatch: true,
        })
        if (etag === null) throw new SessionConflictError(this.#ref.sessionId, this.#ref.agentId, start)
        written.set(record.index, { text, etag })
        this.#remember(record.index, { text, etag })
      })
      this.#count = start + records.length
      const known = (index: number) => written.get(index) ?? this.#known.get(index)
      for (const record of records) await this.#seal(record.index, known, true)
      return records
    })
  }

  async read(offset: number, limit: number | undefined, fromTop: boolean): Promise<MessageRecord[]> {
    const cached = this.#listing
    this.#listing = null
    const fresh =
      cached !== null && Date.now() - cached.takenAt <= LISTING_REUSE_MS && cached.lowest <= offset
    const listing = fresh
      ? cached
      : fromTop || limit === undefined
        ? await this.#list(undefined, offset)
        : await this.#list(offset + limit, offset)
    let end = listing.count ?? Math.max(-1, ...listing.etags.keys()) + 1
    if (limit !== undefined) end = Math.min(end, offset + limit)
    const records: MessageRecord[] = []
    for (let from = offset; from < end; from += READ_BATCH) {
      records.push(...(await this.#readBatch(listing, from, Math.min(end, from + READ_BATCH))))
    }
    return records
  }

  update(index: number, message: Message): Promise<MessageRecord> {
    return this.#serial(async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const key = this.#keys.message(index)
        const stored = await this.#store.get(key)
        if (stored === null) throw new RecordNotFoundError(`${this.#store.where(key)}`)
        const current = this.#decode(stored.text, index)
        const next: MessageRecord = {
          ...current,
          message,
          revision: current.revision + 1,
          updatedAt: new Date().toISOString(),
        }
        delete next.damaged
        // If-Match: a concurrent redaction or repair of the same message makes us re-read it.
        if (await this.#replace(index, next, stored.etag)) {
          await this.#repack(index)
          return next
        }
      }
      throw new StorageError('update', `${this.#store.where(this.#keys.message(index))} (kept changing)`)
    })
  }

  quarantine(index: number, placeholder: Message): Promise<MessageRecord> {
    return this.#serial(async () => {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        const key = this.#keys.message(index)
        const stored = await this.#store.get(key)
        if (stored === null) {
          // A gap (a delete raced an append): fill it with the placeholder, claimed as any append.
          if (index >= (await this.#refreshCount())) throw new RecordNotFoundError(this.#store.where(key))
          const record = this.#damaged(null, index, placeholder, 'missing', '(nothing was stored)')
          if (await this.#replace(index, record, undefined)) return record
          continue
        }
        let reason: string
        try {
          return this.#decode(stored.text, index)
        } catch (error) {
          // A newer format is never replaced; only damage is.
          if (!(error instanceof DamagedRecordError)) throw error
          reason = error.reason
        }
        const keptAs = this.#keys.quarantine(
          `message-${index}-${Date.now()}-${randomBytes(4).toString('hex')}.damaged`,
        )
        // The damaged bytes first, so a crash after this leaves them kept and the record unchanged.
        await this.#store.put(keptAs, stored.text)
        const copy = await this.#packCopy(index)
        const record = this.#damaged(copy, index, placeholder, reason, this.#store.where(keptAs))
        if (await this.#replace(index, record, stored.etag)) return record
      }
      throw new StorageError('repair', `${this.#store.where(this.#keys.message(index))} (kept changing)`)
    })
  }

  /** Forgets cached state (after the session was deleted). */
  forget(): void {
    this.#count = null
    this.#known.clear()
    this.#listing = null
  }

  async #append(message: Message, expectedIndex?: number): Promise<MessageRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      if (expectedIndex !== undefined && this.#count !== expectedIndex) await this.#refreshCount()
      if (expectedIndex !== undefined && this.#count !== expectedIndex) {
        throw new SessionConflictError(this.#ref.sessionId, this.#ref.agentId, expectedIndex)
      }
      const index = this.#count ?? (await this.#refreshCount())
      const record = this.#record(index, message, new Date().toISOString())
      const text = encode(record)
      const key = this.#keys.message(index)
      const attempts = { count: 0 }
      let etag = await this.#store.write(key, text, { ifNoneMatch: true }, attempts)
      if (etag === null) {
        // 412: the index is taken. By us only if an earlier attempt of this PUT landed but its
        // answer was lost (then the bytes are ours to the millisecond); else by another writer.
        const stored = attempts.count > 1 ? await this.#store.get(key) : null
        if (stored?.text === text) etag = stored.etag ?? ''
        else {
          if (stored?.etag !== undefined) this.#remember(index, { text: stored.text, etag: stored.etag })
          if (expectedIndex !== undefined) {
            throw new SessionConflictError(this.#ref.sessionId, this.#ref.agentId, expectedIndex)
          }
          // Usually another device is one message ahead: try the next index at once. Far behind
          // (three misses in a row), LIST for the head instead of walking to it.
          this.#count = attempt % 3 !== 2 ? index + 1 : null
          if (this.#count === null) await sleep(Math.random() * Math.min(100, 2 ** attempt))
          continue
        }
      }
      if (index === 0) await this.#checkNoSlotLayout(key)
      this.#count = index + 1
      this.#remember(index, { text, etag })
      await this.#seal(index, (i) => this.#known.get(i), false)
      return record
    }
    throw new StorageError('append to', `${this.#store.where(this.#keys.log)} (no free index after retries)`)
  }

  /**
   * A writer that does not use conditional writes (configured `conditionalWrites: false` against
   * this store) may have started the same empty log in the slot layout at the same moment. It
   * LISTs after its writes, and we LIST after ours, so one of us sees the other: we withdraw.
   */
  async #checkNoSlotLayout(key: string): Promise<void> {
    const first = (await this.#store.list(this.#keys.log, { maxKeys: 1 })).keys[0]
    if (first === undefined || this.#keys.isMessageLayout(first)) return
    await this.#store.deleteMany([key])
    throw new StorageError(
      'append to',
      `${this.#store.where(this.#keys.log)} (another writer started this log without conditional writes; use the same conditionalWrites setting on every device)`,
    )
  }

  /**
   * After a redaction of message `index`: its group's pack must keep no copy of the old text,
   * whenever the writer that seals the group writes it. So the pack is rewritten with the new
   * record in the old one's place (If-Match on the pack read), and a group with no pack yet gets
   * one holding this entry alone (If-None-Match). A writer sealing the group late, from records
   * it read before the redaction, claims the pack with If-None-Match too, so it gets 412 and
   * writes nothing; one that sealed first is overwritten here. Either order leaves no old text.
   * (Deleting the pack, as before, let a late sealer put the old text back.)
   */
  async #repack(index: number): Promise<void> {
    const key = this.#keys.pack(packEndingAt(index))
    const current = this.#known.get(index)
    if (current === undefined) throw new Error(`message ${index} was just written but is not known`)
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const stored = await this.#store.get(key)
      let pack: Pack | null = null
      if (stored !== null) {
        try {
          pack = decodePack(stored.text, this.#store.where(key))
        } catch (error) {
          // A damaged pack is a damaged copy: replaced whole.
          if (!(error instanceof DamagedRecordError)) throw error
        }
      }
      const condition =
        stored === null ? { ifNoneMatch: true } : stored.etag === undefined ? {} : { ifMatch: stored.etag }
      const text = encode(withEntry(pack, index, current.text, current.etag))
      if ((await this.#store.write(key, text, condition)) !== null) return
    }
    throw new StorageError('update', `${this.#store.where(key)} (kept changing)`)
  }

  /**
   * Writes the pack ending at `index` from known records; skipped when one is not known, or when
   * the group already has a pack (If-None-Match: a redaction may have claimed it, see #repack).
   */
  async #seal(index: number, lookup: (index: number) => Known | undefined, strict: boolean): Promise<void> {
    if ((index + 1) % PACK_SIZE !== 0) return
    const entries: Pack['entries'] = []
    for (let i = packStart(index); i <= index; i++) {
      const known = lookup(i)
      if (known === undefined) return
      entries.push(packEntry(known.text, known.etag))
    }
    const pack: Pack = { schemaVersion: 1, kind: 'pack', start: packStart(index), entries }
    try {
      await this.#store.write(this.#keys.pack(index), encode(pack), { ifNoneMatch: true })
    } catch (error) {
      // The message is stored and acknowledged; a pack is only a copy readers verify, and without
      // it they GET the messages one by one. Thrown only to the bulk import, which owns no message.
      if (strict || !(error instanceof StorageError)) throw error
    }
  }

  async #list(startBelow: number | undefined, downTo: number, pageSize = 1000): Promise<Listing> {
    const listing: Listing = {
      etags: new Map(),
      packs: new Set(),
      count: startBelow === undefined ? 0 : undefined,
      lowest: startBelow ?? Number.MAX_SAFE_INTEGER,
      takenAt: Date.now(),
    }
    let startAfter = startBelow === undefined ? undefined : this.#keys.belowMessage(startBelow)
    for (;;) {
      const page = await this.#store.list(this.#keys.log, {
        maxKeys: pageSize,
        ...(startAfter === undefined ? {} : { startAfter }),
      })
      // Slot keys sort before message keys: a slot-layout log shows one first.
      const first = page.keys[0]
      if (first !== undefined && !this.#keys.isMessageLayout(first)) throw new SlotLayoutFound(page)
      for (const [i, key] of page.keys.entries()) {
        const parsed = this.#keys.parseMessageKey(key)
        if (parsed.kind === 'pack') listing.packs.add(parsed.index)
        else {
          listing.etags.set(parsed.index, page.etags[i] ?? '')
          if (listing.count === 0) listing.count = parsed.index + 1
          // Keys of an index come together (message, then its pack): below it, all are listed.
          listing.lowest = Math.min(listing.lowest, parsed.index + 1)
        }
      }
      startAfter = page.keys.at(-1)
      if (!page.truncated || startAfter === undefined) {
        listing.lowest = 0
        return listing
      }
      if (listing.lowest <= downTo) return listing
    }
  }

  async #readBatch(listing: Listing, from: number, to: number): Promise<MessageRecord[]> {
    const texts = new Map<number, { text: string; where: string }>()
    const packs = new Set<number>()
    const unpacked: number[] = []
    for (let index = from; index < to; index++) {
      const etag = listing.etags.get(index)
      if (etag === undefined) {
        throw new DamagedRecordError(this.#store.where(this.#keys.message(index)), 'is missing', index)
      }
      const known = this.#known.get(index)
      if (known?.etag === etag) texts.set(index, { text: known.text, where: this.#where(index) })
      else if (listing.packs.has(packEndingAt(index))) packs.add(packEndingAt(index))
      else unpacked.push(index)
    }
    const readMessage = async (index: number) => {
      const stored = await this.#store.get(this.#keys.message(index))
      if (stored === null) throw new DamagedRecordError(this.#where(index), 'is missing', index)
      texts.set(index, { text: stored.text, where: this.#where(index) })
      if (stored.etag !== undefined) this.#remember(index, { text: stored.text, etag: stored.etag })
    }
    const readPack = async (last: number) => {
      const key = this.#keys.pack(last)
      const stored = await this.#store.get(key)
      if (stored === null) return
      let pack: Pack
      try {
        pack = decodePack(stored.text, this.#store.where(key))
      } catch (error) {
        // A damaged pack is a damaged copy: the message objects it copies are read instead.
        if (error instanceof DamagedRecordError) return
        throw error
      }
      for (const [i, entry] of pack.entries.entries()) {
        const index = pack.start + i
        if (index < from || index >= to || texts.has(index) || entry.record === undefined) continue
        if (entry.etag === listing.etags.get(index)) {
          const text = encode(entry.record)
          texts.set(index, { text, where: `${this.#store.where(key)}#${index}` })
          this.#remember(index, { text, etag: entry.etag })
        }
      }
    }
    // The packs and the messages no pack holds yet go out together: one round trip for a window.
    await Promise.all([
      inGroups([...packs], READ_CONCURRENCY, readPack),
      inGroups(unpacked, READ_CONCURRENCY, readMessage),
    ])
    // A pack gone, damaged or older than a message (a redaction) leaves those to read one by one.
    const missing: number[] = []
    for (let index = from; index < to; index++) if (!texts.has(index)) missing.push(index)
    await inGroups(missing, READ_CONCURRENCY, readMessage)
    const records: MessageRecord[] = []
    for (let index = from; index < to; index++) {
      const { text, where } = texts.get(index) as { text: string; where: string }
      records.push(this.#decode(text, index, where))
    }
    return records
  }

  async #packCopy(index: number): Promise<MessageRecord | null> {
    const key = this.#keys.pack(packEndingAt(index))
    const stored = await this.#store.get(key)
    if (stored === null) return null
    try {
      const entry = decodePack(stored.text, this.#store.where(key)).entries[
        index - packStart(packEndingAt(index))
      ]
      return entry?.record === undefined ? null : this.#decode(JSON.stringify(entry.record), index)
    } catch (error) {
      if (error instanceof DamagedRecordError) return null
      throw error
    }
  }

  async #replace(index: number, record: MessageRecord, etag: string | undefined): Promise<boolean> {
    const text = encode(record)
    const written = await this.#store.write(
      this.#keys.message(index),
      text,
      etag === undefined ? { ifNoneMatch: true } : { ifMatch: etag },
    )
    if (written === null) return false
    this.#remember(index, { text, etag: written })
    return true
  }

  #damaged(
    copy: MessageRecord | null,
    index: number,
    placeholder: Message,
    reason: string,
    keptAs: string,
  ): MessageRecord {
    const time = new Date().toISOString()
    const base = copy ?? this.#record(index, placeholder, time)
    return { ...base, revision: base.revision + 1, updatedAt: time, damaged: { reason, keptAs } }
  }

  #record(index: number, message: Message, time: string): MessageRecord {
    return {
      schemaVersion: SCHEMA_VERSION,
      sessionId: this.#ref.sessionId,
      agentId: this.#ref.agentId,
      index,
      revision: 0,
      message,
      createdAt: time,
      updatedAt: time,
    }
  }

  #decode(text: string, index: number, where = this.#where(index)): MessageRecord {
    const record = parseRecord(messageRecordSchema, text, where, index) as MessageRecord
    if (record.index !== index)
      throw new DamagedRecordError(where, `holds index ${record.index}, not ${index}`, index)
    return record
  }

  #where(index: number): string {
    return this.#store.where(this.#keys.message(index))
  }

  /** Keeps the newest `KNOWN_LIMIT` records seen (Map order is insertion order). */
  #remember(index: number, known: Known): void {
    this.#known.delete(index)
    this.#known.set(index, known)
    while (this.#known.size > KNOWN_LIMIT) {
      const oldest = this.#known.keys().next().value
      if (oldest === undefined) break
      this.#known.delete(oldest)
    }
  }

  /** Writes run one at a time per handle; each drops the listing `count` kept, which it makes stale. */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    this.#listing = null
    const result = this.#queue.then(work)
    this.#queue = result.catch(() => undefined)
    return result
  }
}
