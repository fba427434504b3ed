import * as fs from 'node:fs/promises'
import { join } from 'node:path'
import { TetherError } from '../errors/tether-error.ts'
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
  agentRecordSchema,
  type MessageRecord,
  messageRecordSchema,
  parseRecord,
  SCHEMA_VERSION,
  type SessionRecord,
  sessionRecordSchema,
  updatedSessionRecord,
  validMessage,
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
import { findHead } from './find-head.ts'
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

const INDEX_DIGITS = 12
const DEFAULT_PAGE = 100
/**
 * How many message files a range read opens at once. Opening a whole range together ran out of
 * descriptors (EMFILE) on long sessions; batches keep a read of any length under this many.
 */
const READ_BATCH = 64

/**
 * Sessions as files on one device. Layout (docs/storage-format.md has the full story):
 *
 *   <directory>/<session>/session.json
 *   <directory>/<session>/agents/<agent>/agent.json
 *   <directory>/<session>/agents/<agent>/messages/000000000000.json   one file per message
 *   <directory>/<session>/agents/<agent>/quarantine/<index>-<time>.damaged
 *
 * `<session>` and `<agent>` are `encodeStorageName` of the IDs, so no ID can point outside
 * `directory`. A message file appears under its final name only once complete and fsynced
 * (exclusive `link`), so indexes have no gaps, a crash never leaves a torn record under a real
 * name, and two processes racing for one index cannot both win it.
 */
export class FileSessionRepository implements SessionRepository {
  readonly directory: string
  readonly #files: DurableFiles
  /** Lowest index known to be free per agent directory: where the next head search starts. */
  readonly #headHints = new Map<string, number>()
  readonly #knownDirectories = new Set<string>()

  constructor(options: FileSessionRepositoryOptions = {}) {
    this.directory = options.directory ?? defaultSessionsDirectory()
    this.#files = new DurableFiles(options.fileOperations)
  }

  // Sessions

  async createSession({ sessionId }: SessionRef): Promise<SessionRecord> {
    const dir = this.#sessionDir(sessionId)
    return this.#guard('create session', dir, async () => {
      const existing = await this.readSession({ sessionId })
      if (existing) return existing
      // Not from the cache: another process may have deleted the session since we made it.
      this.#forgetDirectories(dir)
      await this.#ensureDirectory(dir)
      const record: SessionRecord = { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }
      // Exclusive: when two processes create the same session at once, one record wins and both
      // return it, instead of the second silently replacing the first.
      if (await this.#files.writeExclusive(join(dir, 'session.json'), json(record))) return record
      return (await this.readSession({ sessionId })) ?? record
    })
  }

  async readSession({ sessionId }: SessionRef): Promise<SessionRecord | null> {
    const dir = this.#sessionDir(sessionId)
    const text = await this.#readText(join(dir, 'session.json'))
    return text === null
      ? null
      : this.#withActivity(dir, parseRecord(sessionRecordSchema, text, join(dir, 'session.json')))
  }

  /**
   * Title and metadata go into session.json (replaced atomically). Two updates at once: the later
   * rename wins whole. Appends never write session.json, so they cannot undo an update.
   */
  async updateSession({ sessionId, title, metadata }: SessionUpdate): Promise<SessionRecord> {
    const dir = this.#sessionDir(sessionId)
    const path = join(dir, 'session.json')
    const text = await this.#readText(path)
    if (text === null) throw new RecordNotFoundError(path)
    const record = updatedSessionRecord(
      parseRecord(sessionRecordSchema, text, path),
      { title, metadata },
      now(),
    )
    await this.#guard('update session', path, () => this.#files.writeReplacing(path, json(record)))
    return this.#withActivity(dir, record)
  }

  /**
   * The record with `updatedAt` raised to its latest append, read from the modification time of
   * each agent's messages directory (a new message file changes it). This costs two system calls
   * per agent on read and nothing per turn: no session-wide file is rewritten on every append.
   */
  async #withActivity(dir: string, record: SessionRecord): Promise<SessionRecord> {
    const agentsDir = join(dir, 'agents')
    let latest = record.updatedAt ?? record.createdAt
    const names = await this.#guard('list agents in', agentsDir, async () => {
      try {
        return (await fs.readdir(agentsDir)).filter((name) => !name.startsWith('.'))
      } catch (error) {
        if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return []
        throw error
      }
    })
    for (const name of names) {
      const messagesDir = join(agentsDir, name, 'messages')
      const modified = await this.#guard('read the time of', messagesDir, async () => {
        try {
          return (await fs.stat(messagesDir)).mtime.toISOString()
        } catch (error) {
          if (isErrno(error, 'ENOENT')) return undefined
          throw error
        }
      })
      if (modified !== undefined && modified > latest) latest = modified
    }
    return latest === (record.updatedAt ?? record.createdAt) ? record : { ...record, updatedAt: latest }
  }

  /**
   * Reads every session record to order them by activity, so a page costs one read per session in
   * the store, not per session on the page (fine for thousands; an index is the fix beyond that).
   * Unreadable records are reported with the first page.
   */
  async listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    const names = await this.#guard('list', this.directory, async () => {
      try {
        return (await fs.readdir(this.directory)).filter((name) => !name.startsWith('.')).sort()
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return []
        throw error
      }
    })
    const records: SessionRecord[] = []
    const unreadable: UnreadableSession[] = []
    for (const name of names) {
      const path = join(this.directory, name, 'session.json')
      const text = await this.#readText(path)
      // A directory without session.json is a creation cut short by a crash: not a session yet.
      if (text === null) continue
      try {
        records.push(
          await this.#withActivity(join(this.directory, name), parseRecord(sessionRecordSchema, text, path)),
        )
      } catch (error) {
        if (!(error instanceof DamagedRecordError || error instanceof UnsupportedSchemaVersionError))
          throw error
        unreadable.push({ location: path, reason: error.message })
      }
    }
    const page = sessionPage(records, options, DEFAULT_PAGE)
    return { ...page, ...(unreadable.length > 0 && options.cursor === undefined ? { unreadable } : {}) }
  }

  async deleteSession({ sessionId }: SessionRef): Promise<void> {
    const dir = this.#sessionDir(sessionId)
    const name = encodeStorageName(sessionId, 'session ID')
    const doomed = join(this.directory, `.deleted-${name}-${process.pid}-${Date.now()}`)
    await this.#guard('delete session', dir, async () => {
      try {
        // Rename first: the session disappears at once and whole, so a crash mid-delete never
        // leaves a half-deleted session that looks valid; the dot name hides the leftovers.
        await this.#files.ops.rename(dir, doomed)
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return
        throw error
      }
      await this.#files.syncDirectory(this.directory)
      for (const key of this.#headHints.keys()) if (key.startsWith(dir)) this.#headHints.delete(key)
      this.#forgetDirectories(dir)
      await fs.rm(doomed, { recursive: true, force: true })
    })
  }

  // Agents

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const dir = this.#agentDir(write)
    const path = join(dir, 'agent.json')
    let previous: AgentRecord | null = null
    try {
      previous = await this.readAgent(write)
    } catch (error) {
      // Replacing a damaged agent record (a restore reset it): its bytes are kept aside first, as a
      // damaged message's are. A record from a newer format is never replaced.
      if (!(error instanceof DamagedRecordError)) throw error
      await this.#guard('keep aside', path, async () => this.#keepAside(path, dir, 'agent.json'))
    }
    const record: AgentRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: write.sessionId,
      agentId: write.agentId,
      revision: (previous?.revision ?? -1) + 1,
      state: write.state,
      conversationManagerState: write.conversationManagerState,
      windowStart: write.windowStart,
      updatedAt: now(),
    }
    await this.#guard('write agent', path, () =>
      this.#inDirectory(write, join(dir, 'messages'), () => this.#files.writeReplacing(path, json(record))),
    )
    return record
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    const path = join(this.#agentDir(ref), 'agent.json')
    const text = await this.#readText(path)
    return text === null ? null : (parseRecord(agentRecordSchema, text, path) as AgentRecord)
  }

  async listAgents({ sessionId }: SessionRef): Promise<AgentRecord[]> {
    const dir = join(this.#sessionDir(sessionId), 'agents')
    let names: string[]
    try {
      names = (await fs.readdir(dir)).filter((name) => !name.startsWith('.')).sort()
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return []
      throw new StorageError('list agents in', dir, { cause: error })
    }
    const records: AgentRecord[] = []
    for (const name of names) {
      const path = join(dir, name, 'agent.json')
      const text = await this.#readText(path)
      if (text !== null) records.push(parseRecord(agentRecordSchema, text, path) as AgentRecord)
    }
    return records
  }

  // Messages

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message to append')
    const dir = join(this.#agentDir(input), 'messages')
    return this.#guard('append a message to', dir, () =>
      this.#inDirectory(input, dir, () => this.#appendIn(dir, input, message)),
    )
  }

  async #appendIn(
    dir: string,
    input: AgentRef & { expectedIndex?: number },
    message: Message,
  ): Promise<MessageRecord> {
    let index = input.expectedIndex ?? (await this.#head(dir))
    for (;;) {
      const time = now()
      const record: MessageRecord = {
        schemaVersion: SCHEMA_VERSION,
        sessionId: input.sessionId,
        agentId: input.agentId,
        index,
        revision: 0,
        message,
        createdAt: time,
        updatedAt: time,
      }
      const target = join(dir, indexName(index))
      const temp = await this.#files.writeTemp(target, json(record))
      if (await this.#files.publishExclusive(temp, target)) {
        this.#headHints.set(dir, index + 1)
        return record
      }
      // Another writer took this index between our head search and our link. The record
      // embeds its index, so the temp file is written again for the next free one.
      await this.#files.removeQuietly(temp)
      if (input.expectedIndex !== undefined) {
        throw new SessionConflictError(input.sessionId, input.agentId, input.expectedIndex)
      }
      index = await this.#head(dir, index + 1)
    }
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    const dir = join(this.#agentDir(input), 'messages')
    const offset = input.offset ?? 0
    const head = await this.#guard('read messages in', dir, () => this.#head(dir))
    const end = input.limit === undefined ? head : Math.min(head, offset + input.limit)
    const records: MessageRecord[] = []
    for (let start = offset; start < end; start += READ_BATCH) {
      const indexes = Array.from({ length: Math.min(READ_BATCH, end - start) }, (_, i) => start + i)
      records.push(...(await Promise.all(indexes.map((index) => this.#readMessage(dir, index)))))
    }
    return records
  }

  async countMessages(ref: AgentRef): Promise<number> {
    const dir = join(this.#agentDir(ref), 'messages')
    return this.#guard('count messages in', dir, () => this.#head(dir))
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message update')
    const dir = join(this.#agentDir(input), 'messages')
    const target = join(dir, indexName(input.index))
    const current = await this.#readMessage(dir, input.index)
    const record: MessageRecord = { ...current, message, revision: current.revision + 1, updatedAt: now() }
    delete record.damaged
    // rename replaces the whole file: the old content is not left in any file of the session.
    await this.#guard('update', target, () => this.#files.writeReplacing(target, json(record)))
    return record
  }

  async quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    const agentDir = this.#agentDir(input)
    const target = join(agentDir, 'messages', indexName(input.index))
    const bytes = await this.#guard('read', target, () => fs.readFile(target))
    let reason: string
    try {
      return parseRecord(messageRecordSchema, bytes.toString('utf8'), target, input.index) as MessageRecord
    } catch (error) {
      if (!TetherError.isInstance(error) || error.code !== 'damaged-record') throw error
      reason = (error as TetherError & { reason: string }).reason
    }
    const keptAs = this.#quarantinePath(agentDir, indexName(input.index))
    const time = now()
    const record: MessageRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: input.sessionId,
      agentId: input.agentId,
      index: input.index,
      revision: 1,
      message: validMessage(input.placeholder, 'placeholder message'),
      createdAt: time,
      updatedAt: time,
      damaged: { reason, keptAs },
    }
    await this.#guard('quarantine', target, async () => {
      // Keep the damaged bytes first: a crash between the two steps leaves a copy and the damaged
      // record, and the next repair simply does it again.
      await this.#keepAside(target, agentDir, indexName(input.index), keptAs, bytes)
      await this.#files.writeReplacing(target, json(record))
    })
    return record
  }

  // Internals

  #quarantinePath(agentDir: string, name: string): string {
    return join(agentDir, 'quarantine', `${name}-${Date.now()}.damaged`)
  }

  /** Copies a damaged file's bytes into the agent's quarantine directory, durably; returns the copy's path. */
  async #keepAside(
    path: string,
    agentDir: string,
    name: string,
    keptAs = this.#quarantinePath(agentDir, name),
    bytes?: Uint8Array,
  ): Promise<string> {
    await this.#ensureDirectory(join(agentDir, 'quarantine'))
    await this.#files.writeReplacing(keptAs, bytes ?? (await fs.readFile(path)))
    return keptAs
  }

  async #readMessage(dir: string, index: number): Promise<MessageRecord> {
    const path = join(dir, indexName(index))
    const text = await this.#readText(path)
    if (text === null) throw new RecordNotFoundError(path)
    const record = parseRecord(messageRecordSchema, text, path, index) as MessageRecord
    if (record.index !== index) {
      throw new DamagedRecordError(path, `holds index ${record.index}, not ${index}`, index)
    }
    return record
  }

  async #head(dir: string, from?: number): Promise<number> {
    const hint = Math.max(from ?? 0, this.#headHints.get(dir) ?? 0)
    const head = await findHead(hint, (index) => exists(join(dir, indexName(index))))
    this.#headHints.set(dir, head)
    return head
  }

  /**
   * Runs `work` in `dir`, made if missing. The set of directories known to exist is a cache: when
   * another process deleted the session meanwhile, `work` fails with ENOENT, so the session is
   * made again (its record too, so it lists) and `work` retried once.
   */
  async #inDirectory<T>(ref: SessionRef, dir: string, work: () => Promise<T>): Promise<T> {
    await this.#ensureDirectory(dir)
    try {
      return await work()
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error
      const sessionDir = this.#sessionDir(ref.sessionId)
      this.#forgetDirectories(sessionDir)
      this.#headHints.clear()
      await this.createSession({ sessionId: ref.sessionId })
      await this.#ensureDirectory(dir)
      return work()
    }
  }

  #forgetDirectories(prefix: string): void {
    for (const key of this.#knownDirectories) if (key.startsWith(prefix)) this.#knownDirectories.delete(key)
  }

  async #ensureDirectory(dir: string): Promise<void> {
    if (this.#knownDirectories.has(dir)) return
    await this.#files.ensureDirectory(dir)
    this.#knownDirectories.add(dir)
  }

  async #readText(path: string): Promise<string | null> {
    try {
      return await fs.readFile(path, 'utf8')
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return null
      throw new StorageError('read', path, { cause: error })
    }
  }

  /** Wraps raw I/O failures in a StorageError naming what and where; typed errors pass through. */
  async #guard<T>(operation: string, location: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work()
    } catch (error) {
      if (TetherError.isInstance(error)) throw error
      throw new StorageError(operation, location, { cause: error })
    }
  }

  #sessionDir(sessionId: string): string {
    return join(this.directory, encodeStorageName(sessionId, 'session ID'))
  }

  #agentDir({ sessionId, agentId }: AgentRef): string {
    return join(this.#sessionDir(sessionId), 'agents', encodeStorageName(agentId, 'agent ID'))
  }
}

function indexName(index: number): string {
  return `${String(index).padStart(INDEX_DIGITS, '0')}.json`
}

function json(value: unknown): string {
  return `${JSON.stringify(value)}\n`
}

function now(): string {
  return new Date().toISOString()
}

async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path)
    return true
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false
    throw error
  }
}
