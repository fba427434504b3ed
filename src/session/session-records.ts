import { z } from 'zod'
import type { JsonObject } from '../agent/agent-state.ts'
import type { ConversationManagerState } from '../conversation/conversation-manager.ts'
import { ValidationError } from '../errors/validation-error.ts'
import { jsonValueSchema, type Message, messageSchema } from '../messages/message.ts'
import { DamagedRecordError, UnsupportedSchemaVersionError } from './session-errors.ts'

/**
 * Stored records. Every record is plain JSON with a `schemaVersion`; readers accept the versions
 * listed in SUPPORTED_SCHEMA_VERSIONS and refuse newer ones with a typed error (never a guess).
 *
 * Version history:
 * - 1: first format (tether-agents 0.1).
 */
export const SCHEMA_VERSION = 1
export const SUPPORTED_SCHEMA_VERSIONS: readonly number[] = [1]

export const sessionRecordSchema = z.object({
  schemaVersion: z.literal(1),
  sessionId: z.string().min(1),
  createdAt: z.string(),
  // Optional fields added in 0.2 within version 1: a 0.1 reader ignores them, and a record without
  // them (written by 0.1) is still valid. `updatedAt` falls back to `createdAt` (see lastActivity).
  /** A name for the conversation, e.g. for a chat list. Set with `updateSession`. */
  title: z.string().optional(),
  /** The application's own fields (owner, tags, ...), as JSON. Set with `updateSession`. */
  metadata: z.record(z.string(), jsonValueSchema).optional(),
  /** ISO time of the last append or `updateSession`. */
  updatedAt: z.string().optional(),
  /** Messages over all agents, where the backend knows it cheaply. */
  messageCount: z.number().int().nonnegative().optional(),
})
export type SessionRecord = z.infer<typeof sessionRecordSchema>

/** When a session was last active: `updatedAt`, or `createdAt` for a record written before 0.2. */
export function lastActivity(record: SessionRecord): string {
  return record.updatedAt ?? record.createdAt
}

const sessionUpdateSchema = z.object({
  title: z.string().nullable().optional(),
  metadata: z.record(z.string(), jsonValueSchema).nullable().optional(),
})

/** Checks the fields of an `updateSession` call before anything is stored or sealed. */
export function validSessionUpdate(update: { title?: unknown; metadata?: unknown }): void {
  const parsed = sessionUpdateSchema.safeParse({ title: update.title, metadata: update.metadata })
  if (!parsed.success) throw ValidationError.fromZod('session update', parsed.error)
}

/** The record with `title` / `metadata` set (absent: kept, null: removed) and `updatedAt` = `time`. */
export function updatedSessionRecord(
  record: SessionRecord,
  update: { title?: string | null | undefined; metadata?: JsonObject | null | undefined },
  time: string,
): SessionRecord {
  const next: SessionRecord = { ...record, updatedAt: time }
  if (update.title === null) delete next.title
  else if (update.title !== undefined) next.title = update.title
  if (update.metadata === null) delete next.metadata
  else if (update.metadata !== undefined) next.metadata = structuredClone(update.metadata)
  // The caller's fields are checked before anything is stored: a title must be text, metadata JSON.
  const parsed = sessionRecordSchema.safeParse(next)
  if (!parsed.success) throw ValidationError.fromZod('session update', parsed.error)
  return parsed.data as SessionRecord
}

/**
 * Listing order: most recently active first, ties by session ID. Returns < 0 when `a` comes first.
 * Every backend sorts with this, so pages from any backend interleave the same way.
 */
export function newestFirst(a: SessionRecord, b: SessionRecord): number {
  const byTime = lastActivity(b).localeCompare(lastActivity(a))
  if (byTime !== 0) return byTime
  return a.sessionId < b.sessionId ? -1 : a.sessionId > b.sessionId ? 1 : 0
}

const conversationManagerStateSchema = z
  .object({ type: z.string(), removedMessageCount: z.number().int().nonnegative() })
  .catchall(jsonValueSchema)

export const agentRecordSchema = z.object({
  schemaVersion: z.literal(1),
  sessionId: z.string().min(1),
  agentId: z.string().min(1),
  /** Grows by one on every write of this record. */
  revision: z.number().int().nonnegative(),
  state: z.record(z.string(), jsonValueSchema),
  conversationManagerState: conversationManagerStateSchema.nullable(),
  /** Storage index of the first message in the agent's context: a restore reads from here. */
  windowStart: z.number().int().nonnegative(),
  updatedAt: z.string(),
})
export type AgentRecord = z.infer<typeof agentRecordSchema> & {
  state: JsonObject
  conversationManagerState: ConversationManagerState | null
}

export const messageRecordSchema = z.object({
  schemaVersion: z.literal(1),
  sessionId: z.string().min(1),
  agentId: z.string().min(1),
  /** Position in the agent's history, from 0, with no gaps. */
  index: z.number().int().nonnegative(),
  /** 0 when appended; grows by one on every update (redaction, repair). */
  revision: z.number().int().nonnegative(),
  message: messageSchema,
  createdAt: z.string(),
  updatedAt: z.string(),
  /** Set when the record replaces a damaged one; the damaged bytes were kept at `keptAs`. */
  damaged: z.object({ reason: z.string(), keptAs: z.string() }).optional(),
})
export type MessageRecord = z.infer<typeof messageRecordSchema> & { message: Message }

/**
 * Parses stored text into a record: damaged data becomes a `DamagedRecordError` naming the
 * location, and a record from a newer format an `UnsupportedSchemaVersionError`.
 */
export function parseRecord<T>(schema: z.ZodType<T>, text: string, location: string, index?: number): T {
  const given: unknown = schema
  const kind = given === agentRecordSchema ? 'agent' : given === sessionRecordSchema ? 'session' : 'message'
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (error) {
    const reason = text.length === 0 ? 'empty' : `not valid JSON (${text.length} bytes)`
    throw new DamagedRecordError(location, reason, index, { cause: error, kind })
  }
  const version =
    typeof raw === 'object' && raw !== null ? (raw as { schemaVersion?: unknown }).schemaVersion : undefined
  if (
    typeof version === 'number' &&
    !SUPPORTED_SCHEMA_VERSIONS.includes(version) &&
    version > SCHEMA_VERSION
  ) {
    throw new UnsupportedSchemaVersionError(location, version, SUPPORTED_SCHEMA_VERSIONS)
  }
  const parsed = schema.safeParse(raw)
  if (!parsed.success) {
    const invalid = ValidationError.fromZod(location, parsed.error)
    throw new DamagedRecordError(location, `wrong shape (${invalid.message})`, index, {
      cause: invalid,
      kind,
    })
  }
  return parsed.data
}

/** Validates a message coming in from a caller before it is stored. */
export function validMessage(message: Message, source: string): Message {
  const parsed = messageSchema.safeParse(message)
  if (!parsed.success) throw ValidationError.fromZod(source, parsed.error)
  return parsed.data
}
