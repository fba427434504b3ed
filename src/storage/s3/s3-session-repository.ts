import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'
import { ConfigurationError } from '../../errors/configuration-error.ts'
import { debugLogger } from '../../logging/debug-logger.ts'
import type { Logger } from '../../logging/logger.ts'
import type { Message } from '../../messages/message.ts'
import { DamagedRecordError, RecordNotFoundError, StorageError } from '../../session/session-errors.ts'
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
} from '../../session/session-repository.ts'
import { type LogLayout, S3AgentLog } from './s3-agent-log.ts'
import { storeEnforcesConditionalWrites } from './s3-conditional-probe.ts'
import { KeyLayout } from './s3-key-layout.ts'
import { readDecoded } from './s3-log-objects.ts'
import { S3ObjectStore } from './s3-object-store.ts'
import { encode } from './s3-record-codec.ts'
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './s3-retry-policy.ts'
import { S3SessionActivity } from './s3-session-activity.ts'
import { listSessionsByActivity, withActivity } from './s3-session-listing.ts'

export interface S3SessionRepositoryOptions {
  bucket: string
  /** Keys start with this (e.g. `users/${userId}/`); no session ID can reach outside it. */
  prefix?: string
  /** A ready client. Its own retries run inside each of ours; prefer `clientConfig`. */
  client?: S3Client
  /** Config for a client made here (`region`, `credentials`, `endpoint`, `forcePathStyle`, ...). */
  clientConfig?: S3ClientConfig
  /**
   * Slot layout (stores without conditional writes): messages per sealed segment. A restore reads
   * the segments its window overlaps and one batch per slot since the last one, so a smaller size
   * means fewer GETs per restore and more per full listing. Fixed for a log by its first writer
   * (logs of tether-agents 0.1 keep theirs, 50). Default 8.
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
  /**
   * How often (ms) appends to one session record its activity, for `updatedAt` and newest-first
   * `listSessions`: at most one PUT per session per interval per repository object. Default 60000.
   */
  activityInterval?: number
  /**
   * Where retries, and failures that do not fail a call, are reported (default: stderr with
   * `DEBUG=tether:storage`, else silent).
   */
  logger?: Logger
}

const DEFAULT_PAGE = 100
const MAX_LOGS = 1000

/**
 * Sessions in an S3 bucket (or any S3-compatible store), shared by every device and process that
 * uses the same bucket and prefix. Layout and protocol: docs/s3-storage-format.md.
 *
 * Each agent's history is a log: one object per message claimed with `If-None-Match` where the
 * store enforces conditional writes (s3-conditional-log.ts), else a log of slots, each deciding the
 * batch of messages one append added, agreed with Disk Paxos over plain PUT and LIST
 * (s3-slot-protocol.ts): no conditional writes, no clocks, no locks, so two devices writing at
 * once never lose, duplicate or reorder a message, and an index once returned never changes.
 * Every `segmentSize` messages a segment is sealed, so a full listing pages through
 * `count / segmentSize` GETs.
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
  readonly #activity: S3SessionActivity

  constructor(options: S3SessionRepositoryOptions) {
    if (!options.bucket) throw new ConfigurationError('S3SessionRepository needs a bucket name.')
    const segmentSize = options.segmentSize ?? 8
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
    const logger = options.logger ?? debugLogger('tether:storage')
    this.#store = new S3ObjectStore(client, options.bucket, policy, this.#conditionalWrites === true, logger)
    const interval = options.activityInterval ?? 60_000
    if (!Number.isFinite(interval) || interval < 0) {
      throw new ConfigurationError(`activityInterval must be a non-negative number of ms, not ${interval}.`)
    }
    this.#activity = new S3SessionActivity(this.#store, this.prefix, interval, logger)
  }

  // Sessions

  async createSession({ sessionId }: SessionRef): Promise<SessionRecord> {
    // The record alone (no activity HEAD): a restore calls this, and needs only to know it exists.
    const existing = await this.#readSessionRecord(sessionId)
    if (existing) return existing
    const record: SessionRecord = { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }
    // Without conditional writes two creators racing both write and the later createdAt stays;
    // no message depends on it. With them, the loser reads the winner's record back.
    const [created] = await Promise.all([
      this.#store.put(this.#layout.sessionRecord(sessionId), encode(record), { ifNoneMatch: true }),
      this.#activity.mark(sessionId),
    ])
    return created ? record : ((await this.#readSessionRecord(sessionId)) ?? record)
  }

  /**
   * Rebuilds a damaged session record (for `tether sessions repair`): its bytes are copied to
   * `<session>/quarantine/` first, then a fresh record replaces it. Agents and messages are not
   * touched; the title and metadata, which lived only in that record, are lost. A readable record
   * is returned as it is; an absent one is created.
   */
  async recoverSessionRecord({ sessionId }: SessionRef): Promise<{ record: SessionRecord; keptAs?: string }> {
    try {
      const existing = await this.readSession({ sessionId })
      if (existing) return { record: existing }
      return { record: await this.createSession({ sessionId }) }
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
    }
    const key = this.#layout.sessionRecord(sessionId)
    const stored = await this.#store.get(key)
    const keptKey = `${this.#layout.sessionDir(sessionId)}quarantine/session.json-${Date.now()}.damaged`
    // Kept first: a crash before the replacing PUT leaves the damaged record and its copy, and the
    // next repair does it again.
    await this.#store.put(keptKey, stored?.text ?? '')
    const record: SessionRecord = { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }
    await this.#store.put(key, encode(record))
    return { record, keptAs: this.#store.where(keptKey) }
  }

  /** The record, with `updatedAt` the later of its own and the session's last activity (a HEAD). */
  async readSession({ sessionId }: SessionRef): Promise<SessionRecord | null> {
    const [record, activeAt] = await Promise.all([
      this.#readSessionRecord(sessionId),
      this.#activity.lastActive(sessionId),
    ])
    return record && withActivity(record, activeAt)
  }

  /**
   * Title and metadata: a read and a PUT of the session record (two updates at once: the later PUT
   * wins whole), and the session marked active.
   */
  async updateSession({ sessionId, title, metadata }: SessionUpdate): Promise<SessionRecord> {
    const key = this.#layout.sessionRecord(sessionId)
    const current = await this.#readSessionRecord(sessionId)
    if (!current) throw new RecordNotFoundError(`s3://${this.bucket}/${key}`)
    const record = updatedSessionRecord(current, { title, metadata }, now())
    await Promise.all([this.#store.put(key, encode(record)), this.#activity.mark(sessionId)])
    return record
  }

  /**
   * Most recently active first: one LIST of session folders and one of `activity/` per 1,000
   * sessions, then a GET of each record on the page (s3-session-listing.ts).
   */
  listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    return listSessionsByActivity(
      {
        store: this.#store,
        sessionsRoot: this.#layout.sessionsRoot,
        activity: this.#activity,
        readSessionRecord: (key) =>
          this.#readRecord(key, (text, where) => parseRecord(sessionRecordSchema, text, where)),
      },
      options,
      DEFAULT_PAGE,
    )
  }

  async deleteSession({ sessionId }: SessionRef): Promise<void> {
    const dir = this.#layout.sessionDir(sessionId)
    // Paged LIST, batched DeleteObjects. A writer appending during the delete can leave objects
    // behind; a later delete removes them.
    let page: string[] = []
    for await (const keys of this.#store.listAll(dir)) {
      if (page.length > 0) await this.#store.deleteMany(page)
      page = keys
    }
    // The activity key goes with the last page (deleteMany splits past 1,000 keys): until the
    // folder is empty the session is still listed, and is ordered by it.
    await this.#store.deleteMany([...page, this.#activity.key(sessionId)])
    this.#activity.forget(sessionId)
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
    const [record] = await Promise.all([
      this.#log(input).append(message, input.expectedIndex),
      this.#activity.afterAppend(input.sessionId),
    ])
    return record
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

  #readSessionRecord(sessionId: string): Promise<SessionRecord | null> {
    return this.#readRecord(this.#layout.sessionRecord(sessionId), (text, where) =>
      parseRecord(sessionRecordSchema, text, where),
    )
  }

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

  /** GET and parse a small mutable record (re-read once on damage: see readDecoded). */
  async #readRecord<T>(
    key: string,
    parse: (text: string, where: string, etag: string | undefined) => T,
  ): Promise<T | null> {
    const record = await readDecoded(this.#store, key, (text, etag) =>
      parse(text, this.#store.where(key), etag),
    )
    if (record instanceof DamagedRecordError) throw record
    return record
  }
}

function now(): string {
  return new Date().toISOString()
}
