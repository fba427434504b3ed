import type { DatabaseSync, SQLInputValue, SQLOutputValue, StatementSync } from 'node:sqlite'
import { z } from 'zod'
import { DamagedRecordError, UnsupportedSchemaVersionError } from '../session/session-errors.ts'
import {
  type AgentRecord,
  agentRecordSchema,
  type MessageRecord,
  messageRecordSchema,
  parseRecord,
  type SessionRecord,
  sessionRecordSchema,
} from '../session/session-records.ts'
import { createdAtOf, encode, integer, seal, unsealed, utf8 } from './sealed-row.ts'

/** `PRAGMA user_version` of a session database: file format 2 (format 1 is a JSON file per record). */
export const DATABASE_FORMAT = 2
/** `PRAGMA application_id`: "Teth". Tells a Tether session database from any other SQLite file. */
const APPLICATION_ID = 0x54657468

/**
 * `session` holds two rows: 0 is the session record, 1 the roster (which agents exist, and which
 * have an agent record). `messages` is clustered on (agent, index) (WITHOUT ROWID: one B-tree, no
 * separate index), and each agent's head row sits in it at HEAD_INDEX, right after its newest
 * message, so an append usually changes a single page.
 */
const SCHEMA = `
  CREATE TABLE IF NOT EXISTS session (id INTEGER PRIMARY KEY CHECK (id IN (0, 1)), record BLOB NOT NULL, checksum BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS agents (agent_id TEXT PRIMARY KEY, record BLOB NOT NULL, checksum BLOB NOT NULL);
  CREATE TABLE IF NOT EXISTS messages (agent_id TEXT NOT NULL, idx INTEGER NOT NULL, record BLOB NOT NULL,
    checksum BLOB NOT NULL, PRIMARY KEY (agent_id, idx)) WITHOUT ROWID;
`
/** Where an agent's head row lives among its messages: past any real index. */
const HEAD_INDEX = Number.MAX_SAFE_INTEGER

/**
 * Per agent, rewritten with every append in the same transaction: the message count and the time
 * of the last append. Two structures must agree (this row and the highest stored index), so one
 * flipped bit cannot make the tail of a history silently vanish.
 */
const headSchema = z.object({ count: z.number().int().nonnegative(), updatedAt: z.string() })
type Head = z.infer<typeof headSchema>

/**
 * The agents of the session, and whether each has an agent record and any messages: rewritten only
 * when one of these first becomes true. It lives on another page than the messages, so a damaged
 * page of messages that hides an agent's head row together with its messages is still damage,
 * never an empty history.
 */
const rosterSchema = z.object({
  agents: z.record(z.string(), z.object({ record: z.boolean(), messages: z.boolean() })),
})
type Roster = z.infer<typeof rosterSchema>
type Enrolment = Roster['agents'][string]

type Row = Record<string, SQLOutputValue>

/** Raw rows for a migration: bytes as found (sealed as they are, damage included). */
export interface ImportSink {
  /** Stores the session record's bytes; returns its createdAt (or now, if unreadable). */
  session(bytes: Uint8Array): string
  agent(agentId: string, bytes: Uint8Array): void
  message(agentId: string, index: number, bytes: Uint8Array): void
  /** The agent's count and last append time; `hasRecord` if `agent()` stored its record. */
  head(agentId: string, head: Head, hasRecord: boolean): void
}

/**
 * One session's SQLite database (docs/storage-format.md, "Format 2"). Every method is synchronous
 * and runs in one transaction, so on one connection nothing interleaves; across connections and
 * processes SQLite's locks order the writers. Methods throw SQLite's own errors for busy, I/O and
 * corruption (the repository maps them) and DamagedRecordError for a row that fails its seal.
 */
export class SessionDatabase {
  readonly path: string
  readonly #db: DatabaseSync
  readonly #statements = new Map<string, StatementSync>()
  /** Once initialized, a database file stays so: its format is checked once per connection. */
  #initialized = false

  constructor(db: DatabaseSync, path: string) {
    this.#db = db
    this.path = path
  }

  close(): void {
    if (this.#db.isOpen) this.#db.close()
  }

  /** Writes the schema and the session record unless another connection did (safe to race). */
  initialize(record: SessionRecord): void {
    if (this.isInitialized()) return
    // WAL: a commit is one append to the log plus one fsync (synchronous=FULL); the database file
    // is written only at checkpoints. Set outside the transaction, as SQLite requires.
    this.#db.exec('PRAGMA journal_mode=WAL')
    this.#write(() => {
      if (this.#pragma('user_version') !== 0) return
      this.#db.exec(SCHEMA)
      this.#db.exec(`PRAGMA application_id=${APPLICATION_ID}; PRAGMA user_version=${DATABASE_FORMAT}`)
      this.#putSession(record)
      this.#putRoster({ agents: {} })
    })
  }

  /** False for a file created but not yet initialized (a creation cut short): not a session yet. */
  isInitialized(): boolean {
    if (this.#initialized) return true
    // One snapshot: another process may be initializing the file right now. Read apart, a version
    // of 0 and then that process's new tables looked like a version that lost its bits: a session
    // being created by another process was reported damaged.
    const header = this.#read(() => ({
      version: this.#pragma('user_version'),
      tables: integer(this.#db.prepare('SELECT count(*) AS n FROM sqlite_schema').get(), 'n') ?? 0,
      applicationId: this.#pragma('application_id'),
      encoding: this.#db.prepare('PRAGMA encoding').get()?.encoding,
    }))
    if (header.version > DATABASE_FORMAT) {
      throw new UnsupportedSchemaVersionError(this.path, header.version, [DATABASE_FORMAT])
    }
    if (header.version === 0) {
      // A format field that lost its bits must not make a stored session look absent.
      if (header.tables !== 0) throw new DamagedRecordError(this.path, 'the format version was lost')
      return false
    }
    if (header.applicationId !== APPLICATION_ID) {
      throw new DamagedRecordError(this.path, 'not a Tether session database (application_id)')
    }
    if (header.encoding !== 'UTF-8') {
      throw new DamagedRecordError(this.path, `text encoding is ${String(header.encoding)}`)
    }
    // WAL is a property of the file (header bytes 18-19); if a damaged header turned it off, every
    // commit would take a rollback journal's extra fsyncs, so it is turned back on.
    if (this.#db.prepare('PRAGMA journal_mode').get()?.journal_mode !== 'wal') {
      this.#db.exec('PRAGMA journal_mode=WAL')
    }
    this.#initialized = true
    return true
  }

  /**
   * Fills a new, private database (a migration's temporary file) in one transaction. No fsync per
   * commit: the caller fsyncs the closed file before giving it its real name.
   */
  async importing(fill: (put: ImportSink) => Promise<void>): Promise<void> {
    this.#db.exec('PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF')
    this.#db.exec('BEGIN IMMEDIATE')
    try {
      this.#db.exec(SCHEMA)
      this.#db.exec(`PRAGMA application_id=${APPLICATION_ID}; PRAGMA user_version=${DATABASE_FORMAT}`)
      const roster: Roster = { agents: {} }
      await fill({
        session: (bytes) => {
          this.#run(
            'INSERT INTO session (id, record, checksum) VALUES (0, ?, ?)',
            bytes,
            seal('session', '', bytes),
          )
          return createdAtOf(bytes) ?? new Date().toISOString()
        },
        agent: (agentId, bytes) => {
          this.#run('INSERT INTO agents VALUES (?, ?, ?)', agentId, bytes, seal('agent', agentId, bytes))
        },
        message: (agentId, index, bytes) => {
          const key = messageKey(agentId, index)
          this.#run(
            'INSERT INTO messages VALUES (?, ?, ?, ?)',
            agentId,
            index,
            bytes,
            seal('message', key, bytes),
          )
        },
        head: (agentId, head, hasRecord) => {
          this.#putHead(agentId, head)
          roster.agents[agentId] = { record: hasRecord, messages: head.count > 0 }
        },
      })
      this.#putRoster(roster)
      this.#db.exec('COMMIT')
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
  }

  readSession(): SessionRecord | null {
    if (!this.isInitialized()) return null
    return this.#read(() => {
      const session = this.#session()
      let updatedAt = session.updatedAt ?? session.createdAt
      let messageCount = 0
      for (const agentId of Object.keys(this.#roster().agents)) {
        // Each count is checked against the highest stored index, as for a read of the agent.
        messageCount += this.#count(agentId)
        const head = this.#headOf(agentId)
        if (head && head.updatedAt > updatedAt) updatedAt = head.updatedAt
      }
      return { ...session, updatedAt, messageCount }
    })
  }

  /** Read-modify-write of the session record in one write transaction. */
  updateSession(change: (current: SessionRecord) => SessionRecord): SessionRecord {
    this.#write(() => this.#putSession(change(this.#session())))
    return this.readSession() as SessionRecord
  }

  /** The stored bytes of the session record, to keep aside before a damaged one is replaced. */
  sessionBytes(): Uint8Array | null {
    const value = this.#get('SELECT record FROM session WHERE id = 0')?.record
    return value instanceof Uint8Array ? value : null
  }

  /** The stored bytes of the agent roster (row 1), to keep aside before a damaged one is rebuilt. */
  rosterBytes(): Uint8Array | null {
    const value = this.#get('SELECT record FROM session WHERE id = 1')?.record
    return value instanceof Uint8Array ? value : null
  }

  /**
   * The session record (row 0) when it reads intact, else null: when only the roster is damaged,
   * a repair keeps the record, and with it the title and metadata.
   */
  intactSessionRecord(): SessionRecord | null {
    try {
      return this.#read(() => this.#session())
    } catch (error) {
      if (error instanceof DamagedRecordError) return null
      throw error
    }
  }

  /**
   * Replaces a damaged session record (the caller kept its bytes aside) and rebuilds the roster
   * from the agent and message rows, which are left as they are.
   */
  rebuildSession(record: SessionRecord): void {
    this.#write(() => {
      this.#putSession(record)
      const roster: Roster = { agents: {} }
      for (const row of this.#all('SELECT agent_id FROM agents')) {
        roster.agents[String(row.agent_id)] = { record: true, messages: false }
      }
      for (const row of this.#all('SELECT DISTINCT agent_id FROM messages')) {
        const agentId = String(row.agent_id)
        roster.agents[agentId] = { record: roster.agents[agentId]?.record ?? false, messages: true }
      }
      this.#putRoster(roster)
    })
  }

  readAgent(agentId: string): AgentRecord | null {
    if (!this.isInitialized()) return null
    return this.#read(() => this.#agent(agentId))
  }

  /** The stored bytes of an agent record, to keep aside before a damaged one is replaced. */
  agentBytes(agentId: string): Uint8Array | null {
    const value = this.#get('SELECT record FROM agents WHERE agent_id = ?', agentId)?.record
    return value instanceof Uint8Array ? value : null
  }

  /** `build` gets the current record (null if absent) and returns the next; throws if it is damaged. */
  writeAgent(agentId: string, build: (previous: AgentRecord | null) => AgentRecord): AgentRecord {
    return this.#write(() => this.#putAgent(agentId, build(this.#agent(agentId))))
  }

  /** Replaces a damaged agent record whose bytes the caller already kept aside. */
  replaceAgent(record: AgentRecord): AgentRecord {
    return this.#write(() => this.#putAgent(record.agentId, record))
  }

  listAgents(): AgentRecord[] {
    if (!this.isInitialized()) return []
    return this.#read(() => {
      const records: AgentRecord[] = []
      const withRecords = Object.entries(this.#roster().agents).filter(([, enrolment]) => enrolment.record)
      for (const [agentId] of withRecords.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        const record = this.#agent(agentId)
        if (record) records.push(record)
      }
      const agents = integer(this.#get('SELECT count(*) AS n FROM agents'), 'n')
      if (agents !== records.length) {
        throw new DamagedRecordError(this.path, `${agents} agent records, ${records.length} expected`)
      }
      return records
    })
  }

  count(agentId: string): number {
    if (!this.isInitialized()) return 0
    return this.#read(() => this.#count(agentId))
  }

  /**
   * Compare-and-append: the record lands at the current count, or (with `expectedIndex` taken)
   * nothing is written and null returned. The message row and the head row go in one transaction,
   * one WAL commit, one fsync.
   */
  append(
    agentId: string,
    expectedIndex: number | undefined,
    build: (index: number) => MessageRecord,
  ): MessageRecord | null {
    return this.#write(() => {
      const index = this.#count(agentId)
      if (expectedIndex !== undefined && expectedIndex !== index) return null
      const record = build(index)
      this.#putMessage(agentId, record)
      this.#putHead(agentId, { count: index + 1, updatedAt: record.createdAt })
      if (index === 0) this.#enroll(agentId, { messages: true })
      return record
    })
  }

  /** Messages [from, to) in index order; a missing or damaged one is a DamagedRecordError naming it. */
  readBatch(agentId: string, from: number, to: number): MessageRecord[] {
    const rows = this.#all(
      'SELECT idx, record, checksum FROM messages WHERE agent_id = ? AND idx >= ? AND idx < ? ORDER BY idx',
      agentId,
      from,
      to,
    )
    const records: MessageRecord[] = []
    for (let index = from; index < to; index++) {
      const row = rows[index - from]
      if (integer(row, 'idx') !== index) {
        throw new DamagedRecordError(this.#where(agentId, index), 'the record is missing', index)
      }
      records.push(this.#message(agentId, index, row as Row))
    }
    return records
  }

  /** The message at `index`, or null when absent; throws DamagedRecordError if damaged. */
  readMessage(agentId: string, index: number): MessageRecord | null {
    if (index >= HEAD_INDEX) return null
    const row = this.#get(
      'SELECT idx, record, checksum FROM messages WHERE agent_id = ? AND idx = ?',
      agentId,
      index,
    )
    return row ? this.#message(agentId, index, row) : null
  }

  messageBytes(agentId: string, index: number): Uint8Array | null {
    if (index >= HEAD_INDEX) return null
    const value = this.#get(
      'SELECT record FROM messages WHERE agent_id = ? AND idx = ?',
      agentId,
      index,
    )?.record
    return value instanceof Uint8Array ? value : null
  }

  /** Replaces the record at an index below the count (update, quarantine); false if out of range. */
  replaceMessage(agentId: string, record: MessageRecord): boolean {
    return this.#write(() => {
      if (record.index >= this.#count(agentId)) return false
      this.#putMessage(agentId, record)
      return true
    })
  }

  /**
   * Copies the WAL into the database file and truncates the WAL to zero bytes, so a replaced
   * record's old bytes stay in no file (secure_delete zeroes them in the database pages). False
   * when another connection's reader or writer kept it from completing.
   */
  checkpoint(): boolean {
    const result = this.#db.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get()
    return integer(result, 'busy') === 0
  }

  // Internals: every row read is checked against its seal before it is parsed.

  #session(): SessionRecord {
    const row = this.#get('SELECT record, checksum FROM session WHERE id = 0')
    const location = this.path
    // initialize() writes the schema and this row in one transaction: without it, data was lost.
    if (!row)
      throw new DamagedRecordError(location, 'the session record is missing', undefined, { kind: 'session' })
    return parseRecord(
      sessionRecordSchema,
      utf8(unsealed(row, 'session', '', location)),
      location,
    ) as SessionRecord
  }

  #putSession(record: SessionRecord): void {
    const { messageCount: _derived, ...stored } = record
    this.#put('session', { id: 0 }, 'session', '', encode(stored))
  }

  #agent(agentId: string): AgentRecord | null {
    const location = this.#where(agentId)
    const row = this.#get('SELECT record, checksum FROM agents WHERE agent_id = ?', agentId)
    if (!row) {
      if (this.#roster().agents[agentId]?.record)
        throw new DamagedRecordError(location, 'the agent record is missing', undefined, { kind: 'agent' })
      return null
    }
    const record = parseRecord(agentRecordSchema, utf8(unsealed(row, 'agent', agentId, location)), location)
    if (record.agentId !== agentId)
      throw new DamagedRecordError(location, `holds agent "${record.agentId}"`, undefined, { kind: 'agent' })
    return record as AgentRecord
  }

  #putAgent(agentId: string, record: AgentRecord): AgentRecord {
    this.#put('agents', { agent_id: agentId }, 'agent', agentId, encode(record))
    this.#enroll(agentId, { record: true })
    return record
  }

  #roster(): Roster {
    const row = this.#get('SELECT record, checksum FROM session WHERE id = 1')
    // initialize() writes the roster with the session record: without it, data was lost.
    // The roster is part of the session record: `tether sessions repair` rebuilds both.
    if (!row)
      throw new DamagedRecordError(this.path, 'the agent roster is missing', undefined, { kind: 'session' })
    try {
      // A failed seal check is named as the roster's too: the operator sees which row went bad.
      return parseRecord(rosterSchema, utf8(unsealed(row, 'roster', '', this.path)), this.path)
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      throw new DamagedRecordError(this.path, `the agent roster: ${error.reason}`, undefined, {
        kind: 'session',
        cause: error,
      })
    }
  }

  #putRoster(roster: Roster): void {
    this.#put('session', { id: 1 }, 'roster', '', encode(roster))
  }

  /** Records in the roster that the agent now has a record or messages, unless it says so already. */
  #enroll(agentId: string, change: Partial<Enrolment>): void {
    const roster = this.#roster()
    const known = roster.agents[agentId] ?? { record: false, messages: false }
    const next = { ...known, ...change }
    if (roster.agents[agentId] && next.record === known.record && next.messages === known.messages) return
    roster.agents[agentId] = next
    this.#putRoster(roster)
  }

  #headOf(agentId: string): Head | null {
    const row = this.#get(
      'SELECT record, checksum FROM messages WHERE agent_id = ? AND idx = ?',
      agentId,
      HEAD_INDEX,
    )
    if (!row) return null
    const location = `${this.#where(agentId)} head`
    return parseRecord(headSchema, utf8(unsealed(row, 'head', agentId, location)), location)
  }

  #putHead(agentId: string, head: Head): void {
    this.#put('messages', { agent_id: agentId, idx: HEAD_INDEX }, 'head', agentId, encode(head))
  }

  #count(agentId: string): number {
    const head = this.#headOf(agentId)
    // No head: the agent has no messages, unless the roster (on another page) says it has.
    if (!head && this.#roster().agents[agentId]?.messages) {
      throw new DamagedRecordError(
        `${this.#where(agentId)} head`,
        'the agent has messages but its head is missing',
      )
    }
    const stored = head?.count ?? 0
    const last = integer(
      this.#get('SELECT max(idx) AS last FROM messages WHERE agent_id = ? AND idx < ?', agentId, HEAD_INDEX),
      'last',
    )
    const derived = last === undefined ? 0 : last + 1
    if (stored !== derived) {
      throw new DamagedRecordError(
        `${this.#where(agentId)} head`,
        `the head counts ${stored} messages but the highest stored index is ${derived - 1}`,
      )
    }
    return stored
  }

  #message(agentId: string, index: number, row: Row): MessageRecord {
    const location = this.#where(agentId, index)
    const bytes = unsealed(row, 'message', messageKey(agentId, index), location, index)
    const record = parseRecord(messageRecordSchema, utf8(bytes), location, index) as MessageRecord
    if (record.index !== index || record.agentId !== agentId) {
      throw new DamagedRecordError(location, `holds agent "${record.agentId}" index ${record.index}`, index)
    }
    return record
  }

  #putMessage(agentId: string, record: MessageRecord): void {
    this.#put(
      'messages',
      { agent_id: agentId, idx: record.index },
      'message',
      messageKey(agentId, record.index),
      encode(record),
    )
  }

  /** Inserts or replaces one row, sealed: `key` is its primary key, `sealKey` what the seal binds it to. */
  #put(
    table: string,
    key: Record<string, string | number>,
    kind: string,
    sealKey: string,
    bytes: Uint8Array,
  ): void {
    const columns = Object.keys(key)
    this.#run(
      `INSERT INTO ${table} (${columns.join(', ')}, record, checksum) VALUES (${columns.map(() => '?').join(', ')}, ?, ?) ` +
        `ON CONFLICT (${columns.join(', ')}) DO UPDATE SET record = excluded.record, checksum = excluded.checksum`,
      ...Object.values(key),
      bytes,
      seal(kind, sealKey, bytes),
    )
  }

  #where(agentId: string, index?: number): string {
    return `${this.path} (agent ${JSON.stringify(agentId)}${index === undefined ? '' : `, message ${index}`})`
  }

  /**
   * A write transaction. IMMEDIATE takes the database's write lock up front (SQLITE_BUSY at once
   * if another connection holds it; the repository retries), so the count read inside and the
   * append cannot be split by another writer: this is the compare in compare-and-append.
   */
  #write<T>(work: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE')
    return this.#finish(work)
  }

  /** A read transaction: the head and the highest index are read from one snapshot. */
  #read<T>(work: () => T): T {
    this.#db.exec('BEGIN')
    return this.#finish(work)
  }

  #finish<T>(work: () => T): T {
    try {
      const result = work()
      this.#db.exec('COMMIT')
      return result
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK')
      throw error
    }
  }

  #pragma(name: string): number {
    return integer(this.#db.prepare(`PRAGMA ${name}`).get(), name) ?? 0
  }

  #statement(sql: string): StatementSync {
    let statement = this.#statements.get(sql)
    if (!statement) {
      statement = this.#db.prepare(sql)
      this.#statements.set(sql, statement)
    }
    return statement
  }

  #get(sql: string, ...values: SQLInputValue[]): Row | undefined {
    return this.#statement(sql).get(...values)
  }

  #all(sql: string, ...values: SQLInputValue[]): Row[] {
    return this.#statement(sql).all(...values)
  }

  #run(sql: string, ...values: SQLInputValue[]): void {
    this.#statement(sql).run(...values)
  }
}

function messageKey(agentId: string, index: number): string {
  return JSON.stringify([agentId, index])
}
