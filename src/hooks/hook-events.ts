import type { Agent } from '../agent/agent.ts'
import type { AgentResult } from '../agent/agent-result.ts'
import type { Message, ToolResultBlock, ToolUseBlock } from '../messages/message.ts'
import type { ModelRequest, StopReason, Usage } from '../models/model.ts'
import type { RepairReport } from '../session/load-repaired-history.ts'

/**
 * Lifecycle events, named noun-verb. Each carries the agent it happened on. Callbacks may be
 * async; the Agent awaits them in order, and an error thrown by one reaches the caller of `run`.
 */
export interface HookEvents {
  /** Once, before the first invocation (or on `agent.initialize()`); sessions restore here. */
  'agent-initialized': { agent: Agent }
  /** Before the prompt is added; sessions re-sync with other writers here. */
  'invocation-start': { agent: Agent }
  /** Every message appended to `agent.messages`: prompt, assistant reply, tool results. */
  'message-added': { agent: Agent; message: Message }
  /** Before each model call, with the request as the model will get it (after context management). */
  'model-call-start': { agent: Agent; request: ModelRequest }
  /** After each model call: its stop reason and token usage when it answered, `error` when it failed. */
  'model-call-end': {
    agent: Agent
    stopReason: StopReason | undefined
    usage: Usage | undefined
    error: unknown
  }
  'tool-call-start': { agent: Agent; toolUse: ToolUseBlock }
  'tool-call-end': { agent: Agent; toolUse: ToolUseBlock; result: ToolResultBlock }
  /** A session found and fixed a broken history while restoring or re-syncing (see the report). */
  'history-repaired': { agent: Agent; report: RepairReport }
  /** After every invocation, successful or not (`error` is set when it failed or was cancelled). */
  'invocation-end': { agent: Agent; result: AgentResult | undefined; error: unknown }
}

export type HookEventName = keyof HookEvents
export type HookCallback<Name extends HookEventName> = (event: HookEvents[Name]) => void | Promise<void>
