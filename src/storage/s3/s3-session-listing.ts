import { DamagedRecordError, UnsupportedSchemaVersionError } from '../../session/session-errors.ts'
import { decodeListCursor, encodeListCursor, pageLimit } from '../../session/session-list-page.ts'
import { lastActivity, type SessionRecord } from '../../session/session-records.ts'
import type { ListSessionsOptions, SessionPage, UnreadableSession } from '../../session/session-repository.ts'
import { inGroups } from './s3-in-groups.ts'
import type { S3ObjectStore } from './s3-object-store.ts'
import type { S3SessionActivity } from './s3-session-activity.ts'

const MAX_PAGE = 1000
/** Session records read at once. */
const READ_CONCURRENCY = 16

export interface ListingSources {
  store: S3ObjectStore
  /** `<prefix>sessions/` */
  sessionsRoot: string
  activity: S3SessionActivity
  /** GET and parse a session record (null if absent; damage thrown as DamagedRecordError). */
  readSessionRecord(key: string): Promise<SessionRecord | null>
}

/** A session folder in listing order: its last activity (ISO) and name. */
interface Listed {
  name: string
  at: string
}

interface SessionRead {
  record: SessionRecord | null
  unreadable?: UnreadableSession
}

/**
 * `listSessions` on S3, most recently active first: one LIST of session folders and one of
 * `activity/` per 1,000 sessions, then the records of the page only (a GET each). A session never
 * marked active (written before 0.2) is ordered by its record's time, read for that. The order is
 * the store's clock, to the second; ties go by folder name.
 */
export async function listSessionsByActivity(
  sources: ListingSources,
  options: ListSessionsOptions,
  defaultLimit: number,
): Promise<SessionPage> {
  const limit = pageLimit(options, defaultLimit)
  const after = options.cursor === undefined ? undefined : afterCursor(options.cursor)
  const [names, activity] = await Promise.all([sessionNames(sources), sources.activity.all()])
  const reads = new Map<string, Promise<SessionRead>>()
  const read = (name: string) => {
    let pending = reads.get(name)
    if (pending === undefined) {
      pending = readListed(sources, name)
      reads.set(name, pending)
    }
    return pending
  }
  await inGroups(
    names.filter((name) => !activity.has(name)),
    READ_CONCURRENCY,
    (name) => read(name),
  )
  const ordered: Listed[] = []
  for (const name of names) {
    const marked = activity.get(name)
    const record = marked === undefined ? (await read(name)).record : null
    ordered.push({ name, at: (marked ?? new Date(record ? lastActivity(record) : 0)).toISOString() })
  }
  ordered.sort(newestFirst)
  const remaining = after === undefined ? ordered : ordered.filter((entry) => newestFirst(after, entry) < 0)
  const page = remaining.slice(0, Math.min(limit, MAX_PAGE))
  const results = await inGroups(page, READ_CONCURRENCY, (entry) => read(entry.name))
  const sessions: SessionRecord[] = []
  const unreadable: UnreadableSession[] = []
  for (const [i, result] of results.entries()) {
    if (result.unreadable) unreadable.push(result.unreadable)
    if (result.record) sessions.push(withActivity(result.record, activity.get(page[i]?.name ?? '') ?? null))
  }
  const last = page.at(-1)
  return {
    sessions,
    ...(remaining.length > page.length && last !== undefined
      ? { nextCursor: encodeListCursor(last.at, last.name) }
      : {}),
    ...(unreadable.length > 0 ? { unreadable } : {}),
  }
}

/**
 * How much later than the record's own time a marker must be to count as later activity. The
 * record's own write marks the session too (in parallel), and the store stamps that marker to
 * the whole second by its own clock, a few ms after the client read its clock: when a second
 * boundary falls between the two, the marker reads later than the record although nothing else
 * happened (a contract test saw it: `updatedAt` set on a session only just created).
 */
const MARKER_RESOLUTION_MS = 1_000

/** The record with `updatedAt` moved to the session's last activity when that is later. */
export function withActivity(record: SessionRecord, activeAt: Date | null): SessionRecord {
  if (activeAt === null) return record
  const own = Date.parse(lastActivity(record))
  return activeAt.getTime() > own + MARKER_RESOLUTION_MS
    ? { ...record, updatedAt: activeAt.toISOString() }
    : record
}

/** Every session folder's name: one LIST per 1,000 sessions. */
async function sessionNames({ store, sessionsRoot: root }: ListingSources): Promise<string[]> {
  const names: string[] = []
  let startAfter: string | undefined
  for (;;) {
    const page = await store.list(root, {
      delimiter: '/',
      ...(startAfter === undefined ? {} : { startAfter }),
    })
    names.push(...page.folders.map((folder) => folder.slice(root.length, -1)))
    const last = names.at(-1)
    if (!page.truncated || last === undefined) return names
    // After `<name>0`: past every key of that folder ('/' sorts just before '0').
    startAfter = `${root}${last}0`
  }
}

/** A listed session's record, or why it is not listed. */
async function readListed(sources: ListingSources, name: string): Promise<SessionRead> {
  const key = `${sources.sessionsRoot}${name}/session.json`
  const location = sources.store.where(key)
  try {
    const record = await sources.readSessionRecord(key)
    if (record !== null) return { record }
    // Objects under a session folder without its record: what a delete racing a writer leaves
    // behind. Reported, so list and verify show it and `delete` can remove it.
    return {
      record: null,
      unreadable: {
        location,
        reason: `No session record, but objects are stored under "${name}" (left by a delete that raced a writer); \`tether sessions delete\` with the session ID removes them.`,
      },
    }
  } catch (error) {
    // Reported, not thrown: one damaged session record must not hide the others.
    if (!(error instanceof DamagedRecordError || error instanceof UnsupportedSchemaVersionError)) throw error
    return { record: null, unreadable: { location, reason: error.message } }
  }
}

const newestFirst = (a: Listed, b: Listed): number =>
  a.at === b.at ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.at > b.at ? -1 : 1

function afterCursor(cursor: string): Listed {
  const { activity, key } = decodeListCursor(cursor)
  return { at: activity, name: key }
}
