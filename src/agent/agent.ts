import type { ConversationManager } from '../conversation/conversation-manager.ts'
import { SlidingWindowConversationManager } from '../conversation/sliding-window-conversation-manager.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { type HookProvider, HookRegistry } from '../hooks/hook-registry.ts'
import { debugLogger } from '../logging/debug-logger.ts'
import type { Logger } from '../logging/logger.ts'
import {
  type ContentBlock,
  type Message,
  messageText,
  type ToolResultBlock,
  type ToolUseBlock,
  toolUses,
} from '../messages/message.ts'
import type { Model, StopReason, Usage } from '../models/model.ts'
import { addUsage, emptyUsage } from '../models/model.ts'
import { ContextWindowOverflowError, ModelError } from '../models/model-errors.ts'
import type { SessionManager } from '../session/session-manager.ts'
import { prepareTracing, startInvocationSpan, startSpan, type TraceSpan } from '../telemetry/agent-tracing.ts'
import { GEN_AI } from '../telemetry/gen-ai-attributes.ts'
import type { TelemetryOptions } from '../telemetry/telemetry-options.ts'
import type { Tool } from '../tools/tool.ts'
import { executeToolUse } from '../tools/tool-executor.ts'
import { ConcurrentInvocationError, InvocationAbortedError, MaxCyclesExceededError } from './agent-errors.ts'
import type { AgentResult } from './agent-result.ts'
import { AgentState, type JsonObject } from './agent-state.ts'
import { MessageAssembler } from './assemble-message.ts'
import { modelView } from './model-view.ts'

export interface AgentConfig {
  model: Model
  systemPrompt?: string
  tools?: Tool[]
  /** Default: a sliding window of 40 messages. */
  conversationManager?: ConversationManager
  sessionManager?: SessionManager
  /** Extra lifecycle hooks (logging, metrics, guards). */
  hooks?: HookProvider[]
  /** Distinguishes agents that share one session. Default `default`. */
  agentId?: string
  state?: JsonObject
  /** A conversation to start from (a session manager replaces it with the stored one). */
  messages?: Message[]
  /** The most model calls one invocation may make. Default 25. */
  maxCycles?: number
  /** OpenTelemetry tracing (docs/observability.md). Default: on when `@opentelemetry/api` is installed. */
  telemetry?: TelemetryOptions
  /**
   * Where the agent and its session manager say what they decided (restore window, repairs,
   * re-syncs, context reductions); `console` works. Default: silent unless `DEBUG=tether:*`.
   */
  logger?: Logger
}

export interface InvocationOptions {
  signal?: AbortSignal
}

export type AgentStreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  | { type: 'tool-use-start'; toolUseId: string; name: string }
  | { type: 'tool-use-end'; toolUse: ToolUseBlock; result: ToolResultBlock }
  /** After each model call that answered: its stop reason and token usage (the result has the sum). */
  | { type: 'model-call-end'; stopReason: StopReason; usage: Usage }
  | { type: 'message-added'; message: Message }
  | { type: 'result'; result: AgentResult }

/** A prompt: text, or the content blocks of a user message (text, images). */
export type Prompt = string | ContentBlock[]

const AGENT_ID = /^[^\s]{1,128}$/

export class Agent {
  readonly agentId: string
  readonly model: Model
  readonly systemPrompt: string | undefined
  readonly tools: ReadonlyMap<string, Tool>
  readonly conversationManager: ConversationManager
  readonly sessionManager: SessionManager | undefined
  readonly hooks = new HookRegistry()
  readonly state: AgentState
  readonly maxCycles: number
  /** The logger given in the config, if any (the session manager logs through it too). */
  readonly logger: Logger | undefined
  /** The conversation in the model's context. Each entry mirrors one stored message when a session is attached. */
  messages: Message[]

  #initialization: Promise<void> | undefined
  #running = false
  readonly #telemetry: TelemetryOptions | undefined
  readonly #log: Logger

  constructor(config: AgentConfig) {
    const agentId = config.agentId ?? 'default'
    if (!AGENT_ID.test(agentId)) {
      throw new ConfigurationError(
        `agentId "${agentId}" is invalid: use 1-128 characters without white space.`,
      )
    }
    this.agentId = agentId
    this.model = config.model
    this.systemPrompt = config.systemPrompt
    this.tools = Agent.#toolMap(config.tools ?? [])
    this.conversationManager = config.conversationManager ?? new SlidingWindowConversationManager()
    this.sessionManager = config.sessionManager
    this.state = new AgentState(config.state)
    this.messages = structuredClone(config.messages ?? [])
    this.maxCycles = config.maxCycles ?? 25
    this.logger = config.logger
    this.#log = config.logger ?? debugLogger('tether:agent')
    this.#telemetry = config.telemetry
    if (this.sessionManager) this.hooks.add(this.sessionManager)
    for (const provider of config.hooks ?? []) this.hooks.add(provider)
  }

  /**
   * Runs the `agent-initialized` hooks once (a session restores here). `run` and `stream` call it
   * for you; call it yourself to restore before the first prompt, e.g. to show the history.
   */
  initialize(): Promise<void> {
    this.#initialization ??= prepareTracing(this, this.#telemetry)
      .then(() => this.hooks.emit('agent-initialized', { agent: this }))
      .catch((error: unknown) => {
        this.#initialization = undefined
        throw error
      })
    return this.#initialization
  }

  /** Sends a prompt (or, with none, continues the stored conversation) and resolves with the final answer. */
  async run(prompt?: Prompt, options: InvocationOptions = {}): Promise<AgentResult> {
    const events = this.stream(prompt, options)
    for (;;) {
      const next = await events.next()
      if (next.done) return next.value
    }
  }

  /** Like `run`, yielding events as they happen; the generator's return value is the result. */
  async *stream(
    prompt?: Prompt,
    options: InvocationOptions = {},
  ): AsyncGenerator<AgentStreamEvent, AgentResult, undefined> {
    if (this.#running) throw new ConcurrentInvocationError()
    this.#running = true
    const signal = options.signal ?? new AbortController().signal
    let result: AgentResult | undefined
    let failure: unknown
    let span: TraceSpan | undefined
    try {
      await prepareTracing(this, this.#telemetry)
      span = startInvocationSpan(this, `invoke_agent ${this.agentId}`, {
        [GEN_AI.operation]: 'invoke_agent',
        [GEN_AI.agentName]: this.agentId,
        [GEN_AI.provider]: this.model.provider,
        [GEN_AI.requestModel]: this.model.modelId,
        [GEN_AI.conversationId]: this.sessionManager?.sessionId,
      })
      await this.initialize()
      await this.hooks.emit('invocation-start', { agent: this })
      signal.throwIfAborted()
      if (prompt !== undefined) {
        const content: ContentBlock[] = typeof prompt === 'string' ? [{ type: 'text', text: prompt }] : prompt
        yield await this.#append({ role: 'user', content })
      }
      result = yield* this.#cycle(signal)
      yield { type: 'result', result }
      return result
    } catch (error) {
      failure = signal.aborted ? new InvocationAbortedError({ cause: error }) : error
      if (signal.aborted) await this.#closeDanglingToolUses('The tool run was cancelled before it finished.')
      throw failure
    } finally {
      try {
        await this.conversationManager.applyManagement(this)
        await this.hooks.emit('invocation-end', { agent: this, result, error: failure })
      } catch (hookError) {
        // Never swallow: when the invocation failed too, both errors reach the caller.
        // biome-ignore lint/correctness/noUnsafeFinally: an end hook's error must reach the caller, also after a break.
        if (failure === undefined) throw hookError
        // biome-ignore lint/correctness/noUnsafeFinally: reporting both failures is the point.
        throw new AggregateError(
          [failure, hookError],
          'The invocation failed, and so did an invocation-end hook.',
        )
      } finally {
        this.#running = false
        span?.set({
          [GEN_AI.inputTokens]: result?.usage.inputTokens,
          [GEN_AI.outputTokens]: result?.usage.outputTokens,
          [GEN_AI.finishReasons]: result ? [result.stopReason] : undefined,
        })
        span?.end(failure)
      }
    }
  }

  async #append(message: Message): Promise<AgentStreamEvent> {
    this.messages.push(message)
    await this.hooks.emit('message-added', { agent: this, message })
    return { type: 'message-added', message }
  }

  async *#cycle(signal: AbortSignal): AsyncGenerator<AgentStreamEvent, AgentResult, undefined> {
    let usage = emptyUsage()
    for (let cycle = 0; ; cycle++) {
      if (cycle >= this.maxCycles) throw new MaxCyclesExceededError(this.maxCycles)
      signal.throwIfAborted()
      await this.conversationManager.applyManagement(this)
      const reply = yield* this.#callModel(signal)
      usage = addUsage(usage, reply.usage)
      yield await this.#append(reply.message)
      const calls = toolUses(reply.message)
      if (calls.length === 0) {
        return {
          output: messageText(reply.message),
          message: reply.message,
          stopReason: reply.stopReason,
          usage,
        }
      }
      const results = yield* this.#runTools(calls, signal)
      yield await this.#append({ role: 'user', content: results })
    }
  }

  async *#callModel(
    signal: AbortSignal,
  ): AsyncGenerator<AgentStreamEvent, { message: Message; stopReason: StopReason; usage: Usage }, undefined> {
    for (;;) {
      const assembler = new MessageAssembler(this.model.provider)
      let failure: unknown
      const request = {
        messages: modelView(this.messages),
        ...(this.systemPrompt === undefined ? {} : { systemPrompt: this.systemPrompt }),
        ...(this.tools.size === 0 ? {} : { tools: [...this.tools.values()].map((tool) => tool.spec) }),
      }
      await this.hooks.emit('model-call-start', { agent: this, request })
      const span = startSpan(
        this,
        `chat ${this.model.modelId}`,
        {
          [GEN_AI.operation]: 'chat',
          [GEN_AI.provider]: this.model.provider,
          [GEN_AI.requestModel]: this.model.modelId,
        },
        'client',
      )
      let settled = false
      try {
        for await (const event of this.model.stream(request, { signal })) {
          assembler.add(event)
          if (event.type === 'text-delta') yield { type: 'text-delta', text: event.text }
          else if (event.type === 'reasoning-delta') yield { type: 'reasoning-delta', text: event.text }
          else if (event.type === 'tool-use-start') {
            yield { type: 'tool-use-start', toolUseId: event.toolUseId, name: event.name }
          }
        }
        if (assembler.stopReason === undefined || assembler.usage === undefined) {
          throw new ModelError(
            this.model.provider,
            'the response stream ended before the message was complete',
          )
        }
        settled = true
      } catch (error) {
        failure = error
        settled = true
      } finally {
        // The caller stopped reading mid-call (a `break` out of `stream`): the call ends here.
        if (!settled) span.end('the caller stopped reading the stream during the model call')
      }
      span.set({
        [GEN_AI.inputTokens]: assembler.usage?.inputTokens,
        [GEN_AI.outputTokens]: assembler.usage?.outputTokens,
        [GEN_AI.finishReasons]: assembler.stopReason === undefined ? undefined : [assembler.stopReason],
      })
      span.end(failure)
      await this.hooks.emit('model-call-end', {
        agent: this,
        stopReason: assembler.stopReason,
        usage: assembler.usage,
        error: failure,
      })
      if (failure === undefined && assembler.stopReason !== undefined && assembler.usage !== undefined) {
        yield { type: 'model-call-end', stopReason: assembler.stopReason, usage: assembler.usage }
        return { message: assembler.finish(), stopReason: assembler.stopReason, usage: assembler.usage }
      }
      if (!signal.aborted && failure instanceof ContextWindowOverflowError) {
        const before = this.messages.length
        if (await this.conversationManager.reduceContext(this)) {
          this.#log.info('context window overflow: reduced the context and calling the model again', {
            messagesBefore: before,
            messagesAfter: this.messages.length,
          })
          continue
        }
        this.#log.warn('context window overflow: the conversation manager could not reduce the context', {
          messages: before,
        })
      }
      throw failure
    }
  }

  /** Runs the calls concurrently and yields each result as it lands; results keep the calls' order. */
  async *#runTools(
    calls: ToolUseBlock[],
    signal: AbortSignal,
  ): AsyncGenerator<AgentStreamEvent, ToolResultBlock[], undefined> {
    const results: ToolResultBlock[] = []
    const pending = new Map<number, Promise<{ index: number; result: ToolResultBlock }>>()
    for (const [index, toolUse] of calls.entries()) {
      await this.hooks.emit('tool-call-start', { agent: this, toolUse })
      const span = startSpan(this, `execute_tool ${toolUse.name}`, {
        [GEN_AI.operation]: 'execute_tool',
        [GEN_AI.toolName]: toolUse.name,
        [GEN_AI.toolCallId]: toolUse.toolUseId,
        [GEN_AI.toolType]: 'function',
      })
      const execution = span.activate(() => executeToolUse(toolUse, this.tools, signal))
      pending.set(
        index,
        execution.then(
          (result) => {
            // A tool that failed answers the model with an error result rather than throwing.
            span.end(result.status === 'error' ? toolErrorText(result) : undefined)
            return { index, result }
          },
          (error: unknown) => {
            span.end(error)
            throw error
          },
        ),
      )
    }
    while (pending.size > 0) {
      const { index, result } = await Promise.race(pending.values())
      pending.delete(index)
      results[index] = result
      const toolUse = calls[index] as ToolUseBlock
      await this.hooks.emit('tool-call-end', { agent: this, toolUse, result })
      yield { type: 'tool-use-end', toolUse, result }
    }
    return results
  }

  /** After a cancel mid-tools: answer every open tool call, so the conversation stays valid for the next call. */
  async #closeDanglingToolUses(reason: string): Promise<void> {
    const last = this.messages.at(-1)
    if (last?.role !== 'assistant') return
    const calls = toolUses(last)
    if (calls.length === 0) return
    const content: ToolResultBlock[] = calls.map((call) => ({
      type: 'toolResult',
      toolUseId: call.toolUseId,
      status: 'error',
      content: [{ type: 'text', text: reason }],
    }))
    await this.#append({ role: 'user', content })
  }

  static #toolMap(tools: Tool[]): Map<string, Tool> {
    const map = new Map<string, Tool>()
    for (const tool of tools) {
      if (map.has(tool.spec.name)) throw new ConfigurationError(`Two tools are named "${tool.spec.name}".`)
      map.set(tool.spec.name, tool)
    }
    return map
  }
}

function toolErrorText(result: ToolResultBlock): string {
  const text = result.content.flatMap((block) => (block.type === 'text' ? [block.text] : [])).join(' ')
  return `the tool returned an error result: ${text}`
}
