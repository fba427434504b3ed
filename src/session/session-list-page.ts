import { ConfigurationError } from '../errors/configuration-error.ts'
import { lastActivity, newestFirst, type SessionRecord } from './session-records.ts'
import type { ListSessionsOptions } from './session-repository.ts'

/**
 * One page of `records` in listing order (newest first). The cursor names the last session
 * returned by its activity time and ID, so the next page starts right after it even when sessions
 * were added meanwhile; it is opaque to callers.
 */
export function sessionPage(
  records: SessionRecord[],
  options: ListSessionsOptions,
  defaultLimit: number,
): { sessions: SessionRecord[]; nextCursor?: string } {
  const limit = pageLimit(options, defaultLimit)
  const sorted = [...records].sort(newestFirst)
  const after = options.cursor === undefined ? undefined : afterCursor(options.cursor)
  const remaining = after === undefined ? sorted : sorted.filter((record) => newestFirst(after, record) < 0)
  const sessions = remaining.slice(0, limit)
  const last = sessions.at(-1)
  if (remaining.length <= limit || last === undefined) return { sessions }
  return { sessions, nextCursor: encodeListCursor(lastActivity(last), last.sessionId) }
}

/** The page size a caller asked for (else `defaultLimit`), checked. */
export function pageLimit(options: ListSessionsOptions, defaultLimit: number): number {
  const limit = options.limit ?? defaultLimit
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ConfigurationError(`limit must be a positive integer, not ${limit}.`)
  }
  return limit
}

/** A cursor naming a page's last session: its activity time and its key (ID, or S3 folder name). */
export function encodeListCursor(activity: string, key: string): string {
  return JSON.stringify([activity, key])
}

export function decodeListCursor(cursor: string): { activity: string; key: string } {
  const invalid = (cause?: unknown) =>
    new ConfigurationError(
      `The session list cursor ${JSON.stringify(cursor.slice(0, 60))} is not one this repository returned; pass a nextCursor back unchanged.`,
      cause === undefined ? undefined : { cause },
    )
  let parsed: unknown
  try {
    parsed = JSON.parse(cursor)
  } catch (error) {
    throw invalid(error)
  }
  const [activity, key] = Array.isArray(parsed) ? parsed : []
  if (typeof activity !== 'string' || typeof key !== 'string') throw invalid()
  return { activity, key }
}

function afterCursor(cursor: string): SessionRecord {
  const { activity, key } = decodeListCursor(cursor)
  return { schemaVersion: 1, sessionId: key, createdAt: activity, updatedAt: activity }
}
