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
  const limit = options.limit ?? defaultLimit
  if (!Number.isInteger(limit) || limit < 1) {
    throw new ConfigurationError(`limit must be a positive integer, not ${limit}.`)
  }
  const sorted = [...records].sort(newestFirst)
  const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor)
  const remaining = after === undefined ? sorted : sorted.filter((record) => newestFirst(after, record) < 0)
  const sessions = remaining.slice(0, limit)
  const last = sessions.at(-1)
  if (remaining.length <= limit || last === undefined) return { sessions }
  return { sessions, nextCursor: encodeCursor(last) }
}

function encodeCursor(record: SessionRecord): string {
  return JSON.stringify([lastActivity(record), record.sessionId])
}

function decodeCursor(cursor: string): SessionRecord {
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
  const [activity, sessionId] = Array.isArray(parsed) ? parsed : []
  if (typeof activity !== 'string' || typeof sessionId !== 'string') throw invalid()
  return { schemaVersion: 1, sessionId, createdAt: activity, updatedAt: activity }
}
