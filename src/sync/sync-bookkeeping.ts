import { z } from 'zod'
import { jsonValueSchema } from '../messages/message.ts'
import { parseRecord } from '../session/session-records.ts'
import type { AgentRef, SessionRef } from '../session/session-repository.ts'
import { encodeStorageName } from '../storage/storage-name.ts'
import type { SyncStateStore } from './sync-state-store.ts'

const errorSchema = z.object({ at: z.string(), code: z.string(), message: z.string() })
export type SyncFailure = z.infer<typeof errorSchema>

const agentSideSchema = z.object({ revision: z.number().int().nonnegative(), updatedAt: z.string() })

export const agentConflictSchema = z.object({
  sessionId: z.string().min(1),
  agentId: z.string().min(1),
  at: z.string(),
  /** Which side's agent record now holds on both: the device that synced last (see sync-agent-record.ts). */
  kept: z.enum(['local', 'remote']),
  local: agentSideSchema,
  remote: agentSideSchema,
  /** The state that lost, so an app can show it or merge it by hand. */
  discardedState: z.record(z.string(), jsonValueSchema),
})
export type AgentStateConflict = z.infer<typeof agentConflictSchema>

/**
 * One agent's sync bookkeeping, a plain JSON document (`agents/<session>/<agent>` in the
 * SyncStateStore). Every field errs on the safe side when stale (docs/sync.md):
 * - `syncedCount`: local messages 0..n-1 are known to equal remote messages 0..n-1. Written only
 *   after the local copy is durable, so it is never ahead of the truth; a stale (lower) value only
 *   makes the next sync compare more.
 * - `agentRevisions`: the local and remote agent-record revisions when the two last agreed; the
 *   side whose revision moved since changed.
 * - `pendingUpdates`: indexes below `syncedCount` updated locally (a redaction) and not yet on the
 *   remote. Written before the local update, so a crash between the two re-sends an update at worst.
 */
export const agentSyncStateSchema = z.object({
  schemaVersion: z.literal(1),
  sessionId: z.string().min(1),
  agentId: z.string().min(1),
  syncedCount: z.number().int().nonnegative(),
  agentRevisions: z.object({ local: z.number().int(), remote: z.number().int() }).nullable(),
  pendingUpdates: z.array(z.number().int().nonnegative()),
  lastSyncAt: z.string().nullable(),
  lastError: errorSchema.nullable(),
  lastConflict: agentConflictSchema.nullable(),
})
export type AgentSyncState = z.infer<typeof agentSyncStateSchema>

const deletionSchema = z.object({ schemaVersion: z.literal(1), sessionId: z.string().min(1), at: z.string() })

export function initialAgentState(ref: AgentRef): AgentSyncState {
  return {
    schemaVersion: 1,
    sessionId: ref.sessionId,
    agentId: ref.agentId,
    syncedCount: 0,
    agentRevisions: null,
    pendingUpdates: [],
    lastSyncAt: null,
    lastError: null,
    lastConflict: null,
  }
}

/** Typed reads and writes of the bookkeeping documents in a SyncStateStore. */
export class SyncBookkeeping {
  readonly store: SyncStateStore

  constructor(store: SyncStateStore) {
    this.store = store
  }

  async readAgent(ref: AgentRef): Promise<AgentSyncState> {
    const key = agentKey(ref)
    const text = await this.store.read(key)
    if (text === null) return initialAgentState(ref)
    return parseRecord(agentSyncStateSchema, text, `sync state ${key}`)
  }

  writeAgent(state: AgentSyncState): Promise<void> {
    return this.store.write(agentKey(state), JSON.stringify(state))
  }

  async listAgents(ref: SessionRef): Promise<AgentSyncState[]> {
    const prefix = `agents/${encodeStorageName(ref.sessionId, 'session ID')}/`
    const keys = await this.store.list(prefix)
    const states: AgentSyncState[] = []
    for (const key of keys) {
      const text = await this.store.read(key)
      if (text !== null) states.push(parseRecord(agentSyncStateSchema, text, `sync state ${key}`))
    }
    return states.filter((state) => state.sessionId === ref.sessionId)
  }

  async forgetSession(ref: SessionRef): Promise<void> {
    for (const state of await this.listAgents(ref)) await this.store.remove(agentKey(state))
  }

  /** Sessions deleted here whose remote copy is still to be deleted. */
  async pendingDeletions(): Promise<string[]> {
    const ids: string[] = []
    for (const key of await this.store.list('deletions/')) {
      const text = await this.store.read(key)
      if (text !== null) ids.push(parseRecord(deletionSchema, text, `sync state ${key}`).sessionId)
    }
    return ids
  }

  async isDeletionPending(ref: SessionRef): Promise<boolean> {
    return (await this.store.read(deletionKey(ref))) !== null
  }

  markDeleted(ref: SessionRef): Promise<void> {
    const record = { schemaVersion: 1, sessionId: ref.sessionId, at: new Date().toISOString() }
    return this.store.write(deletionKey(ref), JSON.stringify(record))
  }

  clearDeletion(ref: SessionRef): Promise<void> {
    return this.store.remove(deletionKey(ref))
  }
}

function agentKey(ref: AgentRef): string {
  return `agents/${encodeStorageName(ref.sessionId, 'session ID')}/${encodeStorageName(ref.agentId, 'agent ID')}`
}

function deletionKey(ref: SessionRef): string {
  return `deletions/${encodeStorageName(ref.sessionId, 'session ID')}`
}
