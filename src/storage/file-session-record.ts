import { z } from 'zod'
import type { JsonObject } from '../agent/agent-state.ts'
import { jsonValueSchema } from '../messages/message.ts'
import { type SessionRecord, sessionRecordSchema } from '../session/session-records.ts'

/**
 * The session record as format 2 stores it: today's record plus the session metadata fields
 * (docs/storage-format.md). `messageCount` is derived on read, never stored; `updatedAt` on read
 * is the later of the stored value (creation, `updateSession`) and the last append.
 */
export const storedSessionSchema = sessionRecordSchema.extend({
  updatedAt: z.string().optional(),
  title: z.string().optional(),
  metadata: z.record(z.string(), jsonValueSchema).optional(),
})

export type FileSessionRecord = SessionRecord & {
  updatedAt?: string
  title?: string
  metadata?: JsonObject
  messageCount?: number
}

/** `updateSession` input: null clears a field, absent leaves it as it is. */
export interface SessionUpdate {
  sessionId: string
  title?: string | null
  metadata?: JsonObject | null
}
