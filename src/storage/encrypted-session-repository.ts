import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { JsonObject } from '../agent/agent-state.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { type ContentBlock, contentBlockSchema, jsonValueSchema, type Message } from '../messages/message.ts'
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
} from '../session/session-repository.ts'
import { DecryptionError } from './decryption-error.ts'

export interface EncryptionKey {
  /** Stored beside each ciphertext, so a reader knows which key to use: keep it short and stable. */
  id: string
  /** 32 bytes (AES-256). Keep it in a secret manager, never beside the sessions. */
  key: Uint8Array
}

export interface EncryptedSessionRepositoryOptions {
  repository: SessionRepository
  /** The first key encrypts; every key decrypts (rotate by putting the new key first). */
  keys: EncryptionKey[]
}

const PREFIX = 'tether-sealed:v1:'
const STATE_FIELD = 'tether-sealed'
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/

/**
 * Encryption at rest for any `SessionRepository` (file, S3, your own): message content and agent
 * state are sealed with AES-256-GCM before the inner repository sees them.
 *
 * - A sealed message keeps its role and becomes one text block `tether-sealed:v1:<key id>:<iv>:<data>`,
 *   so stored records keep their schema and every backend's guarantees (atomic writes, ordering,
 *   repair) hold unchanged. Agent state becomes `{ "tether-sealed": "<same envelope>" }`.
 * - The ciphertext is bound to its session, agent and kind (GCM additional data): a record copied
 *   into another session or agent fails to decrypt instead of being read there.
 * - What stays readable: session and agent IDs, roles, indexes, timestamps, the conversation
 *   manager's counters, and the placeholders a repair writes. Records written before encryption
 *   was turned on are read as they are.
 * - A missing or wrong key, or altered ciphertext, is a `DecryptionError`, never a
 *   `DamagedRecordError`: a repair must never replace data that the right key would read.
 */
export class EncryptedSessionRepository implements SessionRepository {
  readonly #inner: SessionRepository
  readonly #keys: Map<string, Uint8Array>
  readonly #current: EncryptionKey

  constructor(options: EncryptedSessionRepositoryOptions) {
    const [current] = options.keys
    if (!current) throw new ConfigurationError('EncryptedSessionRepository needs at least one key.')
    for (const { id, key } of options.keys) {
      if (!KEY_ID.test(id))
        throw new ConfigurationError(`Key id "${id}" is invalid: use 1-64 letters, digits, _ or -.`)
      if (key.byteLength !== 32) {
        throw new ConfigurationError(
          `Key "${id}" has ${key.byteLength} bytes; AES-256 needs 32 (e.g. randomBytes(32)).`,
        )
      }
    }
    this.#inner = options.repository
    this.#current = current
    this.#keys = new Map(options.keys.map(({ id, key }) => [id, key]))
  }

  async createSession(ref: SessionRef): Promise<SessionRecord> {
    return this.#openSession(await this.#inner.createSession(ref))
  }

  async readSession(ref: SessionRef): Promise<SessionRecord | null> {
    const record = await this.#inner.readSession(ref)
    return record && this.#openSession(record)
  }

  async listSessions(options?: ListSessionsOptions): Promise<SessionPage> {
    const page = await this.#inner.listSessions(options)
    return { ...page, sessions: page.sessions.map((record) => this.#openSession(record)) }
  }

  /** The title and metadata are sealed like messages (a chat's title tells what it is about). */
  async updateSession(update: SessionUpdate): Promise<SessionRecord> {
    validSessionUpdate(update)
    const where = { sessionId: update.sessionId, agentId: '' }
    const { title, metadata } = update
    const record = await this.#inner.updateSession({
      sessionId: update.sessionId,
      ...(title === undefined
        ? {}
        : { title: title === null ? null : this.#seal(title, additionalData(where, 'title')) }),
      ...(metadata === undefined
        ? {}
        : {
            metadata:
              metadata === null
                ? null
                : { [STATE_FIELD]: this.#seal(JSON.stringify(metadata), additionalData(where, 'metadata')) },
          }),
    })
    return this.#openSession(record)
  }

  deleteSession(ref: SessionRef): Promise<void> {
    return this.#inner.deleteSession(ref)
  }

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const sealed = this.#seal(JSON.stringify(write.state), additionalData(write, 'state'))
    const record = await this.#inner.writeAgent({ ...write, state: { [STATE_FIELD]: sealed } })
    return { ...record, state: write.state }
  }

  async readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    const record = await this.#inner.readAgent(ref)
    return record && this.#openAgent(record)
  }

  async listAgents(ref: SessionRef): Promise<AgentRecord[]> {
    return (await this.#inner.listAgents(ref)).map((record) => this.#openAgent(record))
  }

  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    const record = await this.#inner.appendMessage({
      ...input,
      message: this.#sealMessage(input, input.message),
    })
    return { ...record, message: input.message }
  }

  async readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    return (await this.#inner.readMessages(input)).map((record) => this.#openMessage(record))
  }

  countMessages(ref: AgentRef): Promise<number> {
    return this.#inner.countMessages(ref)
  }

  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const record = await this.#inner.updateMessage({
      ...input,
      message: this.#sealMessage(input, input.message),
    })
    return { ...record, message: input.message }
  }

  async quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    // The placeholder says only that a record was unreadable: it is stored as it is.
    return this.#openMessage(await this.#inner.quarantineMessage(input))
  }

  #sealMessage(ref: AgentRef, input: Message): Message {
    // Validated here: once sealed, the inner repository can no longer see what the content was.
    const message = validMessage(input, 'message to store')
    const text = this.#seal(JSON.stringify(message.content), additionalData(ref, `message:${message.role}`))
    return { role: message.role, content: [{ type: 'text', text }] }
  }

  #openMessage(record: MessageRecord): MessageRecord {
    const [only, ...rest] = record.message.content
    if (rest.length > 0 || only?.type !== 'text' || !only.text.startsWith(PREFIX)) return record
    const where = `message ${record.index} of session "${record.sessionId}" agent "${record.agentId}"`
    const json = this.#open(only.text, additionalData(record, `message:${record.message.role}`), where)
    const content = z.array(contentBlockSchema).safeParse(parseJson(json))
    if (!content.success) throw new DecryptionError(where, 'the decrypted content is not message content')
    return { ...record, message: { role: record.message.role, content: content.data as ContentBlock[] } }
  }

  #openSession(record: SessionRecord): SessionRecord {
    const ref = { sessionId: record.sessionId, agentId: '' }
    const opened = { ...record }
    if (record.title?.startsWith(PREFIX)) {
      opened.title = this.#open(
        record.title,
        additionalData(ref, 'title'),
        `title of session "${record.sessionId}"`,
      )
    }
    const sealed = record.metadata?.[STATE_FIELD]
    if (typeof sealed === 'string' && Object.keys(record.metadata ?? {}).length === 1) {
      const where = `metadata of session "${record.sessionId}"`
      const metadata = z
        .record(z.string(), jsonValueSchema)
        .safeParse(parseJson(this.#open(sealed, additionalData(ref, 'metadata'), where)))
      if (!metadata.success) throw new DecryptionError(where, 'the decrypted metadata is not a JSON object')
      opened.metadata = metadata.data as JsonObject
    }
    return opened
  }

  #openAgent(record: AgentRecord): AgentRecord {
    const sealed = record.state[STATE_FIELD]
    if (typeof sealed !== 'string' || Object.keys(record.state).length !== 1) return record
    const where = `agent record of session "${record.sessionId}" agent "${record.agentId}"`
    const state = z
      .record(z.string(), jsonValueSchema)
      .safeParse(parseJson(this.#open(sealed, additionalData(record, 'state'), where)))
    if (!state.success) throw new DecryptionError(where, 'the decrypted state is not a JSON object')
    return { ...record, state: state.data as JsonObject }
  }

  #seal(plaintext: string, aad: Buffer): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv)
    cipher.setAAD(aad)
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return `${PREFIX}${this.#current.id}:${iv.toString('base64url')}:${data.toString('base64url')}`
  }

  #open(envelope: string, aad: Buffer, where: string): string {
    const [keyId = '', ivText = '', dataText = ''] = envelope.slice(PREFIX.length).split(':')
    const key = this.#keys.get(keyId)
    if (!key) throw new DecryptionError(where, `it was encrypted with key "${keyId}", which was not given`)
    const data = Buffer.from(dataText, 'base64url')
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'))
      decipher.setAAD(aad)
      decipher.setAuthTag(data.subarray(data.length - 16))
      return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString(
        'utf8',
      )
    } catch (error) {
      throw new DecryptionError(
        where,
        `authentication failed under key "${keyId}" (a different key with that id, altered data, or a record moved from elsewhere)`,
        { cause: error },
      )
    }
  }
}

/** Binds a ciphertext to where it belongs, so it cannot be replayed into another session or agent. */
function additionalData(ref: AgentRef, kind: string): Buffer {
  return Buffer.from(JSON.stringify([ref.sessionId, ref.agentId, kind]), 'utf8')
}

/** JSON.parse that returns undefined instead of throwing: the zod check that follows reports it. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}
