import { debugLogger } from '../logging/debug-logger.ts'
import type { Logger } from '../logging/logger.ts'
import type { Message } from '../messages/message.ts'
import type { AgentRecord, MessageRecord, SessionRecord } from '../session/session-records.ts'
import type {
  AgentRef,
  AgentWrite,
  ListSessionsOptions,
  SessionPage,
  SessionRef,
  SessionRepository,
  SessionUpdate,
} from '../session/session-repository.ts'
import { messageIdOf, newMessageId } from './message-identity.ts'
import type { AgentStateConflict, AgentSyncState, SyncFailure } from './sync-bookkeeping.ts'
import { SyncBookkeeping } from './sync-bookkeeping.ts'
import { SyncError } from './sync-errors.ts'
import { type AutoSyncOptions, SyncScheduler } from './sync-scheduler.ts'
import { type SessionSyncReport, syncSession } from './sync-session.ts'
import { MemorySyncStateStore, type SyncStateStore } from './sync-state-store.ts'
import { readSyncStatus, type SyncStatus } from './sync-status.ts'

export interface SyncedSessionRepositoryOptions {
  /** Where every read and write goes, online or not (typically `FileSessionRepository`). */
  local: SessionRepository
  /** The shared copy every device syncs with (typically `S3SessionRepository`). */
  remote: SessionRepository
  /**
   * Where the sync bookkeeping lives (synced prefix, last sync, last error, pending redactions and
   * deletions). Use `FileSyncStateStore` beside the local sessions so status survives restarts.
   * Default: memory, which is still correct: the first sync after a restart compares whole histories.
   */
  state?: SyncStateStore
  /** Background sync while the process runs (default on); `false` syncs only when `sync()` is called. */
  autoSync?: AutoSyncOptions | false
  /** Called for each agent-state conflict a sync resolved (it is also in `syncStatus`). */
  onConflict?: (conflict: AgentStateConflict) => void
  /** Where sync repairs are reported (default: stderr with `DEBUG=tether:sync`, else silent). */
  logger?: Logger
}

export interface SyncOptions {
  /** Compare whole histories (pulls other devices' redactions of already-synced messages). */
  recheck?: boolean
}

export interface SyncReport {
  sessions: SessionSyncReport[]
}

/**
 * Offline-first sessions: a `SessionRepository` that reads and writes `local` only (an append is
 * durable locally before it resolves and never waits for the network) and syncs with `remote`
 * in the background and on `sync()`. The remote's order decides: after a sync, every device holds
 * exactly the remote history, each message once. Protocol, bookkeeping and crash safety:
 * docs/sync.md.
 */
export class SyncedSessionRepository implements SessionRepository {
  readonly local: SessionRepository
  readonly remote: SessionRepository
  readonly #bookkeeping: SyncBookkeeping
  readonly #scheduler: SyncScheduler | undefined
  readonly #onConflict: ((conflict: AgentStateConflict) => void) | undefined
  readonly #logger: Logger
  /** Sessions whose title or metadata changed here since their last sync: pushed, not pulled. */
  readonly #sessionUpdates = new Set<string>()
  /** Sessions written here since their last sync: the background pushes these first. */
  readonly #dirty = new Set<string>()
  /** Agents written here (an agent with messages may have no agent record yet). */
  readonly #agentsWritten = new Map<string, Set<string>>()
  /** One sync at a time per process: a manual `sync()` waits for a background one. */
  #syncing: Promise<unknown> = Promise.resolve()
  /** One read-modify-write of the bookkeeping at a time. */
  #bookkeepingTurn: Promise<unknown> = Promise.resolve()
  /** A failure before any session was reached (listing the remote), kept for `syncStatus`. */
  #storeFailure: SyncFailure | null = null

  constructor(options: SyncedSessionRepositoryOptions) {
    this.local = options.local
    this.remote = options.remote
    this.#bookkeeping = new SyncBookkeeping(options.state ?? new MemorySyncStateStore())
    this.#onConflict = options.onConflict
    this.#logger = options.logger ?? debugLogger('tether:sync')
    if (options.autoSync !== false) {
      this.#scheduler = new SyncScheduler(options.autoSync ?? {}, (full) => this.#background(full))
    }
  }

  /**
   * Pushes local-only messages and pulls what other devices pushed: for one session (`ref`), or
   * for every session on either side. Throws `SyncError` when a session could not be synced (the
   * others still were); the failure is also recorded for `syncStatus`.
   *
   * `recheck` compares whole histories instead of trusting the synced prefix: it also pulls
   * updates (redactions) other devices made to messages this device had already synced.
   */
  sync(ref?: SessionRef, options: SyncOptions = {}): Promise<SyncReport> {
    return this.#exclusive(async () => {
      const ids = ref === undefined ? await this.#allSessionIds() : [ref.sessionId]
      return this.#syncSessions(ids, options.recheck === true)
    })
  }

  /** Ends background sync and waits for a sync in flight. Local reads and writes keep working. */
  async close(): Promise<void> {
    this.#scheduler?.stop()
    await this.#syncing.catch(() => undefined)
  }

  /** What is pending for the session, the last successful sync and the last failure since (no network). */
  syncStatus(ref: SessionRef): Promise<SyncStatus> {
    return readSyncStatus({
      local: this.local,
      bookkeeping: this.#bookkeeping,
      sessionId: ref.sessionId,
      agentsWritten: this.#agentsWritten.get(ref.sessionId) ?? new Set(),
      storeFailure: this.#storeFailure,
    })
  }

  // SessionRepository: every call is local; writes mark the session for the next sync.

  async createSession(ref: SessionRef): Promise<SessionRecord> {
    const record = await this.local.createSession(ref)
    this.#written(ref)
    return record
  }

  readSession(ref: SessionRef): Promise<SessionRecord | null> {
    return this.local.readSession(ref)
  }

  listSessions(options?: ListSessionsOptions): Promise<SessionPage> {
    return this.local.listSessions(options)
  }

  /**
   * Deletes the session here at once and on the remote at the next sync. The deletion is recorded
   * before the local copy goes, so a crash between the two still deletes the remote copy; other
   * devices delete their copy when they find the remote one gone (keeping it if they hold
   * messages the remote never had).
   */
  async deleteSession(ref: SessionRef): Promise<void> {
    await this.#bookkeeping.markDeleted(ref)
    await this.local.deleteSession(ref)
    this.#written(ref)
  }

  /**
   * Changes the title or metadata here at once; the next sync in this process pushes it. Until
   * then (and after a restart before that sync) the remote's title and metadata win the sync, as
   * docs/sync.md says.
   */
  async updateSession(update: SessionUpdate): Promise<SessionRecord> {
    const record = await this.local.updateSession(update)
    this.#sessionUpdates.add(update.sessionId)
    this.#written(update)
    return record
  }

  async writeAgent(write: AgentWrite): Promise<AgentRecord> {
    const record = await this.local.writeAgent(write)
    this.#written(write)
    return record
  }

  readAgent(ref: AgentRef): Promise<AgentRecord | null> {
    return this.local.readAgent(ref)
  }

  listAgents(ref: SessionRef): Promise<AgentRecord[]> {
    return this.local.listAgents(ref)
  }

  /**
   * Stores the message locally with a new identity (kept if it has one): see docs/sync.md. The
   * identity is also set on the given message object, so an agent's context (which holds that
   * object) equals what is stored, and a re-sync at its next run reads only what is new.
   */
  async appendMessage(
    input: AgentRef & { message: Message; expectedIndex?: number },
  ): Promise<MessageRecord> {
    input.message.id ??= newMessageId()
    const record = await this.local.appendMessage(input)
    this.#written(input)
    return record
  }

  readMessages(input: AgentRef & { offset?: number; limit?: number }): Promise<MessageRecord[]> {
    return this.local.readMessages(input)
  }

  countMessages(ref: AgentRef): Promise<number> {
    return this.local.countMessages(ref)
  }

  /**
   * Replaces a message locally, keeping its identity, and queues the update for the remote. The
   * queue entry is written first: a crash before the local update re-sends an equal update at worst.
   */
  async updateMessage(input: AgentRef & { index: number; message: Message }): Promise<MessageRecord> {
    const [current] = await this.local.readMessages({ ...input, offset: input.index, limit: 1 })
    const id = current === undefined ? input.message.id : messageIdOf(current)
    const message = id === undefined ? input.message : { ...input.message, id }
    await this.#updateBookkeeping(input, (state) => ({
      ...state,
      pendingUpdates: [...new Set([...state.pendingUpdates, input.index])],
    }))
    const record = await this.local.updateMessage({ ...input, message })
    this.#written(input)
    return record
  }

  quarantineMessage(input: AgentRef & { index: number; placeholder: Message }): Promise<MessageRecord> {
    return this.local.quarantineMessage(input)
  }

  // Sync

  #written(ref: SessionRef & { agentId?: string }): void {
    this.#dirty.add(ref.sessionId)
    if (ref.agentId !== undefined) {
      const agents = this.#agentsWritten.get(ref.sessionId) ?? new Set<string>()
      agents.add(ref.agentId)
      this.#agentsWritten.set(ref.sessionId, agents)
    }
    this.#scheduler?.poke()
  }

  async #background(full: boolean): Promise<void> {
    await this.#exclusive(async () => {
      const ids = full ? await this.#allSessionIds() : [...this.#dirty]
      await this.#syncSessions(ids)
    })
  }

  async #syncSessions(ids: readonly string[], recheck = false): Promise<SyncReport> {
    const sessions: SessionSyncReport[] = []
    const failures: unknown[] = []
    for (const sessionId of new Set(ids)) {
      // Taken off before the sync: a write during it marks the session again.
      this.#dirty.delete(sessionId)
      try {
        sessions.push(await this.#syncOne(sessionId, recheck))
      } catch (error) {
        this.#dirty.add(sessionId)
        failures.push(error)
        await this.#recordFailure(sessionId, error)
      }
    }
    if (failures.length > 0) {
      throw new SyncError(
        `${failures.length} of ${new Set(ids).size} sessions could not be synced (${describe(failures[0])}); their local copies are intact and the next sync retries.`,
        { cause: failures[0] },
      )
    }
    return { sessions }
  }

  async #syncOne(sessionId: string, recheck: boolean): Promise<SessionSyncReport> {
    const pushSessionUpdate = this.#sessionUpdates.delete(sessionId)
    const report = await syncSession({
      pushSessionUpdate,
      recheck,
      local: this.local,
      remote: this.remote,
      bookkeeping: this.#bookkeeping,
      sessionId,
      agentsWritten: this.#agentsWritten.get(sessionId) ?? new Set(),
      commit: (ref, update) => this.#updateBookkeeping(ref, update),
      logger: this.#logger,
    }).catch((error: unknown) => {
      // Not pushed: the change stays this device's to push at the next sync.
      if (pushSessionUpdate) this.#sessionUpdates.add(sessionId)
      throw error
    })
    for (const agent of report.agents) if (agent.conflict) this.#onConflict?.(agent.conflict)
    if (report.deleted !== undefined) this.#agentsWritten.delete(sessionId)
    return report
  }

  /** Every session on either side, and those whose deletion is still to reach the remote. */
  async #allSessionIds(): Promise<string[]> {
    try {
      const ids = [
        ...(await this.#bookkeeping.pendingDeletions()),
        ...(await allSessions(this.local)),
        ...(await allSessions(this.remote)),
      ]
      this.#storeFailure = null
      return ids
    } catch (error) {
      this.#storeFailure = failure(error)
      throw new SyncError(`Could not list the sessions to sync (${describe(error)}).`, { cause: error })
    }
  }

  async #recordFailure(sessionId: string, error: unknown): Promise<void> {
    const agents = new Set([
      ...(await this.local.listAgents({ sessionId }).catch(() => [])).map((agent) => agent.agentId),
      ...(this.#agentsWritten.get(sessionId) ?? []),
    ])
    for (const agentId of agents) {
      await this.#updateBookkeeping({ sessionId, agentId }, (state) => ({
        ...state,
        lastError: failure(error),
      }))
    }
  }

  #updateBookkeeping(
    ref: AgentRef,
    update: (state: AgentSyncState) => AgentSyncState,
  ): Promise<AgentSyncState> {
    const turn = this.#bookkeepingTurn.then(async () => {
      const next = update(await this.#bookkeeping.readAgent(ref))
      await this.#bookkeeping.writeAgent(next)
      return next
    })
    this.#bookkeepingTurn = turn.catch(() => undefined)
    return turn
  }

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const turn = this.#syncing.catch(() => undefined).then(work)
    this.#syncing = turn
    return turn
  }
}

async function allSessions(repository: SessionRepository): Promise<string[]> {
  const ids: string[] = []
  let cursor: string | undefined
  do {
    const page = await repository.listSessions(cursor === undefined ? {} : { cursor })
    ids.push(...page.sessions.map((session) => session.sessionId))
    cursor = page.nextCursor
  } while (cursor !== undefined)
  return ids
}

function failure(error: unknown): SyncFailure {
  const code =
    typeof (error as { code?: unknown }).code === 'string' ? (error as { code: string }).code : 'unknown'
  return { at: new Date().toISOString(), code, message: describe(error) }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
