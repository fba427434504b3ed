import { z } from 'zod'
import type { JsonObject } from '../agent/agent-state.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { canonicalJson, jsonEqual } from '../messages/json-equal.ts'
import { type ContentBlock, contentBlockSchema, jsonValueSchema, type Message } from '../messages/message.ts'
import { DAMAGED_PLACEHOLDER } from '../session/load-repaired-history.ts'
import { SessionConflictError } from '../session/session-errors.ts'
import { canRecoverSessionRecord } from '../session/session-record-recovery.ts'
import {
  type AgentRecord,
  type MessageRecord,
  type SessionRecord,
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
import { DecryptionError } from './decryption-error.ts'
import { type EncryptionKey, SealedEnvelope, type SealedPlace } from './sealed-envelope.ts'

export type { EncryptionKey } from './sealed-envelope.ts'

export interface EncryptedSessionRepositoryOptions {
  repository: SessionRepository
  /** The first key encrypts; every key decrypts (rotate by putting the new key first). */
  keys: EncryptionKey[]
}

/** What `encryptSession` did: records sealed now, and records that were sealed already. */
export interface EncryptSessionReport {
  sessionId: string
  agents: { agentId: string; sealedNow: number; alreadySealed: number }[]
}

const STATE_FIELD = 'tether-sealed'
const ADOPT =
  'If this session was stored before encryption, adopt it explicitly: encryptSession() or `tether sessions encrypt ID --key-file FILE`'
const MAX_APPEND_ATTEMPTS = 1000

/**
 * Encryption at rest for any `SessionRepository` (file, S3, your own): message content and agent
 * state are sealed with AES-256-GCM before the inner repository sees them (docs/encryption.md).
 *
 * - A sealed message keeps its role and becomes one text block `tether-sealed:v2:<key id>:<iv>:<data>`,
 *   so stored records keep their schema and every backend's guarantees (atomic writes, ordering,
 *   repair) hold unchanged. Agent state becomes `{ "tether-sealed": "<same envelope>" }`.
 * - Each ciphertext is bound (GCM additional data) to the place the READER asks for: session ID,
 *   agent ID, record kind, and a message's index and role; an agent record also to its window
 *   start and conversation manager state. A record copied from another session, agent or index,
 *   or swapped within a history, fails to authenticate.
 * - Plaintext records (except the fixed placeholder a repair writes) and unknown envelope
 *   versions are refused: a `DecryptionError`, never shown, never a `DamagedRecordError` (a
 *   repair must never replace data that the right key would read).
 * - Not stoppable without a trusted counter outside the store, and documented: replacing a record
 *   with an older sealed copy of the SAME place (undoing a redaction), dropping the newest
 *   messages, or rolling a whole session back to an older copy.
 */
export class EncryptedSessionRepository implements SessionRepository {
  readonly #inner: SessionRepository
  readonly #envelope: SealedEnvelope

  constructor(options: EncryptedSessionRepositoryOptions) {
    this.#envelope = new SealedEnvelope(options.keys)
    this.#inner = options.repository
  }

  async createSession(ref: SessionRef): Promise<SessionRecord> {
    return this.#openSession(ref, await this.#inner.createSession(ref))
  }

  async readSession(ref: SessionRef): Promise<SessionRecord | null> {
    const record = await this.#inner.readSession(ref)
    return record && this.#openSession(ref, record)
  }

  /**
   * Rebuilds a damaged session record through the repository underneath, where it can (the file
   * and S3 repositories): the rebuilt record has no title or metadata, so nothing needs sealing.
   */
  async recoverSessionRecord(ref: SessionRef): Promise<{ record: SessionRecord; keptAs?: string }> {
    if (!canRecoverSessionRecord(this.#inner)) {
      throw new ConfigurationError(
        'The repository under this EncryptedSessionRepository cannot rebuild session records.',
      )
    }
    const { record, keptAs } = await this.#inner.recoverSessionRecord(ref)
    return { record: this.#openSession(ref, record), ...(keptAs === undefined ? {} : { keptAs }) }
  }

  /** A session whose title or metadata does not open is reported in `unreadable`, never shown. */
  async listSessions(options?: ListSessionsOptions): Promise<SessionPage> {
    const page = await this.#inner.listSessions(options)
    const sessions: SessionRecord[] = []
    const unreadable: UnreadableSession[] = [...(page.unreadable ?? [])]
    for (const record of page.sessions) {
      try {
        sessions.push(this.#openSession(record, record))
      } catch (error) {
        if (!(error instanceof DecryptionError)) throw error
        unreadable.push({ location: `session "${record.sessionId}"`, reason: error.message })
      }
    }
    return { ...page, sessions, ...(unreadable.length > 0 ? { unreadable } : {}) }
  }

  /** The title and metadata are sealed like messages (a chat's title tells what it is about). */
  async updateSession(update: SessionUpdate): Promise<SessionRecord> {
    validSessionUpdate(update)
    const { title, metadata } = update
    const record = await this.#inner.updateSession({
      sessionId: update.sessionId,
      ...(title === undefined
        ? {}
        : { title: title === null ? null : this.#envelope.seal(title, ['title', update.sessionId]) }),
      ...(metadata === undefined
        ? {}
        : {
            metadata:
              metadata === null
                ? null
                : {
                    [STATE_FIELD]: this.#envelope.seal(JSON.stringify(metadata), [
                      'metadata',
                      update.sessionId,
                    ]),
                  },
          }),
    })
    return this.#openSession(update, record)
  }

  deleteSession(ref: SessionRef): Promise<void> {
    return this.#inner.deleteSession(ref)
  }

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const sealed = this.#envelope.seal(JSON.stringify(write.state), agentPlace(write, write))
    const record = await this.#inner.writeAgent({ ...write, state: { [STATE_FIELD]: sealed } })
    return { ...record, state: write.state }
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    const record = await this.#inner.readAgent(ref)
    return record && this.#openAgent(ref, record)
  }

  async listAgents(ref: SessionRef): Promise<AgentRecord[]> {
    // The agent ID is the record's own: the listing is where it comes from. It still must
    // authenticate under this session, and readAgent binds it to the agent the reader names.
    return (await this.#inner.listAgents(ref)).map((record) =>
      this.#openAgent({ sessionId: ref.sessionId, agentId: record.agentId }, record),
    )
  }

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message to store')
    if (input.expectedIndex !== undefined) return this.#appendAt(input, message, input.expectedIndex)
    // The index is sealed into the record, so it must be known first: compare-and-append at the
    // head, and on a lost race seal again for the next index (never two writers at one index).
    // Each conflict means another writer took the index, so the history moved on: the loop ends
    // unless the store keeps reporting a head that is already taken (then the bound stops it).
    let index = await this.#inner.countMessages(input)
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#appendAt(input, message, index)
      } catch (error) {
        if (!(error instanceof SessionConflictError) || attempt >= MAX_APPEND_ATTEMPTS) throw error
      }
      index = Math.max(index + 1, await this.#inner.countMessages(input))
    }
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    const offset = input.offset ?? 0
    const records = await this.#inner.readMessages(input)
    return records.map((record, position) => this.#openMessage(input, offset + position, record))
  }

  countMessages(ref: AgentRef): Promise<number> {
    return this.#inner.countMessages(ref)
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const message = validMessage(input.message, 'message update')
    const record = await this.#inner.updateMessage({
      ...input,
      message: this.#sealMessage(input, input.index, message),
    })
    return { ...record, message }
  }

  async quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    // The placeholder is sealed for its index too, so the repaired history stays authenticated.
    const placeholder = this.#sealMessage(input, input.index, validMessage(input.placeholder, 'placeholder'))
    const record = await this.#inner.quarantineMessage({ ...input, placeholder })
    return this.#openMessage(input, input.index, record)
  }

  /**
   * Adopts a session stored before encryption: seals every plaintext message and agent record in
   * place (an update: the plaintext does not stay at rest) and checks every sealed one. Explicit,
   * because reading plaintext silently would let anyone with write access inject records.
   * Safe to run again after a crash: records already sealed are left as they are.
   */
  async encryptSession(ref: SessionRef): Promise<EncryptSessionReport> {
    const agents: EncryptSessionReport['agents'] = []
    for (const agent of await this.#inner.listAgents(ref)) {
      const agentRef = { sessionId: ref.sessionId, agentId: agent.agentId }
      let sealedNow = 0
      let alreadySealed = 0
      const count = await this.#inner.countMessages(agentRef)
      for (let index = 0; index < count; index++) {
        const [record] = await this.#inner.readMessages({ ...agentRef, offset: index, limit: 1 })
        if (!record) break
        if (sealedText(record.message) !== undefined) {
          this.#openMessage(agentRef, index, record)
          alreadySealed++
        } else if (!isRepairPlaceholder(record)) {
          await this.updateMessage({ ...agentRef, index, message: record.message })
          sealedNow++
        }
      }
      if (sealedState(agent) === undefined) {
        await this.writeAgent({ ...agentRef, ...agentFields(agent), state: agent.state })
        sealedNow++
      } else {
        this.#openAgent(agentRef, agent)
        alreadySealed++
      }
      agents.push({ agentId: agent.agentId, sealedNow, alreadySealed })
    }
    return { sessionId: ref.sessionId, agents }
  }

  async #appendAt(ref: AgentRef, message: Message, index: number): Promise<MessageRecord> {
    const sealed = this.#sealMessage(ref, index, message)
    const record = await this.#inner.appendMessage({ ...ref, message: sealed, expectedIndex: index })
    return { ...record, message }
  }

  #sealMessage(ref: AgentRef, index: number, message: Message): Message {
    const text = this.#envelope.seal(JSON.stringify(message.content), messagePlace(ref, index, message))
    return {
      role: message.role,
      content: [{ type: 'text', text }],
      ...(message.id === undefined ? {} : { id: message.id }),
    }
  }

  #openMessage(ref: AgentRef, index: number, record: MessageRecord): MessageRecord {
    const where = `message ${index} of session "${ref.sessionId}" agent "${ref.agentId}"`
    const sealed = sealedText(record.message)
    if (sealed === undefined) {
      // The fixed text a repair wrote before encryption was turned on says nothing an attacker
      // could choose; any other plaintext record is refused.
      if (isRepairPlaceholder(record)) return record
      throw new DecryptionError(where, 'it is stored in plaintext, not sealed', { advice: ADOPT })
    }
    const json = this.#envelope.open(sealed, messagePlace(ref, index, record.message), where)
    const content = z.array(contentBlockSchema).safeParse(parseJson(json))
    if (!content.success) throw new DecryptionError(where, 'the decrypted content is not message content')
    const message: Message = {
      role: record.message.role,
      content: content.data as ContentBlock[],
      ...(record.message.id === undefined ? {} : { id: record.message.id }),
    }
    return { ...record, sessionId: ref.sessionId, agentId: ref.agentId, index, message }
  }

  /** Title and metadata, when present, must be sealed for this session; plaintext ones are refused. */
  #openSession(ref: SessionRef, record: SessionRecord): SessionRecord {
    const opened = { ...record, sessionId: ref.sessionId }
    if (record.title !== undefined) {
      const where = `title of session "${ref.sessionId}"`
      if (!SealedEnvelope.isSealed(record.title)) {
        throw new DecryptionError(where, 'it is stored in plaintext, not sealed', { advice: ADOPT })
      }
      opened.title = this.#envelope.open(record.title, ['title', ref.sessionId], where)
    }
    if (record.metadata !== undefined) {
      const where = `metadata of session "${ref.sessionId}"`
      const sealed = record.metadata[STATE_FIELD]
      if (typeof sealed !== 'string' || Object.keys(record.metadata).length !== 1) {
        throw new DecryptionError(where, 'it is stored in plaintext, not sealed', { advice: ADOPT })
      }
      const metadata = z
        .record(z.string(), jsonValueSchema)
        .safeParse(parseJson(this.#envelope.open(sealed, ['metadata', ref.sessionId], where)))
      if (!metadata.success) throw new DecryptionError(where, 'the decrypted metadata is not a JSON object')
      opened.metadata = metadata.data as JsonObject
    }
    return opened
  }

  #openAgent(ref: AgentRef, record: AgentRecord): AgentRecord {
    const where = `agent record of session "${ref.sessionId}" agent "${ref.agentId}"`
    const sealed = sealedState(record)
    if (sealed === undefined) {
      throw new DecryptionError(where, 'its state is stored in plaintext, not sealed', { advice: ADOPT })
    }
    const json = this.#envelope.open(sealed, agentPlace(ref, record), where)
    const state = z.record(z.string(), jsonValueSchema).safeParse(parseJson(json))
    if (!state.success) throw new DecryptionError(where, 'the decrypted state is not a JSON object')
    return { ...record, sessionId: ref.sessionId, agentId: ref.agentId, state: state.data as JsonObject }
  }
}

/** A message's `id` (sync identity) stays readable for the sync but is authenticated with the rest. */
function messagePlace(ref: AgentRef, index: number, message: Message): SealedPlace {
  const place = ['message', ref.sessionId, ref.agentId, index, message.role]
  return message.id === undefined ? place : [...place, message.id]
}

/** The window start and manager state are plaintext (the store needs them) but authenticated. */
function agentPlace(ref: AgentRef, fields: Pick<AgentWrite, 'windowStart' | 'conversationManagerState'>) {
  const manager = fields.conversationManagerState
  return [
    'agent',
    ref.sessionId,
    ref.agentId,
    fields.windowStart,
    manager === null ? null : (canonicalJson(manager) ?? null),
  ] as const satisfies SealedPlace
}

function agentFields(record: AgentRecord) {
  return { windowStart: record.windowStart, conversationManagerState: record.conversationManagerState }
}

function sealedText(message: Message): string | undefined {
  const [only, ...rest] = message.content
  if (rest.length > 0 || only?.type !== 'text' || !SealedEnvelope.isSealed(only.text)) return undefined
  return only.text
}

function sealedState(record: AgentRecord): string | undefined {
  const sealed = record.state[STATE_FIELD]
  return typeof sealed === 'string' && Object.keys(record.state).length === 1 ? sealed : undefined
}

function isRepairPlaceholder(record: MessageRecord): boolean {
  return record.damaged !== undefined && jsonEqual(record.message, DAMAGED_PLACEHOLDER)
}

/** JSON.parse that returns undefined instead of throwing: the zod check that follows reports it. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
