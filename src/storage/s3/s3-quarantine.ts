import { randomBytes } from 'node:crypto'
import type { Message } from '../../messages/message.ts'
import { DamagedRecordError, RecordNotFoundError } from '../../session/session-errors.ts'
import { type MessageRecord, SCHEMA_VERSION } from '../../session/session-records.ts'
import type { AgentRef } from '../../session/session-repository.ts'
import { type AgentKeys, valueFormat } from './s3-key-layout.ts'
import { listSegmentRevisions } from './s3-log-objects.ts'
import { blobOf, judgeStored } from './s3-message-blob.ts'
import type { Head, HeadSource } from './s3-message-log.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import { decodeSegment, type Tail, tailEnd } from './s3-record-codec.ts'

export interface QuarantineContext {
  store: S3ObjectStore
  keys: AgentKeys
  ref: AgentRef
  segmentSize: number
}

export interface QuarantineRequest {
  head: Head
  /** Set when the head's tail itself could not be parsed (then `head.tail` is a stand-in). */
  damagedTail: DamagedRecordError | null
  count: number
  index: number
  placeholder: Message
}

/**
 * Plans the repair of the packed object that holds `index`: its bytes are kept aside under the
 * agent's `quarantine/` folder first (a crash after that leaves a copy and the damage, and the next
 * repair does it again), then every unreadable record of that object is replaced, from another
 * good copy where one exists (tail and segments overlap), else by the placeholder. Fixing the
 * whole object at once matters: one damaged object can hold many records, and a restore gives a
 * repair only a few attempts. Returns `tail: null` when the record is readable (nothing to do).
 */
export async function planQuarantine(
  context: QuarantineContext,
  request: QuarantineRequest,
): Promise<{ tail: Tail | null; result: MessageRecord }> {
  const { head, index, count } = request
  if (index < 0 || index >= count) {
    throw new RecordNotFoundError(`${context.store.where(context.keys.log)}#${index}`)
  }
  const repair = new Repair(context, request)
  if (request.damagedTail) return repair.rebuildTail(request.damagedTail)
  const tail = head.tail
  // Format 2: an unreadable batch is repaired whichever index was asked (it may hold only
  // sealed messages, and still be the newest record of the segment revisions).
  if (head.sources.some((source) => source.damaged !== undefined)) return repair.fixTail()
  if (index >= tail.start) {
    const readable = await readRecord(context, tail.records[index - tail.start], repair.where(index), index)
    if (!(readable instanceof DamagedRecordError)) return { tail: null, result: readable }
    return repair.fixTail()
  }
  return repair.fixSegment(Math.floor(index / tail.segmentSize))
}

class Repair {
  readonly context: QuarantineContext
  readonly request: QuarantineRequest
  readonly time = new Date().toISOString()

  constructor(context: QuarantineContext, request: QuarantineRequest) {
    this.context = context
    this.request = request
  }

  /** The tail's envelope is unreadable: rebuild the last messages from segments and placeholders. */
  async rebuildTail(damage: DamagedRecordError) {
    const { count, head } = this.request
    const keptAs = await this.keep(
      `slot-${head.slot}-tail`,
      this.context.keys.proposal(head.slot, head.value ?? ''),
    )
    const revisions = await listSegmentRevisions(this.context.store, this.context.keys)
    const size = await this.segmentSize(revisions)
    // Format 1 keeps the last `size` messages in its tail; a format-2 update holds the unsealed ones.
    const start =
      valueFormat(head.value ?? '') === 2 ? Math.floor(count / size) * size : Math.max(0, count - size)
    const sealedEnd = Math.floor(count / size) * size
    const records: unknown[] = []
    const segments = new Map<number, unknown[] | null>()
    for (let index = start; index < count; index++) {
      let copy: unknown = null
      if (index < sealedEnd) {
        const segment = Math.floor(index / size)
        if (!segments.has(segment))
          segments.set(segment, await this.loadSegment(segment, revisions.get(segment) ?? 0))
        const raw = segments.get(segment)?.[index - segment * size]
        if (!((await readRecord(this.context, raw, '', index)) instanceof DamagedRecordError)) copy = raw
      }
      records.push(copy ?? this.placeholder(index, damage.reason, keptAs))
    }
    const tail: Tail = {
      schemaVersion: SCHEMA_VERSION,
      kind: 'tail',
      segmentSize: size,
      start,
      records,
      appended: 0,
      revisions: Object.fromEntries([...revisions].filter(([, r]) => r > 0).map(([s, r]) => [String(s), r])),
      rewrites: [],
    }
    return { tail, result: await this.resultFrom(tail, revisions) }
  }

  /**
   * The tail's objects parse (or, in format 2, some of its batches do) but records are
   * unreadable: keep each damaged object's bytes aside, then replace each such record from its
   * segment or with a placeholder.
   */
  async fixTail() {
    const { head } = this.request
    const tail = head.tail
    const size = tail.segmentSize
    const sealedEnd = Math.floor(tailEnd(tail) / size) * size
    const records = [...tail.records]
    const kept = new Map<string, string>()
    const dropped: string[] = []
    for (const source of head.sources) {
      if (source.damaged !== undefined)
        kept.set(source.key, await this.keep(`slot-${head.slot}-tail`, source.key))
    }
    for (const [i, raw] of tail.records.entries()) {
      const index = tail.start + i
      const source = this.source(index)
      const damage = await readRecord(this.context, raw, this.where(index), index)
      if (!(damage instanceof DamagedRecordError)) continue
      // The damaged bytes are the message's blob, if it has one, else the batch or tail.
      const blob = blobOf(raw)
      if (blob !== null) dropped.push(blob.name)
      const key = blob !== null ? this.context.keys.blob(blob.name) : (source?.key ?? this.context.keys.log)
      const keptAs =
        kept.get(key) ?? (await this.keep(blob !== null ? 'blob' : `slot-${head.slot}-tail`, key))
      kept.set(key, keptAs)
      let copy: unknown = null
      if (index < sealedEnd) {
        const segment = Math.floor(index / size)
        const seg = await this.loadSegment(segment, tail.revisions[String(segment)] ?? 0)
        const candidate = seg?.[index - segment * size]
        if (!((await readRecord(this.context, candidate, '', index)) instanceof DamagedRecordError))
          copy = candidate
      }
      records[i] = copy ?? this.placeholder(index, source?.damaged ?? damage.reason, keptAs)
    }
    const next: Tail = { ...tail, records, appended: 0, rewrites: [], dropped }
    const { index } = this.request
    if (index < tail.start) {
      return {
        tail: next,
        result: await this.resultFrom(
          next,
          new Map(Object.entries(tail.revisions).map(([s, r]) => [Number(s), r])),
        ),
      }
    }
    return {
      tail: next,
      result: await decodeOne(this.context, records[index - tail.start], this.where(index), index),
    }
  }

  source(index: number): HeadSource | undefined {
    return this.request.head.sources.find((source) => index >= source.start && index < source.end)
  }

  /** Where record `index` of the head's tail is stored. */
  where(index: number): string {
    return this.context.store.where(this.source(index)?.key ?? this.context.keys.log)
  }

  /** A sealed segment is unreadable or holds unreadable records: write a repaired revision. */
  async fixSegment(segment: number) {
    const keys = this.context.keys
    const { head, index } = this.request
    const tail = head.tail
    const size = tail.segmentSize
    const previous = tail.revisions[String(segment)] ?? 0
    const key = this.context.store.where(keys.segment(segment, previous))
    const raw = await this.loadSegment(segment, previous)
    const own = await readRecord(this.context, raw?.[index - segment * size], key, index)
    if (raw !== null && !(own instanceof DamagedRecordError)) return { tail: null, result: own }
    const reason = own instanceof DamagedRecordError && raw !== null ? own.reason : 'unreadable segment'
    const keptAs = await this.keep(`segment-${segment}`, keys.segment(segment, previous))
    const records: unknown[] = []
    const dropped: string[] = []
    for (let i = segment * size; i < (segment + 1) * size; i++) {
      const mine = raw?.[i - segment * size]
      const fromTail = i >= tail.start ? tail.records[i - tail.start] : undefined
      const damage = raw === null ? null : await readRecord(this.context, mine, key, i)
      if (damage !== null && !(damage instanceof DamagedRecordError)) {
        records.push(mine)
        continue
      }
      // A message whose blob is damaged: its bytes are kept aside and the blob goes.
      const blob = blobOf(mine)
      const blobKeptAs = blob === null ? null : await this.keep('blob', keys.blob(blob.name))
      if (blob !== null) dropped.push(blob.name)
      if (
        fromTail !== undefined &&
        !((await readRecord(this.context, fromTail, key, i)) instanceof DamagedRecordError)
      )
        records.push(fromTail)
      else records.push(this.placeholder(i, damage?.reason ?? reason, blobKeptAs ?? keptAs))
    }
    const revision = head.slot + 1
    const next: Tail = {
      ...tail,
      dropped,
      appended: 0,
      rewrites: [{ segment, revision, previous, records }],
      revisions: { ...tail.revisions, [String(segment)]: revision },
    }
    return { tail: next, result: await decodeOne(this.context, records[index - segment * size], key, index) }
  }

  /** Copies the damaged object's bytes aside before anything replaces them. */
  async keep(name: string, sourceKey: string): Promise<string> {
    const { store, keys } = this.context
    const stored = await store.get(sourceKey)
    const keptAs = keys.quarantine(`${name}-${Date.now()}-${randomBytes(4).toString('hex')}.damaged`)
    await store.put(keptAs, stored?.text ?? '')
    return store.where(keptAs)
  }

  placeholder(index: number, reason: string, keptAs: string): MessageRecord {
    return {
      schemaVersion: SCHEMA_VERSION,
      sessionId: this.context.ref.sessionId,
      agentId: this.context.ref.agentId,
      index,
      revision: 1,
      message: this.request.placeholder,
      createdAt: this.time,
      updatedAt: this.time,
      damaged: { reason, keptAs },
    }
  }

  /** Raw records of a segment revision, or null when it is missing or its envelope is unreadable. */
  async loadSegment(segment: number, revision: number): Promise<unknown[] | null> {
    const key = this.context.keys.segment(segment, revision)
    const stored = await this.context.store.get(key)
    if (stored === null) return null
    try {
      return decodeSegment(stored.text, this.context.store.where(key), segment).records
    } catch (error) {
      if (error instanceof DamagedRecordError) return null
      throw error
    }
  }

  /** Segment size as written by the log's first slot: read from a sealed segment if one exists. */
  async segmentSize(revisions: Map<number, number>): Promise<number> {
    const [first] = revisions
    if (first === undefined) return this.context.segmentSize
    const records = await this.loadSegment(first[0], first[1])
    return records && records.length > 0 ? records.length : this.context.segmentSize
  }

  async resultFrom(tail: Tail, revisions: Map<number, number>): Promise<MessageRecord> {
    const { index } = this.request
    if (index >= tail.start)
      return decodeOne(this.context, tail.records[index - tail.start], 'rebuilt tail', index)
    const segment = Math.floor(index / tail.segmentSize)
    const records = await this.loadSegment(segment, revisions.get(segment) ?? 0)
    const key = this.context.store.where(this.context.keys.segment(segment, revisions.get(segment) ?? 0))
    if (records === null) throw new DamagedRecordError(key, 'unreadable segment', index)
    return decodeOne(this.context, records[index - segment * tail.segmentSize], key, index)
  }
}

/** A stored record decoded (its blob fetched, if it has one), or the damage that keeps it from being read. */
function readRecord(
  context: QuarantineContext,
  raw: unknown,
  where: string,
  index: number,
): Promise<MessageRecord | DamagedRecordError> {
  return judgeStored(context.store, context.keys, { raw, where, index })
}

/** A stored record decoded; damage is thrown. */
async function decodeOne(
  context: QuarantineContext,
  raw: unknown,
  where: string,
  index: number,
): Promise<MessageRecord> {
  const result = await readRecord(context, raw, where, index)
  if (result instanceof DamagedRecordError) throw result
  return result
}
