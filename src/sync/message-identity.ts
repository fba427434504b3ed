import type { Message } from '../messages/message.ts'
import type { MessageRecord } from '../session/session-records.ts'

/** A new message identity: random, so two devices never mint the same one. */
export function newMessageId(): string {
  return globalThis.crypto.randomUUID()
}

/**
 * The identity sync compares. A record written before sync was in use has no `id`; it gets one
 * derived from what cannot change under it (its index and creation time when first stored, and its
 * content), so every sync of the same untouched record derives the same identity and a crash
 * between pushing it and the bookkeeping never pushes it twice.
 */
export function messageIdOf(record: MessageRecord): string {
  return (
    record.message.id ?? `legacy-${record.index}-${record.createdAt}-${fnv1a(JSON.stringify(record.message))}`
  )
}

/** The message as it goes to the other store: with its identity inside it. */
export function withId(record: MessageRecord): Message {
  return { ...record.message, id: messageIdOf(record) }
}

/** 32-bit FNV-1a, hex: enough to tell apart two legacy records with the same index and time. */
function fnv1a(text: string): string {
  let hash = 0x811c9dc5
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193) >>> 0
  }
  return hash.toString(16).padStart(8, '0')
}
