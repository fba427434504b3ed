import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { ConfigurationError } from '../../errors/configuration-error.ts'
import type { Message } from '../../messages/message.ts'
import {
  DamagedRecordError,
  RecordNotFoundError,
  StorageError,
  UnsupportedSchemaVersionError,
} from '../../session/session-errors.ts'
import {
  type AgentRecord,
  agentRecordSchema,
  type MessageRecord,
  parseRecord,
  SCHEMA_VERSION,
  type SessionRecord,
  sessionRecordSchema,
  updatedSessionRecord,
  validMessage,
} from '../../session/session-records.ts'
import type {
  AgentRef,
  AgentWrite,
  ListSessionsOptions,
  SessionPage,
  SessionRef,
  SessionRepository,
  SessionUpdate,
  UnreadableSession,
} from '../../session/session-repository.ts'
import { type LogLayout, S3AgentLog } from './s3-agent-log.ts'
import { storeEnforcesConditionalWrites } from './s3-conditional-probe.ts'
import { KeyLayout } from './s3-key-layout.ts'
import { S3ObjectStore } from './s3-object-store.ts'
import { encode } from './s3-record-codec.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy, sleep } from './s3-retry-policy.ts'

export interface S3SessionRepositoryOptions {
  bucket: string
  /** Keys start with this (e.g. `users/${userId}/`); no session ID can reach outside it. */
  prefix?: string
  /** A ready client. Its own retries run inside each of ours; prefer `clientConfig`. */
  client?: S3Client
  /** Config for a client made here (`region`, `credentials`, `endpoint`, `forcePathStyle`, ...). */
  clientConfig?: S3ClientConfig
  /**
   * Messages per sealed segment, and the fewest the tail object keeps: a window up to this size
   * restores with one GET. Fixed for a log by its first writer. Default 50.
   */
  segmentSize?: number
  retry?: Partial<RetryPolicy>
  /**
   * Whether to use the store's conditional writes (`If-None-Match: *`, `If-Match`: AWS S3 since
   * 2024, R2, MinIO, Ceph RGW). With them a new agent log keeps one object per message, claimed
   * by a conditional PUT (an append is one request); without them, slots agreed with Disk Paxos
   * over plain PUT and LIST. `'auto'` (the default) probes the store once per client, bucket and
   * prefix before starting a new log. Either way an existing log keeps the layout it was started
   * in, so devices configured differently never split one history. docs/s3-storage-format.md.
   */
  conditionalWrites?: boolean | 'auto'
}

const DEFAULT_PAGE = 100
const MAX_LOGS = 1000

/**
 * Sessions in an S3 bucket (or any S3-compatible store), shared by every device and process that
 * uses the same bucket and prefix. Layout and protocol: docs/s3-storage-format.md.
 *
 * Each agent's history is a log of slots. A slot decides one tail: the newest messages (at least
 * `segmentSize`), packed in one object, so a restore is a LIST (the count is in a key name) and a
 * GET. Every `segmentSize` messages a segment is sealed, so a full listing pages through
 * `count / segmentSize` GETs. Which tail a slot holds is agreed with Disk Paxos over plain PUT and
 * LIST (s3-slot-protocol.ts): no conditional writes, no clocks, no locks, so two devices writing
 * at once never lose, duplicate or reorder a message, and an index once returned never changes.
 */
export class S3SessionRepository implements SessionRepository {
  readonly bucket: string
  readonly prefix: string
  readonly #store: S3ObjectStore
  readonly #layout: KeyLayout
  readonly #segmentSize: number
  readonly #logs = new Map<string, S3AgentLog>()
  readonly #conditionalWrites: boolean | 'auto'
  /** ETag and revision of agent records this handle wrote or read (used where If-Match holds). */
  readonly #agentVersions = new Map<string, { etag: string; revision: number }>()

  constructor(options: S3SessionRepositoryOptions) {
    if (!options.bucket) throw new ConfigurationError('S3SessionRepository needs a bucket name.')
    const segmentSize = options.segmentSize ?? 50
    if (!Number.isInteger(segmentSize) || segmentSize < 2 || segmentSize > 10_000) {
      throw new ConfigurationError(`segmentSize must be an integer from 2 to 10000, not ${segmentSize}.`)
    }
    this.#layout = new KeyLayout(options.prefix)
    this.bucket = options.bucket
    this.prefix = this.#layout.prefix
    this.#segmentSize = segmentSize
    const client =
      options.client ??
      new S3Client({
        // Checksums only where S3 requires them: several S3-compatible stores reject the newer ones.
        requestChecksumCalculation: 'WHEN_REQUIRED',
        responseChecksumValidation: 'WHEN_REQUIRED',
        ...options.clientConfig,
        // Our retry policy is the only one, so a request is tried maxAttempts times, not squared.
        maxAttempts: 1,
      })
    const policy = { ...DEFAULT_RETRY_POLICY, ...options.retry }
    this.#conditionalWrites = options.conditionalWrites ?? 'auto'
    this.#store = new S3ObjectStore(client, options.bucket, policy, this.#conditionalWrites === true)
  }

  // Sessions

  async createSession({ sessionId }: SessionRef): Promise<SessionRecord> {
    const existing = await this.readSession({ sessionId })
    if (existing) return existing
    const record: SessionRecord = { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }
    // Without conditional writes two creators racing both write and the later createdAt stays;
    // no message depends on it. With them, the loser reads the winner's record back.
    const created = await this.#store.put(this.#layout.sessionRecord(sessionId), encode(record), {
      ifNoneMatch: true,
    })
    return created ? record : ((await this.readSession({ sessionId })) ?? record)
  }

  async readSession({ sessionId }: SessionRef): Promise<SessionRecord | null> {
    return this.#readRecord(this.#layout.sessionRecord(sessionId), (text, where) =>
      parseRecord(sessionRecordSchema, text, where),
    )
  }

  /**
   * Title and metadata: a read and a PUT of the session record; two updates at once, the later PUT
   * wins whole. Not yet here (the S3 layout's owner adds them): `updatedAt` following appends, and
   * listing newest first; today `updatedAt` follows updates and listing is in key order.
   */
  async updateSession({ sessionId, title, metadata }: SessionUpdate): Promise<SessionRecord> {
    const key = this.#layout.sessionRecord(sessionId)
    const current = await this.readSession({ sessionId })
    if (!current) throw new RecordNotFoundError(`s3://${this.bucket}/${key}`)
    const record = updatedSessionRecord(current, { title, metadata }, now())
    await this.#store.put(key, encode(record))
    return record
  }

  async listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    const limit = Math.min(options.limit ?? DEFAULT_PAGE, 1000)
    const root = this.#layout.sessionsRoot
    // After `<name>0`: past every key of the cursor's own folder ('/' sorts just before '0').
    const page = await this.#store.list(root, {
      delimiter: '/',
      maxKeys: limit + 1,
      ...(options.cursor === undefined ? {} : { startAfter: `${root}${options.cursor}0` }),
    })
    // Some stores (s3rver) do not count folders against MaxKeys: take the page size ourselves.
    const all = page.folders.map((folder) => folder.slice(root.length, -1))
    const names = all.slice(0, limit)
    const more = page.truncated || all.length > limit
    const unreadable: UnreadableSession[] = []
    const records = await Promise.all(
      names.map(async (name) => {
        const key = `${root}${name}/session.json`
        try {
          return await this.#readRecord(key, (text, where) => parseRecord(sessionRecordSchema, text, where))
        } catch (error) {
          // Reported, not thrown: one damaged session record must not hide the others.
          if (!(error instanceof DamagedRecordError || error instanceof UnsupportedSchemaVersionError))
            throw error
          unreadable.push({ location: this.#store.where(key), reason: error.message })
          return null
        }
      }),
    )
    // A folder without session.json holds messages appended without createSession: not listed.
    const sessions = records.filter((record): record is SessionRecord => record !== null)
    const last = names.at(-1)
    return {
      sessions,
      ...(more && last !== undefined ? { nextCursor: last } : {}),
      ...(unreadable.length > 0 ? { unreadable } : {}),
    }
  }

  async deleteSession({ sessionId }: SessionRef): Promise<void> {
    const dir = this.#layout.sessionDir(sessionId)
    // Paged LIST, batched DeleteObjects. A writer appending during the delete can leave objects
    // behind; a later delete removes them.
    for await (const keys of this.#store.listAll(dir)) await this.#store.deleteMany(keys)
    for (const [key, log] of this.#logs) if (key.startsWith(dir)) log.forget()
    for (const key of [...this.#agentVersions.keys()])
      if (key.startsWith(dir)) this.#agentVersions.delete(key)
  }

  // Agents

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const key = this.#layout.agentRecord(write)
    // Where the store enforces If-Match, the version this handle last wrote or read is enough:
    // a stale one gets 412 and the record is read again. Elsewhere it is read every time.
    let known = this.#store.conditionalWrites ? this.#agentVersions.get(key) : undefined
    for (let attempt = 0; ; attempt++) {
      const version = known ?? (await this.#agentVersion(key, write))
      const record: AgentRecord = {
        schemaVersion: SCHEMA_VERSION,
        sessionId: write.sessionId,
        agentId: write.agentId,
        revision: version.etag === undefined ? 0 : version.revision + 1,
        state: write.state,
        conversationManagerState: write.conversationManagerState,
        windowStart: write.windowStart,
        updatedAt: now(),
      }
      const condition = version.etag === undefined ? { ifNoneMatch: true } : { ifMatch: version.etag }
      const text = encode(record)
      const etag = this.#store.conditionalWrites
        ? await this.#store.write(key, text, condition)
        : await this.#store.put(key, text).then(() => undefined)
      if (etag !== null) {
        if (etag !== undefined) this.#rememberAgent(key, { etag, revision: record.revision })
        return record
      }
      // Only with conditional writes: another writer got in between; read its revision and retry.
      known = undefined
      if (attempt >= 8) throw new StorageError('write', `${this.#store.where(key)} (it kept changing)`)
    }
  }

  /** The stored agent record's revision and ETag; a damaged one's bytes are kept aside first. */
  async #agentVersion(key: string, ref: AgentRef): Promise<{ etag: string | undefined; revision: number }> {
    const stored = await this.#store.get(key)
    if (!stored) return { etag: undefined, revision: -1 }
    try {
      const revision = parseRecord(agentRecordSchema, stored.text, this.#store.where(key)).revision ?? 0
      return { etag: stored.etag, revision }
    } catch (error) {
      // A damaged agent record is replaced (it holds no messages), its bytes kept aside first
      // as a damaged message's are; a newer format is never replaced.
      if (!(error instanceof DamagedRecordError)) throw error
      const keptAs = this.#layout.agentLayout(ref).quarantine(`agent.json-${Date.now()}.damaged`)
      await this.#store.put(keptAs, stored.text)
      return { etag: stored.etag, revision: -1 }
    }
  }

  #rememberAgent(key: string, version: { etag: string; revision: number }): void {
    this.#agentVersions.delete(key)
    this.#agentVersions.set(key, version)
    const oldest = this.#agentVersions.keys().next().value
    if (this.#agentVersions.size > MAX_LOGS && oldest !== undefined) this.#agentVersions.delete(oldest)
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    const key = this.#layout.agentRecord(ref)
    return this.#readRecord(key, (text, where, etag) => {
      const record = parseRecord(agentRecordSchema, text, where) as AgentRecord
      // Kept whatever the mode: writeAgent uses it only once the store is known to enforce If-Match.
      if (etag !== undefined) this.#rememberAgent(key, { etag, revision: record.revision ?? 0 })
      return record
    })
  }

  async listAgents({ sessionId }: SessionRef): Promise<AgentRecord[]> {
    const dir = this.#layout.agentsDir(sessionId)
    const names: string[] = []
    let startAfter: string | undefined
    for (;;) {
      const page = await this.#store.list(dir, {
        delimiter: '/',
        ...(startAfter === undefined ? {} : { startAfter }),
      })
      names.push(...page.folders.map((folder) => folder.slice(dir.length, -1)))
      const last = names.at(-1)
      if (!page.truncated || last === undefined) break
      startAfter = `${dir}${last}0`
    }
    const records = await Promise.all(
      names.map((name) =>
        this.#readRecord(
          `${dir}${name}/agent.json`,
          (text, where) => parseRecord(agentRecordSchema, text, where) as AgentRecord,
        ),
      ),
    )
    return records.filter((record): record is AgentRecord => record !== null)
  }

  // Messages

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message to append')
    return this.#log(input).append(message, input.expectedIndex)
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    const offset = input.offset ?? 0
    if (offset < 0 || (input.limit !== undefined && input.limit < 0)) {
      throw new ConfigurationError('readMessages takes a non-negative offset and limit.')
    }
    return this.#log(input).read(offset, input.limit)
  }

  async countMessages(ref: AgentRef): Promise<number> {
    return this.#log(ref).count()
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message update')
    return this.#log(input).update(input.index, message)
  }

  async quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    const placeholder = validMessage(input.placeholder, 'placeholder message')
    return this.#log(input).quarantine(input.index, placeholder)
  }

  /** Bulk import into one slot (internal: the tests and benchmark build long histories with it). */
  async importMessages(ref: AgentRef, messages: Message[]): Promise<MessageRecord[]> {
    return this.#log(ref).appendMany(messages.map((message) => validMessage(message, 'message to import')))
  }

  // Internals

  /** The layout a new log starts in: conditional writes where the store enforces them. */
  async #newLogLayout(): Promise<LogLayout> {
    const enforced =
      this.#conditionalWrites === 'auto'
        ? await storeEnforcesConditionalWrites(this.#store, this.prefix)
        : this.#conditionalWrites
    if (enforced) this.#store.conditionalWrites = true
    return enforced ? 'messages' : 'slots'
  }

  #log(ref: AgentRef): S3AgentLog {
    const dir = this.#layout.agentDir(ref)
    let log = this.#logs.get(dir)
    if (!log) {
      if (this.#logs.size >= MAX_LOGS) {
        const oldest = this.#logs.keys().next().value
        if (oldest !== undefined) this.#logs.delete(oldest)
      }
      log = new S3AgentLog(
        this.#store,
        this.#layout.agentLayout(ref),
        ref,
        this.#segmentSize,
        () => this.#newLogLayout(),
        // A log in the message layout was started on a store that enforces conditional writes.
        () => {
          if (this.#conditionalWrites !== false) this.#store.conditionalWrites = true
        },
      )
      this.#logs.set(dir, log)
    }
    return log
  }

  /**
   * GET and parse a small mutable record. One re-read on damage: some S3-compatible servers
   * (s3rver) let a GET see an object halfway through being replaced; real damage stays damaged.
   */
  async #readRecord<T>(
    key: string,
    parse: (text: string, where: string, etag: string | undefined) => T,
  ): Promise<T | null> {
    for (let attempt = 0; ; attempt++) {
      const stored = await this.#store.get(key)
      if (stored === null) return null
      try {
        return parse(stored.text, this.#store.where(key), stored.etag)
      } catch (error) {
        if (!(error instanceof DamagedRecordError) || attempt > 0) throw error
        await sleep(50)
      }
    }
  }
}

function now(): string {
  return new Date().toISOString()
}
