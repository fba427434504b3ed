import * as fs from 'node:fs/promises'
import { DamagedRecordError } from '../session/session-errors.ts'
import { isErrno } from './durable-files.ts'

const HEADER = 32
const FRAME_HEADER = 24
const MAGIC_LITTLE = 0x377f0682
const MAGIC_BIG = 0x377f0683

/**
 * SQLite checksums its write-ahead log frame by frame, in one chain, and on recovery stops at the
 * first frame that fails: every commit after it is dropped without an error, as a torn tail would
 * be. A torn tail can only hold the one transaction being written when the power went (SQLite
 * fsyncs each commit before the next transaction writes), so a damaged frame followed by two or
 * more intact commits of the same log generation is damage, never a torn write: this check throws
 * a DamagedRecordError for it before SQLite opens the database and silently cuts the history short.
 *
 * Format (sqlite.org/fileformat2.html#walformat): a 32-byte header (magic, version, page size,
 * checkpoint sequence, salt-1, salt-2, checksum), then frames of a 24-byte header (page number,
 * database size for a commit frame or 0, salt-1, salt-2, checksum) and one page.
 */
export async function checkWriteAheadLog(walPath: string, location: string): Promise<void> {
  let bytes: Buffer
  try {
    bytes = await fs.readFile(walPath)
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return
    throw error
  }
  if (bytes.length < HEADER) return // empty, or a header torn before anything was committed
  const magic = bytes.readUInt32BE(0)
  const bigEndian = magic === MAGIC_BIG || (magic !== MAGIC_LITTLE && (magic & 1) === 1)
  const declared = bytes.readUInt32BE(8)
  const pageSize = isPageSize(declared) ? declared : 4096
  const frameSize = FRAME_HEADER + pageSize
  const salts = bytes.subarray(16, 24)
  const frames = Math.floor((bytes.length - HEADER) / frameSize)
  const frameAt = (i: number) => bytes.subarray(HEADER + i * frameSize, HEADER + (i + 1) * frameSize)
  const stored = (slice: Buffer, at: number): [number, number] => [
    slice.readUInt32BE(at),
    slice.readUInt32BE(at + 4),
  ]
  const sameGeneration = (frame: Buffer) => frame.subarray(8, 16).equals(salts) && frame.readUInt32BE(0) !== 0
  const intact = (frame: Buffer, seed: [number, number]) => {
    const sum = checksum(bigEndian, seed, frame.subarray(0, 8), frame.subarray(FRAME_HEADER))
    const [a, b] = stored(frame, 16)
    return sum[0] === a && sum[1] === b
  }

  // Walk the chain as SQLite's recovery does, to find where it would stop.
  const headerSum = checksum(bigEndian, [0, 0], bytes.subarray(0, 24))
  const [h0, h1] = stored(bytes, 24)
  let firstBad = magic === MAGIC_LITTLE || magic === MAGIC_BIG ? -1 : 0
  if (firstBad < 0 && (headerSum[0] !== h0 || headerSum[1] !== h1)) firstBad = 0
  let seed: [number, number] = [h0, h1]
  // A frame of another generation normally ends the log (older frames follow, never read); it is
  // damage only if intact commits of this generation come after it, which the next step counts.
  for (let i = 0; firstBad < 0 && i < frames; i++) {
    const frame = frameAt(i)
    if (!sameGeneration(frame) || !intact(frame, seed)) firstBad = i
    else seed = stored(frame, 16)
  }
  if (firstBad < 0) return

  // Frames after the break are checked each against its predecessor's stored checksum.
  let laterCommits = 0
  for (let i = firstBad + 1; i < frames; i++) {
    const frame = frameAt(i)
    if (sameGeneration(frame) && intact(frame, stored(frameAt(i - 1), 16)) && frame.readUInt32BE(4) !== 0) {
      laterCommits++
    }
  }
  const brokenIsCommit = firstBad < frames && frameAt(firstBad).readUInt32BE(4) !== 0
  if (laterCommits >= 2 || (laterCommits === 1 && brokenIsCommit)) {
    throw new DamagedRecordError(
      location,
      `its write-ahead log is damaged at frame ${firstBad}, before ${laterCommits} later commit(s) that SQLite would silently drop`,
    )
  }
}

function isPageSize(value: number): boolean {
  return value >= 512 && value <= 65536 && (value & (value - 1)) === 0
}

/** SQLite's WAL checksum: pairs of 32-bit words, each sum feeding the other (walChecksumBytes). */
function checksum(bigEndian: boolean, seed: [number, number], ...parts: Buffer[]): [number, number] {
  let s0 = seed[0]
  let s1 = seed[1]
  for (const part of parts) {
    for (let at = 0; at + 8 <= part.length; at += 8) {
      const x0 = bigEndian ? part.readUInt32BE(at) : part.readUInt32LE(at)
      const x1 = bigEndian ? part.readUInt32BE(at + 4) : part.readUInt32LE(at + 4)
      s0 = (s0 + x0 + s1) >>> 0
      s1 = (s1 + x1 + s0) >>> 0
    }
  }
  return [s0, s1]
}
