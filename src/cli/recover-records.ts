import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { DamagedRecordError, UnsupportedSchemaVersionError } from '../session/session-errors.ts'
import { canRecoverSessionRecord } from '../session/session-record-recovery.ts'
import type { SessionRecord } from '../session/session-records.ts'
import { SCHEMA_VERSION } from '../session/session-records.ts'
import { RecoveryError } from './cli-errors.ts'
import { agentIdFromLocation, decodeStorageName } from './decode-storage-name.ts'
import type { OpenStore } from './store.ts'

/** A session or agent record a repair kept aside and rebuilt (or would, in a dry run). */
export interface RecordRepair {
  record: 'session' | 'agent'
  agentId?: string
  detail: string
  written: boolean
}

/** The session record, or why it cannot be read: a damaged or newer record is not "no session". */
export async function readSessionTolerant(
  store: OpenStore,
  sessionId: string,
): Promise<{ record: SessionRecord | null; problem?: DamagedRecordError | UnsupportedSchemaVersionError }> {
  try {
    return { record: await store.repository.readSession({ sessionId }) }
  } catch (error) {
    if (error instanceof DamagedRecordError || error instanceof UnsupportedSchemaVersionError) {
      return { record: null, problem: error }
    }
    throw error
  }
}

/** Whether anything is stored under the session ID without a session record (leftovers). */
export async function hasLeftovers(store: OpenStore, sessionId: string): Promise<boolean> {
  try {
    return (await store.repository.listAgents({ sessionId })).length > 0
  } catch (error) {
    if (error instanceof DamagedRecordError) return true
    throw error
  }
}

/**
 * A session record stands in for one whose bytes are damaged: the ID is known from where the
 * record lives, the creation time is not (it becomes now). Used by copy, which reads, never writes.
 */
export function standInRecord(sessionId: string): SessionRecord {
  return { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: new Date().toISOString() }
}

/**
 * Keeps a damaged session record aside and writes a new one (file stores:
 * `FileSessionRepository.recoverSessionRecord`, which copies the record's bytes to
 * `<session>/quarantine/session-record-<ms>.damaged` and rebuilds the record and the agent roster
 * in one transaction). The session's agents and messages are untouched: the record lives in the
 * same `session.db` as every message, so the file is never moved aside whole.
 */
export async function rebuildSessionRecord(
  store: OpenStore,
  sessionId: string,
  damaged: DamagedRecordError,
): Promise<RecordRepair> {
  // The store's own repository, under any encryption layer: a rebuilt record has no title or
  // metadata, so there is nothing to seal, and an encrypted store reads it as it is.
  const base = store.base
  if (!canRecoverSessionRecord(base)) {
    throw new RecoveryError(
      `${damaged.message} This store cannot rebuild it: copy ${damaged.location} aside, delete that object, then run \`tether sessions repair ${sessionId}\` again.`,
    )
  }
  const { keptAs } = await base.recoverSessionRecord({ sessionId })
  return {
    record: 'session',
    detail:
      keptAs === undefined
        ? `${damaged.reason}; it reads intact now, nothing was replaced`
        : `${damaged.reason}; the damaged bytes were kept at ${keptAs}`,
    written: keptAs !== undefined,
  }
}

/**
 * Resets every damaged agent record of the session (state emptied, window from message 0, as a
 * restore does); the repository keeps the damaged bytes aside when it replaces the record. The
 * agent ID comes from where the record lives. In a dry run, reports the first one only (the
 * listing cannot go past it without writing).
 */
export async function resetDamagedAgents(
  store: OpenStore,
  sessionId: string,
  dryRun: boolean,
): Promise<RecordRepair[]> {
  const repairs: RecordRepair[] = []
  for (;;) {
    try {
      await store.repository.listAgents({ sessionId })
      return repairs
    } catch (error) {
      if (!(error instanceof DamagedRecordError) || error.kind !== 'agent') throw error
      const agentId = agentIdFromLocation(error.location)
      if (agentId === undefined || repairs.some((repair) => repair.agentId === agentId)) {
        throw new RecoveryError(
          `${error.message} Its agent ID cannot be told from ${error.location}: move that record aside by hand, then repair again.`,
        )
      }
      const detail = `${error.reason} at ${error.location}; agent state reset, window from message 0`
      repairs.push({ record: 'agent', agentId, detail, written: !dryRun })
      if (dryRun) return repairs
      await store.repository.writeAgent({
        sessionId,
        agentId,
        state: {},
        conversationManagerState: null,
        windowStart: 0,
      })
    }
  }
}

/**
 * Folders of a file store that hold records but no session record (a creation cut short, or a
 * delete that raced a writer), and the previous copy of a session whose `--replace` was cut
 * between its two renames. `verify` reports them, each with what to do. (An S3
 * store reports what its listing shows; see docs/cli.md.)
 */
export async function findLeftoverSessions(
  store: OpenStore,
): Promise<{ sessionId: string; location: string; problem: string }[]> {
  if (store.spec.kind !== 'file') return []
  const directory = store.spec.directory
  const found: { sessionId: string; location: string; problem: string }[] = []
  const entries = await readdir(directory, { withFileTypes: true })
  const names = new Set(entries.map((entry) => entry.name))
  for (const entry of entries) {
    // A `--replace` cut between its two renames: the previous copy waits under a hidden name.
    const replaced = /^\.replaced-(.+)-\d+-\d+$/.exec(entry.name)?.[1]
    if (entry.isDirectory() && replaced !== undefined && !names.has(replaced)) {
      const location = join(directory, entry.name)
      found.push({
        sessionId: decodeStorageName(replaced) ?? replaced,
        location,
        problem: `a --replace was interrupted; the previous copy is at ${location}: mv it to ${join(directory, replaced)}`,
      })
    }
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue
    const location = join(directory, entry.name)
    const inside = await readdir(location)
    // session.db: file format 2; session.json: a session still in format 1 (read as it is).
    if (inside.includes('session.db') || inside.includes('session.json') || inside.length === 0) continue
    found.push({
      sessionId: decodeStorageName(entry.name) ?? location,
      location,
      problem: `records without a session record at ${location}: \`tether sessions delete ID --force\` removes them, \`tether sessions repair ID\` makes them a session again`,
    })
  }
  return found
}
