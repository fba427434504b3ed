import type { Agent } from '../agent/agent.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import type { HookRegistry } from '../hooks/hook-registry.ts'
import { debugLogger } from '../logging/debug-logger.ts'
import type { Logger } from '../logging/logger.ts'
import { type Message, messageSchema } from '../messages/message.ts'
import { encodeStorageName } from '../storage/storage-name.ts'
import { traced } from '../telemetry/agent-tracing.ts'
import { SESSION } from '../telemetry/gen-ai-attributes.ts'
import { loadRepairedHistory, type RepairReport } from './load-repaired-history.ts'
import type { Repair } from './plan-history-repair.ts'
import { DamagedRecordError } from './session-errors.ts'
import type { SessionManager } from './session-manager.ts'
import type { AgentRecord } from './session-records.ts'
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
 * - `agent-initialized`: creates the session, or restores state, conversation manager state and
 *   the messages from the stored window start onward (a 10,000-message session with a 40-message
 *   window reads ~40), repairing a broken history and writing the repair back.
 * - `message-added`: appends each message as it is added (prompt, reply, each tool result), so a
 *   crash mid-run loses at most the message being written.
 * - `invocation-start`: re-syncs. If another process or device appended since, the window is
 *   read again, so this run sees their turns (read only: see #sync).
 * - `invocation-end`: writes agent state and conversation manager state, only if they changed.
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
  /** Storage index of each message in the agent's context (identity-keyed, so trimming cannot skew it). */
  #indexOf = new WeakMap<Message, number>()
  #saved: { stateRevision: number; conversation: string; windowStart: number } | undefined
  #lastReport: RepairReport | undefined
  /** Set when another writer's messages landed between ours: the context is missing them. */
  #behind = false

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
  }

  async #initialize(agent: Agent): Promise<void> {
    if (this.#agent && this.#agent !== agent) {
      throw new ConfigurationError('A RepositorySessionManager serves one Agent; create one per Agent.')
    }
    this.#agent = agent
    this.#ref = { sessionId: this.sessionId, agentId: this.#agentIdOption ?? agent.agentId }
    await this.repository.createSession({ sessionId: this.sessionId })
    const found: Repair[] = []
    const record = await this.#readAgentRecord(this.#ref, found)
    const count = await this.repository.countMessages(this.#ref)
    if (record) {
      agent.state.replace(record.state)
      if (record.conversationManagerState)
        agent.conversationManager.restoreState(record.conversationManagerState)
      // What is stored is what we have: #saveAgent below writes only if the restore changed it.
      this.#saved = {
        stateRevision: agent.state.revision,
        conversation: JSON.stringify(record.conversationManagerState),
        windowStart: record.windowStart,
      }
    }
    if (count === 0 && !record) {
      // A new session: the agent's initial messages (if any) become its first stored messages.
      const initial = agent.messages
      agent.messages = []
      for (const message of initial) {
        agent.messages.push(message)
        await this.#append(agent, message)
      }
      await this.#report(agent, found)
    } else {
      // No record but messages: the first run crashed before its end; read from the start.
      await this.#loadWindow(agent, record?.windowStart ?? 0, { write: true, found })
    }
    await this.#saveAgent(agent)
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
        detail: `${error.reason} at ${error.location}; agent state was reset and the window is read from the start`,
        written: true,
      })
      return null
    }
  }

  async #sync(agent: Agent): Promise<void> {
    const count = await this.repository.countMessages(this.#agentRef())
    if (count === this.#head && !this.#behind) return
    const first = agent.messages[0]
    // Re-sync never writes: a tool call without a result here is most likely another process's
    // tool still running, not a crash. The request view answers it until the real result lands.
    await this.#loadWindow(agent, (first && this.#indexOf.get(first)) ?? this.#head, { write: false })
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
    this.#behind = false
    await this.#report(agent, [...found, ...history.repairs])
  }

  async #report(agent: Agent, repairs: Repair[]): Promise<void> {
    this.#lastReport = { ...this.#agentRef(), repairs }
    if (repairs.length > 0) await agent.hooks.emit('history-repaired', { agent, report: this.#lastReport })
  }

  async #append(agent: Agent, message: Message): Promise<void> {
    if (agent !== this.#agent) return
    const record = await this.repository.appendMessage({ ...this.#agentRef(), message })
    this.#indexOf.set(message, record.index)
    // Landing past our head means another writer appended meanwhile: our context lacks their
    // messages, so the next run re-reads the window (see #sync).
    if (record.index !== this.#head) this.#behind = true
    this.#head = record.index + 1
  }

  async #saveAgent(agent: Agent): Promise<void> {
    const first = agent.messages[0]
    const windowStart = (first && this.#indexOf.get(first)) ?? this.#head
    const conversationManagerState = agent.conversationManager.getState()
    const conversation = JSON.stringify(conversationManagerState)
    const saved = this.#saved
    if (
      saved &&
      saved.stateRevision === agent.state.revision &&
      saved.conversation === conversation &&
      saved.windowStart === windowStart
    ) {
      return
    }
    await this.repository.writeAgent({
      ...this.#agentRef(),
      state: agent.state.toJSON(),
      conversationManagerState,
      windowStart,
    })
    this.#saved = { stateRevision: agent.state.revision, conversation, windowStart }
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
    if (this.#head === head) return
    const log = this.#log(agent)
    log.info(
      `session ${this.sessionId}: another writer appended ${this.#head - head} messages; re-read the window`,
      {
        from: head,
        to: this.#head,
      },
    )
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
