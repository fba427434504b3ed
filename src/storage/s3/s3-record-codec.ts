import { z } from 'zod'
import { DamagedRecordError } from '../../session/session-errors.ts'
import {
  type MessageRecord,
  messageRecordSchema,
  parseRecord,
  SCHEMA_VERSION,
} from '../../session/session-records.ts'

/**
 * A blob's name (s3-message-blob.ts): `<slot>-<writer>-<n>` for the proposal that stored it, or
 * 32 random hex digits (blobs named before proposals were).
 */
export const BLOB_NAME = /^(?:[0-9a-f]{32}|\d{12}-[0-9a-f]{1,32}-\d{1,6})$/

/**
 * The two packed object formats of the S3 log, validated with zod when read back.
 *
 * A tail is what a log slot decides: the last messages of the history (at least `segmentSize`
 * of them once there are that many), so a restore reads its window with one GET. A segment is
 * `segmentSize` messages sealed once every writer has moved past them. Records inside are
 * ordinary `MessageRecord`s and are checked one by one, so one bad record does not hide the
 * others. Version history of both envelopes: 1 (tether-agents 0.1).
 */

export const tailSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('tail'),
  /** Messages per segment, fixed by the first slot of the log for every later writer. */
  segmentSize: z.number().int().positive(),
  /** Index of `records[0]`; the tail holds messages [start, start + records.length). */
  start: z.number().int().nonnegative(),
  records: z.array(z.unknown()),
  /** How many of the records this slot appended (0 for an update or a repair). */
  appended: z.number().int().nonnegative(),
  /** Segments rewritten since sealing (redaction, repair): segment number → revision. */
  revisions: z.record(z.string(), z.number().int().nonnegative()),
  /** Segment revisions this slot writes, applied by whoever completes the slot. */
  rewrites: z.array(
    z.object({
      segment: z.number().int().nonnegative(),
      revision: z.number().int().nonnegative(),
      /** The revision it replaces, deleted once this slot is decided. */
      previous: z.number().int().nonnegative(),
      records: z.array(z.unknown()),
    }),
  ),
  /** Format 2, an update: blobs of the messages it replaced, deleted once it is decided. */
  dropped: z.array(z.string().regex(BLOB_NAME)).optional(),
})
export type Tail = z.infer<typeof tailSchema>

export const segmentSchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal('segment'),
  segment: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
  records: z.array(z.unknown()),
})
export type Segment = z.infer<typeof segmentSchema>

export const encode = (value: unknown): string => `${JSON.stringify(value)}\n`

export function decodeTail(text: string, key: string): Tail {
  return parseRecord(tailSchema, text, key)
}

export function decodeSegment(text: string, key: string, expected: number): Segment {
  const segment = parseRecord(segmentSchema, text, key)
  if (segment.segment !== expected) {
    throw new DamagedRecordError(key, `holds segment ${segment.segment}, not ${expected}`)
  }
  return segment
}

/** One record of a packed object, checked as if it were stored alone (`key#index` names it). */
export function decodeRecord(raw: unknown, key: string, index: number): MessageRecord {
  const location = `${key}#${index}`
  const record = parseRecord(messageRecordSchema, JSON.stringify(raw) ?? '', location, index) as MessageRecord
  if (record.index !== index) {
    throw new DamagedRecordError(location, `holds index ${record.index}, not ${index}`, index)
  }
  return record
}

export function newTail(segmentSize: number): Tail {
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: 'tail',
    segmentSize,
    start: 0,
    records: [],
    appended: 0,
    revisions: {},
    rewrites: [],
  }
}

export const tailEnd = (tail: Tail): number => tail.start + tail.records.length
