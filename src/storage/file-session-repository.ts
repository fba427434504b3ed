import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { setImmediate as yieldToEventLoop } from 'node:timers/promises'
import type { Message } from '../messages/message.ts'
import {
  DamagedRecordError,
  RecordNotFoundError,
  SessionConflictError,
  StorageError,
  UnsupportedSchemaVersionError,
} from '../session/session-errors.ts'
import { sessionPage } from '../session/session-list-page.ts'
import {
  type AgentRecord,
  type MessageRecord,
  SCHEMA_VERSION,
  type SessionRecord,
  updatedSessionRecord,
  validMessage,
  validSessionUpdate,
} from '../session/session-records.ts'
import type {
  AgentRef,
  AgentWrite,
  ListSessionsOptions,
  SessionPage,
  SessionRef,
  SessionRepository,
  SessionUpdate,
  UnreadableSession,
} from '../session/session-repository.ts'
import { defaultSessionsDirectory } from './default-sessions-directory.ts'
import { DurableFiles, type FileOperations, isErrno } from './durable-files.ts'
import { DATABASE_NAME, migrateLegacySession } from './file-session-migration.ts'
import { LegacyFileSessions } from './legacy-file-sessions.ts'
import type { SessionDatabase } from './session-database.ts'
import { SessionDatabasePool, withRetries } from './session-database-pool.ts'
import { encodeStorageName } from './storage-name.ts'

export interface FileSessionRepositoryOptions {
  /** Default: the per-user data directory + `tether/sessions` (see `defaultSessionsDirectory`). */
  directory?: string
  /**
   * For fault-injection tests only; left out of the published typings (`stripInternal`), which
   * would otherwise need `@types/node` in every consumer project.
   * @internal
   */
  fileOperations?: FileOperations
}

const DEFAULT_PAGE = 100
/** Messages read per query: a long history is read in bounded pieces, yielding between them. */
const READ_BATCH = 500
/** Format 1 message files read at once: bounded descriptors. */
const LEGACY_BATCH = 64

/**
 * Sessions as files on one device, one SQLite database per session (docs/storage-format.md):
 *
 *   <directory>/<session>/session.db                       format 2: every record, sealed
 *   <directory>/<session>/session.db-wal, session.db-shm   SQLite's write-ahead log, while in use
 *   <directory>/<session>/agents/<agent>/quarantine/…      damaged bytes kept aside
 *
 * An append is one SQLite transaction: one WAL write and one fsync. Sessions still in format 1
 * (a JSON file per record) are read as they are and migrated to format 2 by their first write, or
 * by `tether sessions migrate`. `<session>` and `<agent>` are `encodeStorageName` of the IDs, so no
 * ID can point outside `directory`.
 */
export class FileSessionRepository implements SessionRepository {
  readonly directory: string
  readonly #files: DurableFiles
  readonly #pool = new SessionDatabasePool()
  readonly #legacy = new LegacyFileSessions()

  constructor(options: FileSessionRepositoryOptions = {}) {
    this.directory = options.directory ?? defaultSessionsDirectory()
    this.#files = new DurableFiles(options.fileOperations)
  }

  // Sessions

  async createSession({ sessionId }: SessionRef): Promise<SessionRecord> {
    const existing = await this.readSession({ sessionId })
    if (existing) return existing
    const database = await this.#writable(sessionId)
    return this.#run('create session', database.path, () => database.readSession() as SessionRecord)
  }

  async readSession({ sessionId }: SessionRef): Promise<SessionRecord | null> {
    return this.#route(
      sessionId,
      'read session',
      (database) => database.readSession(),
      (dir) => this.#legacy.readSession(dir),
    )
  }

  /** Sets or clears (null) the title and app metadata; absent fields stay. Throws for an absent session. */
  async updateSession(input: SessionUpdate): Promise<SessionRecord> {
    // Checked before anything is opened or migrated: a bad title or metadata writes nothing.
    validSessionUpdate(input)
    if (!(await this.readSession(input))) {
      throw new RecordNotFoundError(join(this.#sessionDir(input.sessionId), DATABASE_NAME))
    }
    const database = await this.#writable(input.sessionId)
    return this.#run('update session', database.path, () =>
      database.updateSession((current) => updatedSessionRecord(current, input, now())),
    )
  }

  /**
   * Most recently updated first (`updatedAt`, else `createdAt`), paged by an opaque cursor. Reads
   * every session's record to order them, so a page costs one read per session in the store.
   * Unreadable records are reported with the first page.
   */
  async listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    const names = await this.#run('list', this.directory, async () => {
      try {
        return (await fs.readdir(this.directory)).filter((name) => !name.startsWith('.'))
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return []
        throw error
      }
    })
    const records: SessionRecord[] = []
    const unreadable: UnreadableSession[] = []
    for (const name of names) {
      const location = join(this.directory, name)
      try {
        const record = await this.#readSessionAt(location)
        // A directory with no record is a creation cut short by a crash: not a session yet.
        if (record) records.push(record)
      } catch (error) {
        if (!(error instanceof DamagedRecordError || error instanceof UnsupportedSchemaVersionError))
          throw error
        unreadable.push({ location: error.location, reason: error.message })
      }
    }
    const page = sessionPage(records, options, DEFAULT_PAGE)
    return { ...page, ...(unreadable.length > 0 && options.cursor === undefined ? { unreadable } : {}) }
  }

  async deleteSession({ sessionId }: SessionRef): Promise<void> {
    const dir = this.#sessionDir(sessionId)
    const name = encodeStorageName(sessionId, 'session ID')
    const doomed = join(this.directory, `.deleted-${name}-${process.pid}-${Date.now()}`)
    await this.#run('delete session', dir, async () => {
      try {
        // Rename first: the session disappears at once and whole, so a crash mid-delete never
        // leaves a half-deleted session that looks valid; the dot name hides the leftovers.
        // Other processes' open connections notice at their next use (the path is gone).
        await this.#files.ops.rename(dir, doomed)
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return
        throw error
      }
      this.#pool.forget(dir)
      await this.#files.syncDirectory(this.directory)
      await fs.rm(doomed, { recursive: true, force: true })
    })
  }

  /** Moves a session in format 1 to format 2 now (`tether sessions migrate`); safe to repeat. */
  async migrateSession({ sessionId }: SessionRef): Promise<'migrated' | 'already' | 'nothing'> {
    const dir = this.#sessionDir(sessionId)
    return this.#run('migrate', dir, () => migrateLegacySession(dir, this.#files, { sessionId }))
  }

  /**
   * Keeps a damaged session record's bytes aside (`<session>/quarantine/session-record-<ms>.damaged`)
   * and writes a new one (creation time: now), leaving agents and messages as they are. When only
   * the agent roster beside it is damaged, the record is kept and the roster's bytes go aside
   * (`agent-roster-<ms>.damaged`); either way the roster is rebuilt from the agent and message
   * rows. A readable record is left alone. For `tether sessions repair`; a format 1 session is migrated first, its
   * damaged `session.json` carried over as it is.
   */
  async recoverSessionRecord({ sessionId }: SessionRef): Promise<{ record: SessionRecord; keptAs?: string }> {
    const dir = this.#sessionDir(sessionId)
    const path = join(dir, DATABASE_NAME)
    const database = await this.#run('open', path, async () => {
      await migrateLegacySession(dir, this.#files, { sessionId })
      return this.#pool.get(path)
    })
    if (!database) throw new RecordNotFoundError(path)
    try {
      const record = await this.#run('read session', path, () => database.readSession())
      if (record) return { record }
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
    }
    // Only the roster damaged: the record (title, metadata, creation time) is kept, the roster's
    // bytes go aside. Otherwise the record's bytes go aside and both are rebuilt.
    const intact = await this.#run('read session', path, async () => database.intactSessionRecord())
    const bytes = await this.#run('read', path, async () =>
      intact ? database.rosterBytes() : database.sessionBytes(),
    )
    const quarantine = join(dir, 'quarantine')
    const keptAs = join(quarantine, `${intact ? 'agent-roster' : 'session-record'}-${Date.now()}.damaged`)
    await this.#run('keep aside', keptAs, async () => {
      await this.#files.ensureDirectory(quarantine)
      await this.#files.writeReplacing(keptAs, bytes ?? new Uint8Array())
    })
    const time = now()
    await this.#run('rebuild the session record of', path, () =>
      database.rebuildSession(
        intact ?? { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: time, updatedAt: time },
      ),
    )
    return { record: (await this.readSession({ sessionId })) as SessionRecord, keptAs }
  }

  /** Closes this handle's open database connections (they are reopened on next use). */
  close(): void {
    this.#pool.closeAll()
  }

  // Agents

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const database = await this.#writable(write.sessionId, write.agentId)
    let stateReplaced = false
    const build = (previous: AgentRecord | null): AgentRecord => {
      stateReplaced = previous !== null && JSON.stringify(previous.state) !== JSON.stringify(write.state)
      return {
        schemaVersion: SCHEMA_VERSION,
        sessionId: write.sessionId,
        agentId: write.agentId,
        revision: (previous?.revision ?? -1) + 1,
        state: write.state,
        conversationManagerState: write.conversationManagerState,
        windowStart: write.windowStart,
        updatedAt: now(),
      }
    }
    try {
      const record = await this.#run('write agent', database.path, () =>
        database.writeAgent(write.agentId, build),
      )
      // Replaced agent state (the app's data; e.g. plaintext sealed by encryptSession) must not stay
      // in the database file's old page or the WAL, as for updateMessage. A write that only moves the
      // window (most turns) keeps the same state and costs no checkpoint.
      if (stateReplaced) await this.#checkpoint(database)
      return record
    } catch (error) {
      // Replacing a damaged agent record (a restore reset it): its bytes are kept aside first, as a
      // damaged message's are. A record from a newer format is never replaced.
      if (!(error instanceof DamagedRecordError)) throw error
      const bytes = await this.#run('read', database.path, () => database.agentBytes(write.agentId))
      await this.#keepAside(write, 'agent-record', bytes)
      return this.#run('write agent', database.path, () => database.replaceAgent(build(null)))
    }
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    return this.#route(
      ref.sessionId,
      'read agent',
      (database) => database.readAgent(ref.agentId),
      (dir) => this.#legacy.readAgent(this.#agentDirIn(dir, ref.agentId)),
    )
  }

  async listAgents({ sessionId }: SessionRef): Promise<AgentRecord[]> {
    return this.#route(
      sessionId,
      'list agents in',
      (database) => database.listAgents(),
      async (dir) => {
        const records: AgentRecord[] = []
        for (const name of await this.#legacy.agentNames(dir)) {
          const record = await this.#legacy.readAgent(join(dir, 'agents', name))
          if (record) records.push(record)
        }
        return records
      },
    )
  }

  // Messages

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message to append')
    const database = await this.#writable(input.sessionId, input.agentId)
    const record = await this.#run('append a message to', database.path, () =>
      database.append(input.agentId, input.expectedIndex, (index) => {
        const time = now()
        return {
          schemaVersion: SCHEMA_VERSION,
          sessionId: input.sessionId,
          agentId: input.agentId,
          index,
          revision: 0,
          message,
          createdAt: time,
          updatedAt: time,
        }
      }),
    )
    if (record === null) {
      throw new SessionConflictError(input.sessionId, input.agentId, input.expectedIndex ?? -1)
    }
    return record
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    const offset = input.offset ?? 0
    return this.#route(
      input.sessionId,
      'read messages in',
      async (database) => {
        const count = await this.#run('count messages in', database.path, () => database.count(input.agentId))
        const end = input.limit === undefined ? count : Math.min(count, offset + input.limit)
        const records: MessageRecord[] = []
        // Bounded pieces, each its own query; records below the count never move, so the pieces
        // join into one consistent history even while other processes append.
        for (let from = offset; from < end; from += READ_BATCH) {
          const to = Math.min(end, from + READ_BATCH)
          records.push(
            ...(await this.#run('read', database.path, () => database.readBatch(input.agentId, from, to))),
          )
          if (to < end) await yieldToEventLoop()
        }
        return records
      },
      async (dir) => {
        const agentDir = this.#agentDirIn(dir, input.agentId)
        const count = await this.#legacy.countMessages(agentDir)
        const end = input.limit === undefined ? count : Math.min(count, offset + input.limit)
        const records: MessageRecord[] = []
        for (let from = offset; from < end; from += LEGACY_BATCH) {
          const indexes = Array.from({ length: Math.min(LEGACY_BATCH, end - from) }, (_, i) => from + i)
          records.push(
            ...(await Promise.all(indexes.map((index) => this.#legacy.readMessage(agentDir, index)))),
          )
        }
        return records
      },
    )
  }

  async countMessages(ref: AgentRef): Promise<number> {
    return this.#route(
      ref.sessionId,
      'count messages in',
      (database) => database.count(ref.agentId),
      (dir) => this.#legacy.countMessages(this.#agentDirIn(dir, ref.agentId)),
    )
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message update')
    if (!(await this.readSession(input))) throw new RecordNotFoundError(this.#messageLocation(input))
    const database = await this.#writable(input.sessionId, input.agentId)
    const current = await this.#run('read', database.path, () =>
      database.readMessage(input.agentId, input.index),
    )
    if (!current) throw new RecordNotFoundError(this.#messageLocation(input))
    const record: MessageRecord = { ...current, message, revision: current.revision + 1, updatedAt: now() }
    delete record.damaged
    await this.#run('update', database.path, () => database.replaceMessage(input.agentId, record))
    await this.#checkpoint(database)
    return record
  }

  async quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    const placeholder = validMessage(input.placeholder, 'placeholder message')
    const database = await this.#writable(input.sessionId, input.agentId)
    let reason: string
    try {
      const current = await this.#run('read', database.path, () =>
        database.readMessage(input.agentId, input.index),
      )
      if (current) return current
      reason = 'the record is missing'
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      reason = error.reason
    }
    const bytes = await this.#run('read', database.path, () =>
      database.messageBytes(input.agentId, input.index),
    )
    // Keep the damaged bytes first: a crash between the two steps leaves a copy and the damaged
    // record, and the next repair simply does it again.
    const keptAs = await this.#keepAside(input, `message-${String(input.index).padStart(12, '0')}`, bytes)
    const time = now()
    const record: MessageRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: input.sessionId,
      agentId: input.agentId,
      index: input.index,
      revision: 1,
      message: placeholder,
      createdAt: time,
      updatedAt: time,
      damaged: { reason, keptAs },
    }
    const replaced = await this.#run('quarantine', database.path, () =>
      database.replaceMessage(input.agentId, record),
    )
    if (!replaced) throw new RecordNotFoundError(this.#messageLocation(input))
    return record
  }

  // Internals

  /**
   * The session's format 2 database, created (or migrated from format 1) if needed. Creating the
   * file is the only step of a session's life that fsyncs a directory.
   */
  async #writable(sessionId: string, agentId?: string): Promise<SessionDatabase> {
    const dir = this.#sessionDir(sessionId)
    // Agent IDs are keys inside session.db, not folder names, but are held to the same rule: an
    // ID that is not well-formed Unicode would become another ID's UTF-8 and share its history.
    if (agentId !== undefined) encodeStorageName(agentId, 'agent ID')
    const path = join(dir, DATABASE_NAME)
    return this.#run('open', path, async () => {
      let database = await this.#pool.get(path)
      if (!database) {
        const migrated = await migrateLegacySession(dir, this.#files, {
          sessionId,
          ...(agentId ? { agentId } : {}),
        })
        if (migrated === 'nothing') await this.#createFile(dir, path)
        database = await this.#pool.get(path)
        if (!database) throw new StorageError('open', path)
      }
      const opened = database
      const time = now()
      await withRetries('create session', path, async () =>
        opened.initialize({ schemaVersion: SCHEMA_VERSION, sessionId, createdAt: time, updatedAt: time }),
      )
      return opened
    })
  }

  async #createFile(dir: string, path: string): Promise<void> {
    await this.#files.ensureDirectory(dir)
    try {
      // Ours first, mode 0600: SQLite gives its -wal and -shm files the database file's mode.
      await (await this.#files.ops.open(path, 'wx', 0o600)).close()
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return // another process created it: both use that one
      throw error
    }
    // The new name must survive a power loss before anything is acknowledged inside it.
    await this.#files.syncDirectory(dir)
  }

  /**
   * Runs `fromDatabase` on a format 2 session, or `fromLegacy` on a format 1 directory. If the
   * session was migrated while the format 1 read ran (its files vanish at the end of a migration),
   * the read is done again from the database, so a reader never mistakes a migration for loss.
   */
  async #route<T>(
    sessionId: string,
    operation: string,
    fromDatabase: (database: SessionDatabase) => T | Promise<T>,
    fromLegacy: (dir: string) => Promise<T>,
  ): Promise<T> {
    const dir = this.#sessionDir(sessionId)
    const path = join(dir, DATABASE_NAME)
    const viaDatabase = async (): Promise<T | undefined> => {
      const database = await this.#pool.get(path)
      return database ? this.#run(operation, path, async () => fromDatabase(database)) : undefined
    }
    const first = await this.#run(operation, path, viaDatabase)
    if (first !== undefined) return first
    let legacy: { value: T } | { error: unknown }
    try {
      legacy = { value: await fromLegacy(dir) }
    } catch (error) {
      legacy = { error }
    }
    const again = await this.#run(operation, path, viaDatabase)
    if (again !== undefined) return again
    if ('error' in legacy) throw legacy.error
    return legacy.value
  }

  async #readSessionAt(dir: string): Promise<SessionRecord | null> {
    const path = join(dir, DATABASE_NAME)
    const database = await this.#run('read session', path, () => this.#pool.get(path))
    if (database) return this.#run('read session', path, async () => database.readSession())
    return this.#legacy.readSession(dir)
  }

  /** Copies damaged bytes into the agent's quarantine folder, durably; returns the copy's path. */
  async #keepAside(ref: AgentRef, name: string, bytes: Uint8Array | null): Promise<string> {
    const dir = join(this.#agentDirIn(this.#sessionDir(ref.sessionId), ref.agentId), 'quarantine')
    const keptAs = join(dir, `${name}-${Date.now()}.damaged`)
    await this.#run('keep aside', keptAs, async () => {
      await this.#files.ensureDirectory(dir)
      await this.#files.writeReplacing(keptAs, bytes ?? new Uint8Array())
    })
    return keptAs
  }

  /** After a replacement: the old bytes must not stay in the WAL. Retries while readers hold it. */
  async #checkpoint(database: SessionDatabase): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      if (await this.#run('checkpoint', database.path, async () => database.checkpoint())) return
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    throw new StorageError(
      'remove the replaced record from the write-ahead log of',
      `${database.path} (other processes kept reading it; the update is stored, and the next checkpoint removes the old bytes)`,
    )
  }

  #run<T>(operation: string, location: string, work: () => T | Promise<T>): Promise<T> {
    return withRetries(operation, location, async () => work())
  }

  #messageLocation(input: AgentRef & { index: number }): string {
    return `${join(this.#sessionDir(input.sessionId), DATABASE_NAME)} (agent ${JSON.stringify(input.agentId)}, message ${input.index})`
  }

  #sessionDir(sessionId: string): string {
    return join(this.directory, encodeStorageName(sessionId, 'session ID'))
  }

  #agentDirIn(sessionDir: string, agentId: string): string {
    return join(sessionDir, 'agents', encodeStorageName(agentId, 'agent ID'))
  }
}

function now(): string {
  return new Date().toISOString()
}
