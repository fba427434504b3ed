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
})
export type SessionRecord = z.infer<typeof sessionRecordSchema>

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
