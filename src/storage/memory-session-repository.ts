import type { Message } from '../messages/message.ts'
import { RecordNotFoundError, SessionConflictError } from '../session/session-errors.ts'
import { sessionPage } from '../session/session-list-page.ts'
import {
  type AgentRecord,
  type MessageRecord,
  SCHEMA_VERSION,
  type SessionRecord,
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
} from '../session/session-repository.ts'
import { encodeStorageName } from './storage-name.ts'

interface StoredAgent {
  record: AgentRecord | null
  messages: MessageRecord[]
}

interface StoredSession {
  record: SessionRecord
  agents: Map<string, StoredAgent>
}

const DEFAULT_PAGE = 100

/**
 * Sessions in this process's memory: for tests and short-lived processes. Records are copied in
 * and out, so callers can never alias stored data, exactly as with a real backend.
 */
export class MemorySessionRepository implements SessionRepository {
  readonly #sessions = new Map<string, StoredSession>()

  async createSession({ sessionId }: SessionRef): Promise<SessionRecord> {
    encodeStorageName(sessionId, 'session ID')
    const existing = this.#sessions.get(sessionId)
    if (existing) return copy(existing.record)
    const record: SessionRecord = { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }
    this.#sessions.set(sessionId, { record, agents: new Map() })
    return copy(record)
  }

  async readSession({ sessionId }: SessionRef): Promise<SessionRecord | null> {
    encodeStorageName(sessionId, 'session ID')
    const session = this.#sessions.get(sessionId)
    return session ? copy(session.record) : null
  }

  async listSessions(options: ListSessionsOptions = {}): Promise<SessionPage> {
    const records = [...this.#sessions.values()].map((session) => session.record)
    const page = sessionPage(records, options, DEFAULT_PAGE)
    return { ...page, sessions: page.sessions.map(copy) }
  }

  async updateSession({ sessionId, title, metadata }: SessionUpdate): Promise<SessionRecord> {
    encodeStorageName(sessionId, 'session ID')
    const session = this.#sessions.get(sessionId)
    if (!session) throw new RecordNotFoundError(`memory:${sessionId}`)
    session.record = updatedSessionRecord(session.record, { title, metadata }, now())
    return copy(session.record)
  }

  async deleteSession({ sessionId }: SessionRef): Promise<void> {
    this.#sessions.delete(sessionId)
  }

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const stored = this.#agent(write, true)
    const record: AgentRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: write.sessionId,
      agentId: write.agentId,
      revision: (stored.record?.revision ?? -1) + 1,
      state: copy(write.state),
      conversationManagerState: copy(write.conversationManagerState),
      windowStart: write.windowStart,
      updatedAt: now(),
    }
    stored.record = record
    return copy(record)
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    const record = this.#agent(ref, false)?.record
    return record ? copy(record) : null
  }

  async listAgents({ sessionId }: SessionRef): Promise<AgentRecord[]> {
    const agents = this.#sessions.get(sessionId)?.agents ?? new Map<string, StoredAgent>()
    return [...agents.keys()].sort().flatMap((agentId) => {
      const record = agents.get(agentId)?.record
      return record ? [copy(record)] : []
    })
  }

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message to append')
    const stored = this.#agent(input, true)
    const index = stored.messages.length
    if (input.expectedIndex !== undefined && input.expectedIndex !== index) {
      throw new SessionConflictError(input.sessionId, input.agentId, input.expectedIndex)
    }
    const time = now()
    const record: MessageRecord = {
      schemaVersion: SCHEMA_VERSION,
      sessionId: input.sessionId,
      agentId: input.agentId,
      index,
      revision: 0,
      message: copy(message),
      createdAt: time,
      updatedAt: time,
    }
    stored.messages.push(record)
    const session = this.#sessions.get(input.sessionId) as StoredSession
    session.record = {
      ...session.record,
      updatedAt: time,
      messageCount: (session.record.messageCount ?? 0) + 1,
    }
    return copy(record)
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    const messages = this.#agent(input, false)?.messages ?? []
    const offset = input.offset ?? 0
    const end = input.limit === undefined ? undefined : offset + input.limit
    return copy(messages.slice(offset, end))
  }

  async countMessages(ref: AgentRef): Promise<number> {
    return this.#agent(ref, false)?.messages.length ?? 0
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message update')
    const current = this.#agent(input, false)?.messages[input.index]
    if (!current) throw new RecordNotFoundError(`memory:${input.sessionId}/${input.agentId}/${input.index}`)
    const record: MessageRecord = {
      ...current,
      message: copy(message),
      revision: current.revision + 1,
      updatedAt: now(),
    }
    delete record.damaged
    ;(this.#agent(input, false) as StoredAgent).messages[input.index] = record
    return copy(record)
  }

  /** Memory records are never damaged, so there is nothing to keep aside. */
  async quarantineMessage(input: AgentRef & { index: number }): Promise<MessageRecord> {
    const current = this.#agent(input, false)?.messages[input.index]
    if (!current) throw new RecordNotFoundError(`memory:${input.sessionId}/${input.agentId}/${input.index}`)
    return copy(current)
  }

  #agent(ref: AgentRef, create: true): StoredAgent
  #agent(ref: AgentRef, create: false): StoredAgent | undefined
  #agent({ sessionId, agentId }: AgentRef, create: boolean): StoredAgent | undefined {
    encodeStorageName(sessionId, 'session ID')
    encodeStorageName(agentId, 'agent ID')
    let session = this.#sessions.get(sessionId)
    if (!session) {
      if (!create) return undefined
      session = { record: { schemaVersion: SCHEMA_VERSION, sessionId, createdAt: now() }, agents: new Map() }
      this.#sessions.set(sessionId, session)
    }
    let agent = session.agents.get(agentId)
    if (!agent && create) {
      agent = { record: null, messages: [] }
      session.agents.set(agentId, agent)
    }
    return agent
  }
}

function copy<T>(value: T): T {
  return structuredClone(value)
}

function now(): string {
  return new Date().toISOString()
}
