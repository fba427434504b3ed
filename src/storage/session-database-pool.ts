import { statSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { TetherError } from '../errors/tether-error.ts'
import { DamagedRecordError, StorageError } from '../session/session-errors.ts'
import { isErrno } from './durable-files.ts'
import { openSessionDatabase } from './open-session-database.ts'
import type { SessionDatabase } from './session-database.ts'
import { checkWriteAheadLog } from './write-ahead-log-check.ts'

/** Open connections kept per repository: each holds three descriptors (database, WAL, shared memory). */
const MAX_OPEN = 16
/** How long a writer waits for another connection's write lock before giving up. */
const BUSY_DEADLINE_MS = 30_000

interface Open {
  database: SessionDatabase
  dev: number
  ino: number
}

/**
 * Open session databases, least recently used closed first, so descriptors stay bounded however
 * many sessions a process touches. No cache outlives the truth: every use first `stat`s the path,
 * and a connection whose file was deleted or replaced (another process deleted the session, or
 * migrated it) is closed and never used again.
 */
export class SessionDatabasePool {
  readonly #open = new Map<string, Open>()
  /** Lookups in progress by path: calls that arrive meanwhile share one, so one connection opens. */
  readonly #pending = new Map<string, Promise<SessionDatabase | null>>()

  /**
   * The database at `path`, or null when no file is there. Concurrent calls for one path (a
   * restore reads the session, the agent record and the count together) share one lookup: each
   * opening its own connection would leave all but the last one cached open for good.
   */
  get(path: string): Promise<SessionDatabase | null> {
    const pending = this.#pending.get(path)
    if (pending) return pending
    const lookup = this.#lookup(path).finally(() => this.#pending.delete(path))
    this.#pending.set(path, lookup)
    return lookup
  }

  async #lookup(path: string): Promise<SessionDatabase | null> {
    const stat = statOrNull(path)
    const cached = this.#open.get(path)
    if (cached) {
      this.#open.delete(path)
      if (stat && cached.dev === stat.dev && cached.ino === stat.ino) {
        this.#open.set(path, cached) // most recently used last
        return cached.database
      }
      cached.database.close()
    }
    if (!stat) return null
    // Before SQLite's recovery reads the WAL and drops whatever follows a damaged frame.
    await checkWriteAheadLogSteadily(path)
    let database: SessionDatabase
    try {
      database = await openSessionDatabase(path)
    } catch (error) {
      // Deleted (its directory renamed away) between the stat and the open: absent, not a failure.
      if (sqliteCode(error) === SQLITE_CANTOPEN && !statOrNull(path)) return null
      throw error
    }
    // The file may have been swapped between the stat and the open; then the next use reopens.
    this.#open.set(path, { database, dev: stat.dev, ino: stat.ino })
    for (const [key, open] of this.#open) {
      if (this.#open.size <= MAX_OPEN) break
      open.database.close()
      this.#open.delete(key)
    }
    return database
  }

  /** Closes the connections to databases under `prefix` (a session directory being deleted). */
  forget(prefix: string): void {
    for (const [key, open] of this.#open) {
      if (!key.startsWith(prefix)) continue
      open.database.close()
      this.#open.delete(key)
    }
  }

  closeAll(): void {
    this.forget('')
  }
}

/**
 * Runs `work`, retrying after a short asynchronous pause while another connection holds the lock
 * (SQLITE_BUSY), and turns failures into typed errors: a damaged database file is a
 * DamagedRecordError naming it, any other failure a StorageError with the cause.
 */
export async function withRetries<T>(
  operation: string,
  location: string,
  work: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + BUSY_DEADLINE_MS
  for (let attempt = 0; ; attempt++) {
    try {
      return await work()
    } catch (error) {
      if (TetherError.isInstance(error)) throw error
      const code = sqliteCode(error)
      if ((code === SQLITE_BUSY || code === SQLITE_LOCKED) && Date.now() < deadline) {
        // Jittered, growing pauses: two writers that collided do not collide again in lockstep.
        await sleep(Math.random() * Math.min(20, 2 ** Math.min(attempt, 5)))
        continue
      }
      if (code === SQLITE_CORRUPT || code === SQLITE_NOTADB) {
        const reason = `the database file is damaged (${(error as Error).message})`
        throw new DamagedRecordError(location, reason, undefined, { cause: error })
      }
      throw new StorageError(operation, location, { cause: error })
    }
  }
}

/**
 * The WAL check reads a file other processes may be writing: a frame caught half rewritten can look
 * damaged for a moment. Damage that is still there after a few short pauses is real.
 */
async function checkWriteAheadLogSteadily(path: string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await checkWriteAheadLog(`${path}-wal`, path)
    } catch (error) {
      if (attempt >= 3 || !(error instanceof DamagedRecordError)) throw error
      await sleep(5 * 2 ** attempt)
    }
  }
}

const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
const SQLITE_CORRUPT = 11
const SQLITE_NOTADB = 26
const SQLITE_CANTOPEN = 14

/** The primary result code of a node:sqlite error (extended codes keep it in the low byte). */
function sqliteCode(error: unknown): number | undefined {
  const errcode = (error as { errcode?: unknown } | null)?.errcode
  return typeof errcode === 'number' ? errcode & 0xff : undefined
}

/**
 * Synchronous on purpose: one stat is a few microseconds, while an asynchronous one costs a
 * round trip through libuv's thread pool on every operation (measured: a third of an append).
 */
function statOrNull(path: string): { dev: number; ino: number } | null {
  try {
    return statSync(path, { throwIfNoEntry: false }) ?? null
  } catch (error) {
    if (isErrno(error, 'ENOTDIR')) return null
    throw error
  }
}
