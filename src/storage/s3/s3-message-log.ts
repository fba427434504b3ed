import { randomBytes } from 'node:crypto'
import type { Message } from '../../messages/message.ts'
import {
  DamagedRecordError,
  RecordNotFoundError,
  SessionConflictError,
  StorageError,
} from '../../session/session-errors.ts'
import { type MessageRecord, SCHEMA_VERSION } from '../../session/session-records.ts'
import type { AgentRef } from '../../session/session-repository.ts'
import { advanceHead, batchOf, joinBatch, loadBatchHead } from './s3-batch-head.ts'
import { inGroups } from './s3-in-groups.ts'
import { type AgentKeys, type SlotFormat, valueFormat } from './s3-key-layout.ts'
import { readDecoded, readValue } from './s3-log-objects.ts'
import {
  blobOf,
  decodeStored,
  type PreparedMessage,
  type StoredEntry,
  storeBlobs,
  storedForm,
} from './s3-message-blob.ts'
import type { ListPage, S3ObjectStore, StoredText } from './s3-object-store.ts'
import { planQuarantine } from './s3-quarantine.ts'
import { decodeSegment, newTail, type Tail, tailEnd } from './s3-record-codec.ts'
import { sleep } from './s3-retry-policy.ts'
import {
  type Base,
  LIST_PAGE,
  type LogView,
  type Prepared,
  proposalWriter,
  SlotProtocol,
} from './s3-slot-protocol.ts'

/**
 * The newest decided slot and its tail: what the next proposal builds on. In format 1 the tail
 * is the slot's own value; in format 2 it is assembled from batches (s3-batch-head.ts), and holds
 * exactly the messages after the last sealed segment.
 */
export interface Head extends Base {
  tail: Tail
  /** Which object holds each range of the tail's messages (for error messages and repairs). */
  sources: HeadSource[]
}

export interface HeadSource {
  key: string
  start: number
  end: number
  /** Set when the object was unreadable (a tolerant load, for a repair): why. */
  damaged?: string
}

interface Pending {
  message: Message
  resolve: (record: MessageRecord) => void
  reject: (error: unknown) => void
}

const MAX_ATTEMPTS = 100
const MAX_BATCH = 100
const READ_CONCURRENCY = 8
/** How long a count's listing may serve the read that follows it (as in the message layout). */
const VIEW_REUSE_MS = 1_000

/**
 * One agent's message history on S3: appends, reads, redactions and repairs on top of the slot
 * protocol. Calls on one handle are queued, and appends waiting in the queue go out together in
 * one slot (group commit), so a burst of appends costs one slot, not one each.
 */
export class S3MessageLog {
  readonly #store: S3ObjectStore
  readonly #keys: AgentKeys
  readonly #ref: AgentRef
  readonly #segmentSize: number
  readonly #protocol: SlotProtocol
  /** Last head this handle saw; only a hint, since every proposal re-checks its base. */
  #head: Head | null = null
  #queue: Promise<unknown> = Promise.resolve()
  #pending: Pending[] = []
  /** The highest round a compare-and-append that gave up saw at a slot: the next try starts above. */
  #contended: { slot: number; highest: number } | null = null
  /** Round 0 of the slot after the one we last won, ours to accept at directly (SlotProtocol). */
  #prepared: Prepared | null = null
  /**
   * The listing of the last count, while no write of ours has made it stale: a restore or a sync
   * counts and then reads, and the read starts from it instead of listing again.
   */
  #counted: { view: LogView; takenAt: number; epoch: number } | null = null
  /** Moves when a write of this handle starts and when it ends: a count taken across either is stale. */
  #writeEpoch = 0

  constructor(store: S3ObjectStore, keys: AgentKeys, ref: AgentRef, segmentSize: number) {
    this.#store = store
    this.#keys = keys
    this.#ref = ref
    this.#segmentSize = segmentSize
    this.#protocol = new SlotProtocol(store, keys)
  }

  /** One LIST: the count is in the newest decided key's name. */
  async count(first?: ListPage): Promise<number> {
    const takenAt = Date.now()
    const epoch = this.#writeEpoch
    const view = await this.#protocol.view(first)
    this.#counted = { view, takenAt, epoch }
    // Someone else decided the slot ours was to follow (or the log was deleted): round 0 there
    // is not ours to skip phase 1 with, and an accept sent blindly might land on a rebuilt log.
    const head = this.#head
    if (view.top?.slot !== head?.slot || view.top?.value !== head?.value) this.#prepared = null
    return view.top?.count ?? 0
  }

  /**
   * Round 0 of the next slot, handed to one proposal only: forgotten before it runs, so that a
   * proposal that fails after its accept may have landed is never followed by another accept at
   * the same ballot (same key) with other bytes.
   */
  #takePrepared(): Prepared | null {
    const prepared = this.#prepared
    this.#prepared = null
    return prepared
  }

  /** The last count's view, once, if it is recent: a read right after a count reads that state. */
  #takeCounted(): LogView | undefined {
    const counted = this.#counted
    this.#counted = null
    if (counted === null || counted.epoch !== this.#writeEpoch) return undefined
    return Date.now() - counted.takenAt <= VIEW_REUSE_MS ? counted.view : undefined
  }

  append(message: Message, expectedIndex?: number): Promise<MessageRecord> {
    if (expectedIndex !== undefined) {
      return this.#serial(async () => (await this.#appendBatch([message], expectedIndex))[0] as MessageRecord)
    }
    return new Promise((resolve, reject) => {
      this.#pending.push({ message, resolve, reject })
      if (this.#pending.length === 1) void this.#serial(() => this.#flush())
    })
  }

  /** Appends many messages in one slot (bulk import; the tests use it to build long histories). */
  appendMany(messages: Message[]): Promise<MessageRecord[]> {
    return this.#serial(() => this.#appendBatch(messages))
  }

  update(index: number, message: Message): Promise<MessageRecord> {
    return this.#serial(() =>
      this.#rewrite(async (head) => {
        const current = await this.#recordAt(head, index)
        const record: MessageRecord = {
          ...current,
          message,
          revision: current.revision + 1,
          updatedAt: new Date().toISOString(),
        }
        delete record.damaged
        return { tail: await this.#replacing(head, new Map([[index, record]])), result: record }
      }),
    )
  }

  quarantine(index: number, placeholder: Message): Promise<MessageRecord> {
    return this.#serial(() =>
      this.#rewrite(
        (head, damagedTail, count) =>
          planQuarantine(
            { store: this.#store, keys: this.#keys, ref: this.#ref, segmentSize: this.#segmentSize },
            { head, damagedTail, count, index, placeholder },
          ),
        true,
      ),
    )
  }

  /** Forgets cached state (after the session was deleted). */
  forget(): void {
    this.#head = null
    this.#prepared = null
    this.#counted = null
  }

  async read(offset = 0, limit?: number, first?: ListPage): Promise<MessageRecord[]> {
    // The first attempt starts from a listing already made: the layout check's page, or the count's.
    let reused = first === undefined ? this.#takeCounted() : undefined
    for (let attempt = 0; ; attempt++) {
      // Deep enough to name the batches of a format-2 head (a decided key and a batch per slot
      // since the last sealed segment), so the read needs no second LIST.
      const view =
        reused ??
        (await this.#protocol.view(attempt === 0 ? first : undefined, 4 * this.#segmentSize + LIST_PAGE))
      reused = undefined
      const count = view.top?.count ?? 0
      const end = limit === undefined ? count : Math.min(count, offset + limit)
      if (offset >= end) return []
      const prefetched = this.#prefetchSegments(view, offset, end)
      try {
        const head = await this.#loadHead(view, offset)
        if (head === null) throw new Gone()
        if (this.#head === null || head.slot > this.#head.slot) this.#head = head
        const tail = head.tail
        const entries: StoredEntry[] = []
        for (let index = Math.max(offset, tail.start); index < end; index++) {
          entries.push({ raw: tail.records[index - tail.start], where: this.#whereIndex(head, index), index })
        }
        const [sealed, fromTail] = await Promise.all([
          this.#readSegments(head, offset, Math.min(end, tail.start), prefetched),
          decodeStored(this.#store, this.#keys, entries),
        ])
        return [...sealed, ...fromTail]
      } catch (error) {
        // A batch, segment or blob swept by a writer that moved on meanwhile (a redaction deletes
        // the replaced message's blob): read the new head.
        const swept =
          error instanceof Gone || (error instanceof DamagedRecordError && error.reason === 'missing')
        if (!swept || attempt >= 4) throw error instanceof Gone ? error.asError() : error
      }
    }
  }

  async #flush(): Promise<void> {
    const batch = this.#pending.splice(0, MAX_BATCH)
    if (this.#pending.length > 0) void this.#serial(() => this.#flush())
    try {
      const records = await this.#appendBatch(batch.map((item) => item.message))
      for (const [i, item] of batch.entries()) item.resolve(records[i] as MessageRecord)
    } catch (error) {
      for (const item of batch) item.reject(error)
    }
  }

  async #appendBatch(messages: Message[], expectedIndex?: number): Promise<MessageRecord[]> {
    // Format 2 only: large messages' blobs, stored by the previous attempt (a retry at another
    // slot copies them to its own names on the store's side).
    let prepared: PreparedMessage[] | undefined
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const cached = this.#head
      const head = cached ?? (await this.#freshHead())
      const count = tailEnd(head.tail)
      if (expectedIndex !== undefined && expectedIndex !== count) {
        // Only a fresh head may refuse: a cached one can be behind.
        this.#head = null
        if (cached) continue
        throw new SessionConflictError(this.#ref.sessionId, this.#ref.agentId, expectedIndex)
      }
      const time = new Date().toISOString()
      const records: MessageRecord[] = messages.map((message, i) => ({
        schemaVersion: SCHEMA_VERSION,
        sessionId: this.#ref.sessionId,
        agentId: this.#ref.agentId,
        index: count + i,
        revision: 0,
        message,
        createdAt: time,
        updatedAt: time,
      }))
      const format = formatAfter(head)
      const slot = head.slot + 1
      // The proposal's writer ID is chosen here, since a format-2 blob's name carries it: round 0
      // if we won the slot below (its writer ID comes with it), else a fresh one.
      const ahead = this.#takePrepared()
      const writer = proposalWriter(ahead, slot, format)
      // Format 2 proposes the new records alone, a large message's blob stored first (a decided
      // batch never refers to a blob that is not there), named for this proposal; format 1 a
      // tail of the last segmentSize.
      if (format === 2) {
        prepared = await storeBlobs(this.#store, this.#keys, messages, { slot, writer }, prepared)
      }
      const tail =
        format === 1
          ? extendTail(head.tail, records)
          : batchOf(
              head.tail,
              records.map((record, i) => storedForm(record, prepared?.[i] ?? { message: record.message })),
            )
      const outcome = await this.#protocol.decide(slot, head, tail, {
        giveUpIfContended: expectedIndex !== undefined,
        fromRound: this.#contended?.slot === slot ? this.#contended.highest + 1 : 1,
        format,
        prepared: ahead,
        writer,
        ...(format === 2 ? { sealing: (decided: Tail) => joinBatch(head.tail, decided) } : {}),
      })
      this.#prepared = outcome.kind === 'won' ? outcome.prepared : null
      if (outcome.kind === 'contended') this.#contended = { slot, highest: outcome.highest }
      if (outcome.kind === 'won') {
        this.#head =
          format === 1
            ? this.#wholeTailHead(slot, outcome.value, tail)
            : advanceHead(head, slot, outcome.value, this.#keys.proposal(slot, outcome.value), tail)
        return records
      }
      this.#head = null
      if (expectedIndex !== undefined && outcome.kind !== 'restart') {
        throw new SessionConflictError(this.#ref.sessionId, this.#ref.agentId, expectedIndex)
      }
      if (outcome.kind === 'lost') this.#head = await this.#headAfterLoss(head, outcome.view, count)
    }
    throw new StorageError('append to', `${this.#store.where(this.#keys.log)} (no free slot after retries)`)
  }

  /**
   * Runs a change of existing records (update, repair) as a slot of its own, so it is ordered
   * with every append: an append that raced it either saw it or lost its slot and rebuilt on it.
   */
  async #rewrite(
    plan: (
      head: Head,
      damagedTail: DamagedRecordError | null,
      count: number,
    ) => Promise<{ tail: Tail | null; result: MessageRecord }>,
    tolerateDamagedTail = false,
  ): Promise<MessageRecord> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const view = await this.#protocol.view()
      let head: Head | null
      let damaged: DamagedRecordError | null = null
      try {
        head = await this.#loadHead(view, 0, tolerateDamagedTail)
      } catch (error) {
        if (!(error instanceof DamagedRecordError) || view.top === null || !tolerateDamagedTail) throw error
        damaged = error
        head = { slot: view.top.slot, value: view.top.value, tail: newTail(this.#segmentSize), sources: [] }
      }
      if (head === null) continue
      if (damaged === null && head.sources.every((source) => source.damaged === undefined)) this.#head = head
      let planned: { tail: Tail | null; result: MessageRecord }
      try {
        planned = await plan(head, damaged, view.top?.count ?? 0)
      } catch (error) {
        if (error instanceof Gone) continue
        throw error
      }
      if (planned.tail === null) return planned.result
      // Format 2: an update's batch holds every unsealed message (the head's tail, changed).
      const tail = planned.tail
      const slot = head.slot + 1
      const format = formatAfter(head)
      const outcome = await this.#protocol.decide(slot, head, tail, {
        format,
        prepared: this.#takePrepared(),
        // Should another writer's append win this slot, its segments are cut from our head.
        ...(format === 2 ? { sealing: (decided: Tail) => joinBatch(head.tail, decided) } : {}),
      })
      this.#prepared = outcome.kind === 'won' ? outcome.prepared : null
      this.#head = outcome.kind === 'won' ? this.#wholeTailHead(slot, outcome.value, tail) : null
      if (outcome.kind === 'won') return planned.result
      await sleep(Math.random() * 20)
    }
    throw new StorageError('update', `${this.#store.where(this.#keys.log)} (kept changing)`)
  }

  /** A copy of the head's tail with `records` replaced, in the tail and in sealed segments. */
  async #replacing(head: Head, replacements: Map<number, MessageRecord>): Promise<Tail> {
    const tail = head.tail
    const size = tail.segmentSize
    const count = tailEnd(tail)
    const next: Tail = {
      ...tail,
      records: [...tail.records],
      appended: 0,
      rewrites: [],
      revisions: { ...tail.revisions },
    }
    const segments = new Map<number, unknown[]>()
    // A replaced message's blob goes once this update is decided (it holds the old text).
    const dropped = new Set<string>()
    const drop = (raw: unknown) => {
      const blob = blobOf(raw)
      if (blob !== null) dropped.add(blob.name)
    }
    for (const [index, record] of replacements) {
      if (index >= count) throw new RecordNotFoundError(`${this.#store.where(this.#keys.log)}#${index}`)
      if (index >= tail.start) {
        drop(next.records[index - tail.start])
        next.records[index - tail.start] = record
      }
      const segment = Math.floor(index / size)
      if ((segment + 1) * size > count) continue
      const records = segments.get(segment) ?? [...(await this.#segmentRecords(head, segment))]
      drop(records[index - segment * size])
      records[index - segment * size] = record
      segments.set(segment, records)
    }
    next.dropped = [...dropped]
    const revision = head.slot + 1
    for (const [segment, records] of segments) {
      const previous = tail.revisions[String(segment)] ?? 0
      next.rewrites.push({ segment, revision, previous, records })
      next.revisions[String(segment)] = revision
    }
    return next
  }

  async #recordAt(head: Head, index: number): Promise<MessageRecord> {
    const tail = head.tail
    if (index >= tailEnd(tail) || index < 0) {
      throw new RecordNotFoundError(`${this.#store.where(this.#keys.log)}#${index}`)
    }
    if (index >= tail.start) {
      const raw = tail.records[index - tail.start]
      return this.#decodeOne({ raw, where: this.#whereIndex(head, index), index })
    }
    const segment = Math.floor(index / tail.segmentSize)
    const records = await this.#segmentRecords(head, segment)
    const where = this.#store.where(this.#segmentKey(head, segment))
    return this.#decodeOne({ raw: records[index - segment * tail.segmentSize], where, index })
  }

  /**
   * Format 2: GETs of the sealed segments a read of [offset, end) needs, started with the head's
   * batches rather than after them (a restore waits one round trip less). Which segments are
   * sealed follows from the count; their revisions are guessed from the last head this handle saw
   * (0 if none), and a guess is used only if the head then names the same key. Only the first
   * READ_CONCURRENCY segments: a restore's window, not a whole history.
   */
  #prefetchSegments(view: LogView, offset: number, end: number): Map<string, Promise<StoredText | null>> {
    const prefetched = new Map<string, Promise<StoredText | null>>()
    const top = view.top
    if (top === null || valueFormat(top.value) !== 2) return prefetched
    const known = this.#head?.tail
    const size = known?.segmentSize ?? this.#segmentSize
    const sealedEnd = Math.floor(top.count / size) * size
    const first = Math.floor(offset / size)
    for (let segment = first; segment * size < Math.min(end, sealedEnd); segment++) {
      if (segment - first >= READ_CONCURRENCY) break
      const key = this.#keys.segment(segment, known?.revisions[String(segment)] ?? 0)
      const read = this.#store.get(key)
      // Marked handled: a guess nobody uses must not end the process; a used one is awaited again.
      read.catch(() => undefined)
      prefetched.set(key, read)
    }
    return prefetched
  }

  async #readSegments(
    head: Head,
    from: number,
    to: number,
    prefetched?: Map<string, Promise<StoredText | null>>,
  ): Promise<MessageRecord[]> {
    if (from >= to) return []
    const size = head.tail.segmentSize
    const segments: number[] = []
    for (let segment = Math.floor(from / size); segment * size < to; segment++) segments.push(segment)
    const loaded = await inGroups(segments, READ_CONCURRENCY, (segment) =>
      this.#segmentRecords(head, segment, prefetched),
    )
    const entries: StoredEntry[] = []
    for (const [i, segment] of segments.entries()) {
      const raw = loaded[i] ?? []
      const where = this.#store.where(this.#segmentKey(head, segment))
      for (let index = Math.max(from, segment * size); index < Math.min(to, (segment + 1) * size); index++) {
        entries.push({ raw: raw[index - segment * size], where, index })
      }
    }
    return decodeStored(this.#store, this.#keys, entries)
  }

  async #decodeOne(entry: StoredEntry): Promise<MessageRecord> {
    return (await decodeStored(this.#store, this.#keys, [entry]))[0] as MessageRecord
  }

  /** A sealed segment's records; a missing one (swept after a rewrite we had not seen) is Gone. */
  async #segmentRecords(
    head: Head,
    segment: number,
    prefetched?: Map<string, Promise<StoredText | null>>,
  ): Promise<unknown[]> {
    const key = this.#segmentKey(head, segment)
    const start = segment * head.tail.segmentSize
    const where = this.#store.where(key)
    const records = await readDecoded(
      this.#store,
      key,
      (text) => decodeSegment(text, where, segment).records,
      prefetched?.get(key),
    )
    if (records === null) throw new Gone(key, 'missing', start)
    if (records instanceof DamagedRecordError) {
      throw new DamagedRecordError(records.location, records.reason, start, { cause: records })
    }
    return records
  }

  async #freshHead(): Promise<Head> {
    for (let attempt = 0; attempt < 5; attempt++) {
      const head = await this.#loadHead(await this.#protocol.view(), 0)
      if (head !== null) return head
    }
    throw new StorageError('read', `${this.#store.where(this.#keys.log)} (the head kept moving)`)
  }

  /**
   * The head decided at the view's newest slot; null if an object of it was swept meanwhile (the
   * log moved on). `tolerant` (a repair): a damaged format-2 batch is returned as unreadable
   * records instead of thrown.
   */
  async #loadHead(view: LogView, indexHint: number, tolerant = false): Promise<Head | null> {
    const top = view.top
    if (top === null) return { slot: -1, value: null, tail: newTail(this.#segmentSize), sources: [] }
    const cached = this.#head
    if (cached && cached.slot === top.slot && cached.value === top.value) return cached
    if (valueFormat(top.value) === 2) {
      const context = {
        store: this.#store,
        keys: this.#keys,
        protocol: this.#protocol,
        segmentSize: this.#segmentSize,
      }
      return loadBatchHead(context, view, top, { indexHint, tolerant })
    }
    const tail = await readValue(this.#store, this.#keys.proposal(top.slot, top.value))
    if (tail instanceof DamagedRecordError) {
      // Name an index the caller asked for, so a restore can repair exactly this object.
      const index = Math.min(Math.max(indexHint, 0), Math.max(top.count - 1, 0))
      throw new DamagedRecordError(tail.location, tail.reason, index, { cause: tail })
    }
    return tail === null ? null : this.#wholeTailHead(top.slot, top.value, tail)
  }

  /**
   * The head after another writer's value won the slot above `head`. In format 2, when that slot
   * is the newest, it is our head plus the winner's batch: one GET, not the whole chain again.
   */
  async #headAfterLoss(head: Head, view: LogView, count: number): Promise<Head | null> {
    const top = view.top
    if (
      top === null ||
      top.slot !== head.slot + 1 ||
      valueFormat(top.value) !== 2 ||
      formatAfter(head) !== 2
    ) {
      return this.#loadHead(view, count)
    }
    const key = this.#keys.proposal(top.slot, top.value)
    const batch = await readValue(this.#store, key)
    // Missing (swept) or unreadable: the caller reads a fresh head, which reports damage.
    if (batch === null || batch instanceof DamagedRecordError) return null
    if (batch.appended === 0 || batch.start !== count || tailEnd(batch) !== top.count)
      return this.#loadHead(view, count)
    return advanceHead(head, top.slot, top.value, key, batch)
  }

  /** A head whose tail is one object, the value decided at `slot` (format 1, or an update). */
  #wholeTailHead(slot: number, value: string, tail: Tail): Head {
    const key = this.#keys.proposal(slot, value)
    return { slot, value, tail, sources: [{ key, start: tail.start, end: tailEnd(tail) }] }
  }

  /** Where the tail's record `index` is stored, for error messages. */
  #whereIndex(head: Head, index: number): string {
    const source = head.sources.find((candidate) => index >= candidate.start && index < candidate.end)
    return this.#store.where(source?.key ?? this.#keys.log)
  }

  #segmentKey(head: Head, segment: number): string {
    return this.#keys.segment(segment, head.tail.revisions[String(segment)] ?? 0)
  }

  /** Runs a write after the ones queued before it (all writes go through here). */
  #serial<T>(work: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(async () => {
      this.#writeEpoch++
      try {
        return await work()
      } finally {
        this.#writeEpoch++
      }
    })
    this.#queue = result.catch(() => undefined)
    return result
  }
}

/**
 * The slot format a proposal after `head` uses: a log keeps its format, so writers of
 * tether-agents 0.1 can still share a log they started; a new log takes format 2.
 */
const formatAfter = (head: Base): SlotFormat => (head.value === null ? 2 : valueFormat(head.value))

/**
 * The tail after appending `records`: it keeps the current segment and at least the last
 * `segmentSize` messages, so one GET serves any window up to that size.
 */
export function extendTail(previous: Tail, records: MessageRecord[]): Tail {
  const size = previous.segmentSize
  const before = tailEnd(previous)
  const count = before + records.length
  const start = Math.max(0, Math.min(Math.floor(before / size) * size, count - size))
  return {
    ...previous,
    start,
    records: [...previous.records.slice(start - previous.start), ...records],
    appended: records.length,
    rewrites: [],
  }
}

/** A read found a swept object: the log moved on under it, so the read starts again. */
class Gone extends Error {
  readonly key: string
  readonly reason: string
  readonly index: number
  constructor(key = '', reason = 'missing', index = 0) {
    super(`${key} ${reason}`)
    this.key = key
    this.reason = reason
    this.index = index
  }
  asError(): DamagedRecordError {
    return new DamagedRecordError(this.key, this.reason, this.index)
  }
}

export const randomName = (): string => randomBytes(6).toString('hex')
