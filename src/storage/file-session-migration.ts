import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { DamagedRecordError } from '../session/session-errors.ts'
import type { DurableFiles } from './durable-files.ts'
import { isErrno } from './durable-files.ts'
import { exists, LegacyFileSessions } from './legacy-file-sessions.ts'
import { openSessionDatabase } from './open-session-database.ts'
import { createdAtOf } from './sealed-row.ts'
import { encodeStorageName } from './storage-name.ts'

export const DATABASE_NAME = 'session.db'

/** What a migration found: a session directory in format 1, or already in format 2 / empty. */
export type MigrationResult = 'migrated' | 'already' | 'nothing'

/**
 * Moves one session from format 1 (a JSON file per record) into format 2 (`session.db`), crash-safe:
 *
 * 1. Build the whole database under a hidden temporary name, copying every record's bytes as they
 *    are (a damaged record stays damaged, to be kept aside by a repair: never guessed at), then
 *    close it and fsync it. A crash here leaves the format 1 files untouched and a dot-named leftover.
 * 2. `link` it to `session.db`: exclusive, so two processes migrating at once cannot both win (the
 *    loser drops its copy and uses the winner's); fsync the directory so the name survives a power loss.
 *    From this instant `session.db` is the truth and the format 1 files are ignored.
 * 3. Remove the format 1 records (not the quarantine folders). A crash here leaves leftovers that
 *    nothing reads; the next migration of this directory removes them.
 *
 * A writer still running an older tether-agents that appends format 1 files during step 1 would
 * not be carried over: stop old versions before migrating (docs/storage-format.md).
 * `hints` name the session and agent of the write that triggered the migration: the session for a
 * directory whose `session.json` was never written (a creation cut short), the agent for a
 * directory whose records are all too damaged to say which agent they belong to.
 */
export async function migrateLegacySession(
  sessionDir: string,
  files: DurableFiles,
  hints: { sessionId?: string; agentId?: string } = {},
): Promise<MigrationResult> {
  const target = join(sessionDir, DATABASE_NAME)
  if (await exists(target)) {
    await removeLegacyRecords(sessionDir)
    return 'already'
  }
  const legacy = new LegacyFileSessions()
  const sessionBytes = await legacy.recordBytes(join(sessionDir, 'session.json'))
  const agentNames = await legacy.agentNames(sessionDir)
  if (sessionBytes === null && agentNames.length === 0) return 'nothing'

  const temp = join(sessionDir, `.${DATABASE_NAME}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    // Created by us first, so its mode is 0600 and SQLite's -wal/-journal files copy that mode.
    await (await files.ops.open(temp, 'wx', 0o600)).close()
    const database = await openSessionDatabase(temp)
    try {
      await database.importing(async (put) => {
        const createdAt = put.session(sessionBytes ?? createdSessionBytes(sessionDir, hints.sessionId))
        for (const name of agentNames) {
          const agentDir = join(sessionDir, 'agents', name)
          const agentBytes = await legacy.recordBytes(join(agentDir, 'agent.json'))
          const count = await legacy.countMessages(agentDir)
          const agentId = await legacyAgentId(legacy, agentDir, name, agentBytes, count, hints.agentId)
          if (agentBytes !== null) put.agent(agentId, agentBytes)
          let lastTime = createdAt
          for (let index = 0; index < count; index++) {
            const bytes = await legacy.messageBytes(agentDir, index)
            put.message(agentId, index, bytes)
            if (index === count - 1) lastTime = createdAtOf(bytes) ?? createdAt
          }
          put.head(agentId, { count, updatedAt: lastTime }, agentBytes !== null)
        }
      })
    } finally {
      database.close()
    }
    const handle = await fs.open(temp, 'r+')
    try {
      // The copy must be on disk before the name `session.db` points at it.
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (!(await files.publishExclusive(temp, target))) return 'already'
    await removeLegacyRecords(sessionDir)
    return 'migrated'
  } finally {
    await files.removeQuietly(temp)
  }
}

/** Step 3: the format 1 records, once `session.db` is durable. Quarantine folders stay. */
async function removeLegacyRecords(sessionDir: string): Promise<void> {
  await fs.rm(join(sessionDir, 'session.json'), { force: true })
  const agents = join(sessionDir, 'agents')
  let names: string[]
  try {
    names = await fs.readdir(agents)
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return
    throw error
  }
  for (const name of names) {
    await fs.rm(join(agents, name, 'agent.json'), { force: true })
    await fs.rm(join(agents, name, 'messages'), { recursive: true, force: true })
    await removeIfEmpty(join(agents, name))
  }
  await removeIfEmpty(agents)
}

/** Folders left empty by the removal go too; one holding a quarantine stays. */
async function removeIfEmpty(dir: string): Promise<void> {
  try {
    await fs.rmdir(dir)
  } catch (error) {
    if (!isErrno(error, 'ENOTEMPTY') && !isErrno(error, 'EEXIST') && !isErrno(error, 'ENOENT')) throw error
  }
}

/** The agent ID a format 1 agent directory belongs to: from its records, or from the caller. */
async function legacyAgentId(
  legacy: LegacyFileSessions,
  agentDir: string,
  name: string,
  agentBytes: Buffer | null,
  count: number,
  hint: string | undefined,
): Promise<string> {
  const fromRecord = (bytes: Buffer | null): string | undefined => {
    try {
      const value: unknown = bytes === null ? undefined : JSON.parse(bytes.toString('utf8'))
      const agentId = (value as { agentId?: unknown } | undefined)?.agentId
      return typeof agentId === 'string' && encodeStorageName(agentId) === name ? agentId : undefined
    } catch {
      return undefined // A damaged record names no agent; the next source is tried.
    }
  }
  const found =
    fromRecord(agentBytes) ?? (count > 0 ? fromRecord(await legacy.messageBytes(agentDir, 0)) : undefined)
  if (found !== undefined) return found
  if (hint !== undefined && encodeStorageName(hint) === name) return hint
  throw new DamagedRecordError(
    agentDir,
    'no readable record says which agent this is, so it cannot be migrated',
  )
}

/** A session record for a format 1 directory that has agents but no `session.json`. */
function createdSessionBytes(sessionDir: string, sessionId: string | undefined): Buffer {
  if (sessionId === undefined) {
    throw new DamagedRecordError(join(sessionDir, 'session.json'), 'missing, and no session ID was given')
  }
  return Buffer.from(JSON.stringify({ schemaVersion: 1, sessionId, createdAt: new Date().toISOString() }))
}
