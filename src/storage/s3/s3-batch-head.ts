import { DamagedRecordError } from '../../session/session-errors.ts'
import { SCHEMA_VERSION } from '../../session/session-records.ts'
import { type BatchLink, batchChain, type Decided } from './s3-batch-chain.ts'
import type { AgentKeys } from './s3-key-layout.ts'
import { listSegmentRevisions, readValue } from './s3-log-objects.ts'
import type { Head, HeadSource } from './s3-message-log.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import { type Tail, tailEnd } from './s3-record-codec.ts'
import type { LogView, SlotProtocol } from './s3-slot-protocol.ts'

/**
 * The head of a format-2 log, whose slots decide batches (only the messages each slot added, or
 * for an update every unsealed message) instead of tails. The head's tail is assembled from the
 * batches of the slots since the last sealed segment (`batchChain`): fewer than `segmentSize`
 * of them, named by the decided keys one LIST returned, and read with one GET each, in parallel.
 * So an append uploads its own messages only, and readers pay a few more GETs than format 1's
 * single tail.
 */

export interface BatchHeadContext {
  store: S3ObjectStore
  keys: AgentKeys
  protocol: SlotProtocol
  /** The configured segment size: a guess, corrected by the newest batch (the log's own size). */
  segmentSize: number
}

/**
 * Loads the head decided at `top`. Null if a batch was swept meanwhile (the log moved on: read
 * again). A damaged batch is a `DamagedRecordError` naming it and an index it holds, unless
 * `tolerant` (for a repair): then its messages are left unreadable (null) in the tail and its
 * source says why, so the repair replaces exactly those and keeps the others.
 */
export async function loadBatchHead(
  context: BatchHeadContext,
  view: LogView,
  top: Decided,
  options: { indexHint: number; tolerant: boolean },
): Promise<Head | null> {
  let size = context.segmentSize
  for (let pass = 0; ; pass++) {
    const decided = await context.protocol.decidedSlots(
      view,
      (found) => batchChain(top, size, found) !== null,
    )
    const chain = batchChain(top, size, decided)
    if (chain === null) {
      throw new DamagedRecordError(
        context.store.where(context.keys.log),
        `decided keys below slot ${top.slot} are missing`,
        options.indexHint,
      )
    }
    const batches = await Promise.all(chain.map((link) => loadBatch(context, link)))
    if (batches.some((batch) => batch === null)) return null
    // The log's segment size is in every batch; a writer configured differently follows the log.
    // (If the newest batch is unreadable, the configured size stands.)
    const newest = batches[0]
    if (newest && !(newest instanceof DamagedRecordError) && newest.segmentSize !== size && pass === 0) {
      size = newest.segmentSize
      continue
    }
    return assemble(context, top, size, chain, batches as (Tail | DamagedRecordError)[], options)
  }
}

async function loadBatch(
  context: BatchHeadContext,
  link: BatchLink,
): Promise<Tail | DamagedRecordError | null> {
  const key = context.keys.proposal(link.slot, link.value)
  const batch = await readValue(context.store, key)
  if (batch === null || batch instanceof DamagedRecordError) return batch
  if (batch.start !== link.start || tailEnd(batch) !== link.end) {
    return new DamagedRecordError(
      context.store.where(key),
      `holds messages [${batch.start}, ${tailEnd(batch)}), not [${link.start}, ${link.end})`,
    )
  }
  return batch
}

async function assemble(
  context: BatchHeadContext,
  top: Decided,
  size: number,
  chain: BatchLink[],
  batches: (Tail | DamagedRecordError)[],
  options: { indexHint: number; tolerant: boolean },
): Promise<Head> {
  const sealedEnd = Math.floor(top.count / size) * size
  const records: unknown[] = new Array(top.count - sealedEnd).fill(null)
  const sources: HeadSource[] = []
  for (const [i, link] of chain.entries()) {
    const batch = batches[i] as Tail | DamagedRecordError
    const from = Math.max(link.start, sealedEnd)
    const key = context.keys.proposal(link.slot, link.value)
    if (batch instanceof DamagedRecordError) {
      if (!options.tolerant) {
        // Name an index this batch holds, the asked one if it does, so a repair fixes this object.
        const index = Math.min(Math.max(options.indexHint, link.start), link.end - 1)
        throw new DamagedRecordError(batch.location, batch.reason, index, { cause: batch })
      }
      sources.push({ key, start: from, end: link.end, damaged: batch.reason })
      continue
    }
    for (let index = from; index < link.end; index++)
      records[index - sealedEnd] = batch.records[index - batch.start]
    sources.push({ key, start: from, end: link.end })
  }
  const newest = batches[0]
  // The newest batch carries the segment revisions in force; if it is unreadable, list them.
  const revisions =
    newest instanceof DamagedRecordError
      ? Object.fromEntries(
          [...(await listSegmentRevisions(context.store, context.keys, top.slot))]
            .filter(([, revision]) => revision > 0)
            .map(([segment, revision]) => [String(segment), revision]),
        )
      : (newest?.revisions ?? {})
  const tail: Tail = {
    schemaVersion: SCHEMA_VERSION,
    kind: 'tail',
    segmentSize: size,
    start: sealedEnd,
    records,
    appended: 0,
    revisions,
    rewrites: [],
  }
  return { slot: top.slot, value: top.value, tail, sources }
}

/**
 * The head after our batch `batch` was decided at `slot` on `head`: the unsealed messages move
 * past any segment the batch sealed.
 */
export function advanceHead(head: Head, slot: number, value: string, key: string, batch: Tail): Head {
  const joined = joinBatch(head.tail, batch)
  const count = tailEnd(joined)
  const size = joined.segmentSize
  const start = Math.floor(count / size) * size
  const tail: Tail = {
    ...joined,
    start,
    records: joined.records.slice(start - joined.start),
    appended: 0,
    rewrites: [],
  }
  const sources = head.sources
    .filter((source) => source.end > start)
    .map((source) => ({ ...source, start: Math.max(source.start, start) }))
  sources.unshift({ key, start: Math.max(batch.start, start), end: count })
  return { slot, value, tail, sources }
}

/** The head's unsealed messages followed by a decided batch: what the slot's segments are cut from. */
export function joinBatch(headTail: Tail, batch: Tail): Tail {
  if (batch.appended === 0) return batch
  return {
    ...headTail,
    records: [...headTail.records, ...batch.records],
    appended: batch.appended,
    rewrites: batch.rewrites,
    revisions: batch.revisions,
  }
}

/** The batch an append proposes on `head`: its own records only. */
export function batchOf(headTail: Tail, records: unknown[]): Tail {
  const { dropped: _, ...rest } = headTail
  return { ...rest, start: tailEnd(headTail), records, appended: records.length, rewrites: [] }
}
