import { createHash } from 'node:crypto'
import type { SQLOutputValue } from 'node:sqlite'
import { DamagedRecordError } from '../session/session-errors.ts'

/**
 * Every row of a session database carries a SHA-256 over its kind, its key and its bytes. SQLite
 * keeps no checksum of its own pages, so a flipped bit inside a record would otherwise be read as
 * data; bound to the key, a record that appears under another key is damage too.
 */
export function seal(kind: string, key: string, bytes: Uint8Array): Buffer {
  return createHash('sha256').update(`${kind}\u0000${key}\u0000`).update(bytes).digest()
}

export function isSealed(kind: string, key: string, bytes: Uint8Array, checksum: Uint8Array): boolean {
  return seal(kind, key, bytes).equals(checksum)
}

/** Checks a row's seal; a mismatch (or a column of the wrong type) is a DamagedRecordError. */
export function unsealed(
  row: Record<string, SQLOutputValue>,
  kind: string,
  key: string,
  location: string,
  index?: number,
): Uint8Array {
  const bytes = row.record
  const checksum = row.checksum
  // Which record it is decides what a repair does: the roster is rebuilt with the session record.
  const options = {
    kind: kind === 'agent' ? 'agent' : kind === 'session' || kind === 'roster' ? 'session' : 'message',
  } as const
  if (!(bytes instanceof Uint8Array) || !(checksum instanceof Uint8Array)) {
    throw new DamagedRecordError(location, 'a column has the wrong type', index, options)
  }
  if (!isSealed(kind, key, bytes, checksum)) {
    throw new DamagedRecordError(location, 'checksum mismatch: the stored bytes changed', index, options)
  }
  return bytes
}

export function integer(row: Record<string, SQLOutputValue> | undefined, column: string): number | undefined {
  const value = row?.[column]
  return typeof value === 'number' && Number.isSafeInteger(value) ? value : undefined
}

export const utf8 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8')
export const encode = (value: unknown): Buffer => Buffer.from(JSON.stringify(value), 'utf8')

/** The `createdAt` of a stored record's bytes, or undefined when they are unreadable. */
export function createdAtOf(bytes: Uint8Array): string | undefined {
  try {
    const value = (JSON.parse(utf8(bytes)) as { createdAt?: unknown }).createdAt
    return typeof value === 'string' ? value : undefined
  } catch {
    return undefined // An unreadable record: the caller uses the current time.
  }
}
