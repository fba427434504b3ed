import type { Agent } from '../agent/agent.ts'
import type { ConversationManager, ConversationManagerState } from '../conversation/conversation-manager.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import type { HookRegistry } from '../hooks/hook-registry.ts'
import { debugLogger } from '../logging/debug-logger.ts'
import type { Logger } from '../logging/logger.ts'
import { jsonEqual } from '../messages/json-equal.ts'
import { type Message, messageSchema } from '../messages/message.ts'
import { encodeStorageName } from '../storage/storage-name.ts'
import { traced } from '../telemetry/agent-tracing.ts'
import { SESSION } from '../telemetry/gen-ai-attributes.ts'
import { loadRepairedHistory, type RepairReport } from './load-repaired-history.ts'
import type { Repair } from './plan-history-repair.ts'
import { DamagedRecordError } from './session-errors.ts'
import type { SessionManager } from './session-manager.ts'
import type { AgentRecord, MessageRecord } from './session-records.ts'
import type { AgentRef, SessionRepository } from './session-repository.ts'

export interface RepositorySessionManagerOptions {
  /** Any non-empty string: `user-42`, `chat-<uuid>`, `support-ticket-9`. */
  sessionId: string
  repository: SessionRepository
  /** Which stored agent to use. Default: the Agent's own `agentId`. */
  agentId?: string
  /** Where restore windows, repairs and re-syncs are reported. Default: the Agent's `logger`, else `DEBUG=tether:session`. */
  logger?: Logger
}

/**
 * Persists an Agent's conversation in a `SessionRepository`, through the Agent's hooks only:
 *
 * - `agent-initialized`: creates the session, or restores state and the messages from where the
 *   restoring agent's conversation manager starts (`ConversationManager.restoreOffset`: a
 *   40-message sliding window reads ~40 of 10,000; `NullConversationManager` reads them all),
 *   repairing a broken history and writing the repair back.
 * - `message-added`: appends each message as it is added (prompt, reply, each tool result), so a
 *   crash mid-run loses at most the message being written. An append that fails takes its message
 *   back out of the context, so the context never holds what no restore would see.
 * - `invocation-start`: re-syncs. Messages other writers appended since are read (only those, when
 *   none landed between ours; the whole window again when they did), so this run sees their turns.
 * - `invocation-end`: writes agent state and conversation manager state, only if they changed.
 *
 * The window start belongs to the conversation manager: it moves only when this agent's manager
 * trims the context. A restore never reads it from the messages another writer's first append
 * happened to land on, so it never skips what other writers appended.
 *
 * Concurrent writers: storage order is the truth. Appends never collide (the repository gives each
 * message its own index), so nothing is lost or duplicated; a run that raced with another writer
 * continues with its own context and re-reads the interleaved, repaired history at its next run.
 */
export class RepositorySessionManager implements SessionManager {
  readonly sessionId: string
  readonly repository: SessionRepository
  readonly #agentIdOption: string | undefined
  readonly #loggerOption: Logger | undefined
  #agent: Agent | undefined
  #ref: AgentRef | undefined
  /** The next free index, as far as this process knows. */
  #head = 0
  /** Storage index the context window opens on; moves only when the manager trims (or a restore). */
  #windowStart = 0
  /** The context's first message when the window start was last set: a different one means a trim. */
  #front: Message | undefined
  /** Storage index of each message in the agent's context (identity-keyed, so trimming cannot skew it). */
  #indexOf = new WeakMap<Message, number>()
  #saved: { stateRevision: number; conversation: string; windowStart: number } | undefined
  #lastReport: RepairReport | undefined
  /** Set when the context may differ from storage in the middle: the next run re-reads the window. */
  #reload: 'none' | 'read' | 'repair' = 'none'
  /** The stored window start was out of range: the next agent-record write is not skipped. */
  #rewriteWindowStart = false
  /** An append failed in this invocation: its end does not write the agent record either. */
  #appendFailed = false

  constructor(options: RepositorySessionManagerOptions) {
    encodeStorageName(options.sessionId, 'session ID')
    if (options.agentId !== undefined) encodeStorageName(options.agentId, 'agent ID')
    this.sessionId = options.sessionId
    this.repository = options.repository
    this.#agentIdOption = options.agentId
    this.#loggerOption = options.logger
  }

  /** What the last restore or re-sync repaired (empty `repairs` when nothing was wrong). */
  get lastRepairReport(): RepairReport | undefined {
    return this.#lastReport
  }

  registerHooks(hooks: HookRegistry): void {
    hooks.on('agent-initialized', ({ agent }) => this.#observeRestore(agent))
    hooks.on('invocation-start', ({ agent }) => this.#observeSync(agent))
    hooks.on('message-added', ({ agent, message }) => this.#observeAppend(agent, message))
    hooks.on('invocation-end', ({ agent }) => this.#saveAgent(agent))
  }

  /**
   * Replaces the latest message, in the agent's context and in storage, e.g. after a guardrail
   * flags it. The original content does not stay at rest in the session.
   */
  async redactLatestMessage(replacement: Message): Promise<void> {
    const agent = this.#attached()
    const latest = agent.messages.at(-1)
    const index = latest && this.#indexOf.get(latest)
    if (latest === undefined || index === undefined) {
      throw new ConfigurationError('There is no stored message to redact yet.')
    }
    const message = messageSchema.parse(replacement)
    await this.repository.updateMessage({ ...this.#agentRef(), index, message })
    agent.messages[agent.messages.length - 1] = message
    this.#indexOf.set(message, index)
    if (this.#front === latest) this.#front = message
  }

  async #initialize(agent: Agent): Promise<void> {
    if (this.#agent && this.#agent !== agent) {
      throw new ConfigurationError('A RepositorySessionManager serves one Agent; create one per Agent.')
    }
    this.#agent = agent
    this.#ref = { sessionId: this.sessionId, agentId: this.#agentIdOption ?? agent.agentId }
    const found: Repair[] = []
    // Three independent requests, sent together: on a remote store a restore waits for one round
    // trip here, not three. All three settle before any error is thrown, so no write of
    // createSession is still in flight when the caller hears of a failure.
    const [created, read, counted] = await Promise.allSettled([
      this.repository.createSession({ sessionId: this.sessionId }),
      this.#readAgentRecord(this.#ref, found),
      this.repository.countMessages(this.#ref),
    ])
    if (created.status === 'rejected') throw created.reason
    if (read.status === 'rejected') throw read.reason
    if (counted.status === 'rejected') throw counted.reason
    const record = read.value
    const count = counted.value
    if (record) {
      agent.state.replace(record.state)
      // What is stored is what we have: #saveAgent below writes only if the restore changed it.
      this.#saved = {
        stateRevision: agent.state.revision,
        conversation: conversationKey(agent.conversationManager, record.conversationManagerState),
        windowStart: record.windowStart,
      }
    }
    if (count === 0 && !record) {
      // A new session: the agent's initial messages (if any) become its first stored messages.
      const initial = agent.messages
      agent.messages = []
      this.#windowStart = 0
      this.#front = undefined
      for (const message of initial) {
        agent.messages.push(message)
        await this.#append(agent, message)
      }
      await this.#report(agent, found)
    } else {
      const offset = this.#restoreOffset(agent.conversationManager, record, count, found)
      await this.#loadWindow(agent, offset, { write: true, found })
      const stored = record?.conversationManagerState
      const own = agent.conversationManager.getState()
      agent.conversationManager.restoreState({
        ...(stored?.type === own.type ? stored : own),
        removedMessageCount: this.#windowStart,
      })
    }
    await this.#saveAgent(agent)
  }

  /**
   * Where this agent's restore reads from: its own conversation manager decides, never a window
   * position another kind of manager (or a writer's first append) left in the record. A stored
   * start past the last message is reported and rewritten.
   */
  #restoreOffset(
    manager: ConversationManager,
    record: AgentRecord | null,
    count: number,
    found: Repair[],
  ): number {
    const inRange = record === null || record.windowStart <= count
    if (!inRange) {
      found.push({
        kind: 'window-start-out-of-range',
        index: count,
        detail: `the agent record's window start ${record.windowStart} is past the ${count} stored messages; the window is read from where the conversation manager starts and the record is rewritten`,
        written: true,
      })
      this.#rewriteWindowStart = true
    }
    if (manager.restoreOffset) return clamp(manager.restoreOffset({ messageCount: count }), count)
    const sameManager = record?.conversationManagerState?.type === manager.getState().type
    return sameManager && inRange ? record.windowStart : 0
  }

  /**
   * The agent record, or null. A damaged one holds only state and the window position, never
   * messages: rather than fail every restore until a person edits it (as snapshot stores do), the
   * agent starts afresh from the stored history, and the next write keeps the damaged bytes aside.
   */
  async #readAgentRecord(ref: AgentRef, found: Repair[]): Promise<AgentRecord | null> {
    try {
      return await this.repository.readAgent(ref)
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      found.push({
        kind: 'damaged-agent-record',
        index: 0,
        detail: `${error.reason} at ${error.location}; agent state was reset and the window is read from where the conversation manager starts`,
        written: true,
      })
      return null
    }
  }

  async #sync(agent: Agent): Promise<void> {
    const count = await this.repository.countMessages(this.#agentRef())
    if (count < this.#head) {
      // Fewer messages than we wrote: the session was deleted (and maybe started again) elsewhere.
      // Restore afresh from what is there now, as a new agent would.
      const offset = this.#restoreOffset(agent.conversationManager, null, count, [])
      return this.#loadWindow(agent, offset, { write: false })
    }
    if (this.#reload !== 'none') {
      // Our context may lack messages in its middle (another writer's landed between ours, or an
      // append failed), so the window is read again. After our own failed append a tool call
      // without a result is ours and was interrupted, so that repair is written.
      return this.#loadWindow(agent, this.#windowStart, { write: this.#reload === 'repair' })
    }
    if (count === this.#head) return
    // Only other writers' newer messages are missing: read just those, plus our last one to check
    // the history under it was not rewritten (a sync that put another device's messages before
    // ours). A rewrite, or a damaged record among the new ones, takes a whole-window read instead.
    const last = agent.messages.at(-1)
    const lastIndex = last === undefined ? undefined : this.#indexOf.get(last)
    const from = lastIndex === this.#head - 1 ? this.#head - 1 : this.#head
    let records: MessageRecord[]
    try {
      records = await this.repository.readMessages({ ...this.#agentRef(), offset: from })
    } catch (error) {
      if (!(error instanceof DamagedRecordError)) throw error
      return this.#loadWindow(agent, this.#windowStart, { write: false })
    }
    if (from < this.#head) {
      const [stored] = records.splice(0, 1)
      if (!stored || !jsonEqual(stored.message, last)) {
        return this.#loadWindow(agent, this.#windowStart, { write: false })
      }
    }
    for (const record of records) {
      this.#indexOf.set(record.message, record.index)
      agent.messages.push(record.message)
      this.#front ??= record.message
    }
    this.#head = Math.max(this.#head, (records.at(-1)?.index ?? -1) + 1)
  }

  async #loadWindow(
    agent: Agent,
    windowStart: number,
    { write, found = [] }: { write: boolean; found?: Repair[] },
  ): Promise<void> {
    const history = await loadRepairedHistory(this.repository, this.#agentRef(), {
      offset: windowStart,
      adjustWindowStart: true,
      dryRun: !write,
    })
    this.#indexOf = new WeakMap()
    agent.messages = history.entries.map((entry) => {
      this.#indexOf.set(entry.message, entry.index)
      return entry.message
    })
    this.#head = history.windowStart + history.entries.length
    this.#windowStart = history.windowStart
    this.#front = agent.messages[0]
    this.#reload = 'none'
    await this.#report(agent, [...found, ...history.repairs])
  }

  async #report(agent: Agent, repairs: Repair[]): Promise<void> {
    this.#lastReport = { ...this.#agentRef(), repairs }
    if (repairs.length > 0) await agent.hooks.emit('history-repaired', { agent, report: this.#lastReport })
  }

  async #append(agent: Agent, message: Message): Promise<void> {
    if (agent !== this.#agent) return
    let record: MessageRecord
    try {
      record = await this.repository.appendMessage({ ...this.#agentRef(), message })
    } catch (error) {
      // Not stored (or not known to be): the context must not answer from it. The next run
      // re-reads the window, which also picks the message up if the store applied it after all.
      const at = agent.messages.lastIndexOf(message)
      if (at !== -1) agent.messages.splice(at, 1)
      if (this.#front === message) this.#front = agent.messages[0]
      this.#reload = 'repair'
      this.#appendFailed = true
      throw error
    }
    this.#indexOf.set(message, record.index)
    this.#front ??= message
    // Landing past our head means another writer appended meanwhile: our context lacks their
    // messages, so the next run re-reads the window (see #sync).
    if (record.index !== this.#head && this.#reload === 'none') this.#reload = 'read'
    this.#head = record.index + 1
  }

  async #saveAgent(agent: Agent): Promise<void> {
    if (this.#appendFailed) {
      // The run already failed on storage; its typed error reaches the caller alone. The state is
      // written at the end of the next run that stores its messages.
      this.#appendFailed = false
      return
    }
    const first = agent.messages[0]
    if (first !== this.#front) {
      // The conversation manager trimmed the context: the window now opens on its first message.
      this.#windowStart = (first && this.#indexOf.get(first)) ?? this.#head
      this.#front = first
    }
    const manager = agent.conversationManager
    const conversationManagerState = manager.getState()
    const conversation = conversationKey(manager, conversationManagerState)
    const saved = this.#saved
    // A manager that derives its window from the count (restoreOffset) never reads the stored
    // start, so a sliding window alone is no reason to rewrite the record every turn.
    const windowMoved = saved?.windowStart !== this.#windowStart && !manager.restoreOffset
    if (
      saved &&
      saved.stateRevision === agent.state.revision &&
      saved.conversation === conversation &&
      !windowMoved &&
      !this.#rewriteWindowStart
    ) {
      return
    }
    await this.repository.writeAgent({
      ...this.#agentRef(),
      state: agent.state.toJSON(),
      conversationManagerState,
      windowStart: this.#windowStart,
    })
    this.#saved = { stateRevision: agent.state.revision, conversation, windowStart: this.#windowStart }
    this.#rewriteWindowStart = false
  }

  #attached(): Agent {
    if (!this.#agent) throw new ConfigurationError('The session is not attached to an initialized Agent yet.')
    return this.#agent
  }

  #agentRef(): AgentRef {
    if (!this.#ref) throw new ConfigurationError('The session is not attached to an initialized Agent yet.')
    return this.#ref
  }

  // Observability: spans and log lines around the work above, kept apart from it.

  #log(agent: Agent): Logger {
    return this.#loggerOption ?? agent.logger ?? sessionLog()
  }

  async #observeRestore(agent: Agent): Promise<void> {
    const attributes = { [SESSION.id]: this.sessionId, [SESSION.store]: this.repository.constructor.name }
    await traced(agent, 'tether.session.restore', attributes, async (span) => {
      await this.#initialize(agent)
      const first = agent.messages[0]
      const windowStart = (first && this.#indexOf.get(first)) ?? this.#head
      const repairs = this.#lastReport?.repairs ?? []
      span.set({
        [SESSION.agentId]: this.#agentRef().agentId,
        [SESSION.windowStart]: windowStart,
        [SESSION.messages]: agent.messages.length,
        [SESSION.storedMessages]: this.#head,
        [SESSION.repairs]: repairs.length,
        [SESSION.bytes]: span.recording ? jsonBytes(agent.messages) : undefined,
      })
      const log = this.#log(agent)
      log.debug(
        `restored session ${this.sessionId}: messages ${windowStart}-${this.#head} of ${this.#head}`,
        {
          agentId: this.#agentRef().agentId,
          windowStart,
          messagesInContext: agent.messages.length,
        },
      )
      this.#logRepairs(log, repairs)
    })
  }

  async #observeSync(agent: Agent): Promise<void> {
    const head = this.#head
    const report = this.#lastReport
    await this.#sync(agent)
    const log = this.#log(agent)
    if (this.#head > head) {
      log.info(
        `session ${this.sessionId}: another writer appended ${this.#head - head} messages; read them`,
        {
          from: head,
          to: this.#head,
        },
      )
    } else if (this.#head < head) {
      log.info(
        `session ${this.sessionId}: the store holds ${this.#head} messages, fewer than the ${head} this process knew (deleted elsewhere?); restored from what is there`,
        { before: head, now: this.#head },
      )
    }
    if (this.#lastReport !== report) this.#logRepairs(log, this.#lastReport?.repairs ?? [])
  }

  async #observeAppend(agent: Agent, message: Message): Promise<void> {
    if (agent !== this.#agent) return
    const head = this.#head
    const attributes = {
      [SESSION.id]: this.sessionId,
      [SESSION.store]: this.repository.constructor.name,
      [SESSION.role]: message.role,
    }
    await traced(agent, 'tether.session.append', attributes, async (span) => {
      await this.#append(agent, message)
      const index = this.#indexOf.get(message)
      span.set({ [SESSION.index]: index, [SESSION.bytes]: span.recording ? jsonBytes(message) : undefined })
      if (index !== undefined && index !== head) {
        this.#log(agent).info(
          `session ${this.sessionId}: another writer appended meanwhile; this message landed at ${index}, not ${head}, and the next run re-reads the window`,
          { expectedIndex: head, index },
        )
      }
    })
  }

  #logRepairs(log: Logger, repairs: Repair[]): void {
    for (const repair of repairs) {
      log.warn(
        `session ${this.sessionId}: repaired ${repair.kind} at message ${repair.index}: ${repair.detail}`,
        {
          written: repair.written,
        },
      )
    }
  }
}

let defaultSessionLog: Logger | undefined
function sessionLog(): Logger {
  defaultSessionLog ??= debugLogger('tether:session')
  return defaultSessionLog
}

/** The size of a value as stored JSON, in UTF-8 bytes. */
function jsonBytes(value: unknown): number {
  return new TextEncoder().encode(JSON.stringify(value)).length
}

/**
 * What of a conversation manager's state a restore depends on. The removed-message count of a
 * manager that derives its window from the count is bookkeeping only, so it is left out.
 */
function conversationKey(manager: ConversationManager, state: ConversationManagerState | null): string {
  if (state === null || !manager.restoreOffset) return JSON.stringify(state)
  return JSON.stringify({ ...state, removedMessageCount: 0 })
}

function clamp(offset: number, count: number): number {
  return Number.isInteger(offset) ? Math.min(Math.max(offset, 0), count) : 0
}
