import type { JsonObject } from '../agent/agent-state.ts'
import type { ConversationManagerState } from '../conversation/conversation-manager.ts'
import type { Message } from '../messages/message.ts'
import type { AgentRecord, MessageRecord, SessionRecord } from './session-records.ts'

export interface SessionRef {
  sessionId: string
}
export interface AgentRef extends SessionRef {
  agentId: string
}

export interface AgentWrite extends AgentRef {
  state: JsonObject
  conversationManagerState: ConversationManagerState | null
  windowStart: number
}

export interface ListSessionsOptions {
  /** From a previous page's `nextCursor` (opaque: pass it back as it is). */
  cursor?: string
  /** Page size; default and maximum are the repository's. */
  limit?: number
}

/** A session whose record could not be read (damaged, or from a newer format). */
export interface UnreadableSession {
  /** The path or key of the record; the session ID itself is inside the unreadable record. */
  location: string
  /** The typed error's message: what is wrong and what to do. */
  reason: string
}

/**
 * What `updateSession` changes: a field that is absent stays as it is, `null` removes it. `metadata`
 * replaces the whole object (read, change and write back to edit one field).
 */
export interface SessionUpdate extends SessionRef {
  title?: string | null
  metadata?: JsonObject | null
}

export interface SessionPage {
  sessions: SessionRecord[]
  /** Present when more sessions follow. */
  nextCursor?: string
  /** Sessions on this page whose record could not be read: reported, so one bad record never hides the rest. */
  unreadable?: UnreadableSession[]
}

/**
 * Where sessions live. Implement it to add a backend; `tether-agents/testing` has a conformance
 * suite every implementation should pass. The model:
 *
 *   session (sessionId: any non-empty string)
 *   └── agent (agentId)          one record: state, conversation manager state, window start
 *       └── messages 0, 1, 2 …   append-only positions with no gaps; a record can be updated
 *                                (redaction, repair) but never removed on its own
 *
 * Contract:
 * - Reads of something absent return `null` (or an empty list); every other failure throws a
 *   typed `TetherError` with the underlying error as `cause` — never "not found" for a failure.
 * - `appendMessage` is durable when it resolves, and two writers never get the same index: every
 *   appended message is stored exactly once, and all readers see one order.
 * - With `expectedIndex`, an append either lands at exactly that index or throws
 *   `SessionConflictError` having written nothing (compare-and-append).
 * - `listSessions` reports a session whose record cannot be read in `unreadable` and lists the rest.
 * - A session's `updatedAt` follows its last append and `updateSession`; `listSessions` orders by it.
 * - Damaged records throw `DamagedRecordError` naming the location; `quarantineMessage` keeps the
 *   damaged bytes aside and replaces the record with a placeholder at the same index.
 * - Every record carries `schemaVersion`; records from a newer format throw
 *   `UnsupportedSchemaVersionError` and are left untouched.
 */
export interface SessionRepository {
  /** Creates the session, or returns it if it exists (safe to race). */
  createSession(ref: SessionRef): Promise<SessionRecord>
  readSession(ref: SessionRef): Promise<SessionRecord | null>
  /**
   * Sessions, most recently active first (`updatedAt`, else `createdAt`; ties by session ID), in
   * pages. A session active while you page may move to the front: it is then missing from the pages
   * still to come, or seen twice; list again from the start for an exact view.
   */
  listSessions(options?: ListSessionsOptions): Promise<SessionPage>
  /**
   * Sets the session's `title` and `metadata` and its `updatedAt`. Throws `RecordNotFoundError` when
   * the session does not exist.
   */
  updateSession(update: SessionUpdate): Promise<SessionRecord>
  /** Removes the session with all its agents and messages. Deleting an absent session is a no-op. */
  deleteSession(ref: SessionRef): Promise<void>

  /** Creates or replaces the agent record; its `revision` grows by one. */
  writeAgent(write: AgentWrite): Promise<AgentRecord>
  readAgent(ref: AgentRef): Promise<AgentRecord | null>
  listAgents(ref: SessionRef): Promise<AgentRecord[]>

  appendMessage(input: AgentRef & { message: Message; expectedIndex?: number }): Promise<MessageRecord>
  /** Messages from `offset` (default 0), at most `limit` (default: all), in index order. */
  readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]>
  /** How many messages the agent has: the index the next append gets. */
  countMessages(ref: AgentRef): Promise<number>
  /** Replaces a stored message (redaction, repair); the old content does not stay at rest. */
  updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord>
  /**
   * Keeps a damaged record's bytes aside and replaces it with `placeholder` (marked `damaged`).
   * Returns the new record. A record that is not damaged is left as it is and returned.
   */
  quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord>
}
