/**
 * tether-agents: the public surface. Everything is exported by name; provider models live behind
 * their own subpaths (`tether-agents/models/openai`, ...) so their SDKs stay optional.
 */

// Agent
export {
  Agent,
  type AgentConfig,
  type AgentStreamEvent,
  type InvocationOptions,
  type Prompt,
} from './agent/agent.ts'
export {
  ConcurrentInvocationError,
  InvocationAbortedError,
  MaxCyclesExceededError,
} from './agent/agent-errors.ts'
export type { AgentResult } from './agent/agent-result.ts'
export { AgentState, type JsonObject } from './agent/agent-state.ts'
// Conversation managers
export type { ConversationManager, ConversationManagerState } from './conversation/conversation-manager.ts'
export { NullConversationManager } from './conversation/null-conversation-manager.ts'
export {
  SlidingWindowConversationManager,
  type SlidingWindowOptions,
} from './conversation/sliding-window-conversation-manager.ts'
// Errors
export { ConfigurationError } from './errors/configuration-error.ts'
export { InternalError } from './errors/internal-error.ts'
export { TetherError } from './errors/tether-error.ts'
export { ValidationError } from './errors/validation-error.ts'
// Hooks
export type { HookCallback, HookEventName, HookEvents } from './hooks/hook-events.ts'
export { type HookProvider, HookRegistry } from './hooks/hook-registry.ts'
// Messages
export {
  type ContentBlock,
  contentBlockSchema,
  type ImageBlock,
  type JsonValue,
  type Message,
  messageSchema,
  messageText,
  type ReasoningBlock,
  type Role,
  type TextBlock,
  type ToolResultBlock,
  type ToolResultContent,
  type ToolUseBlock,
} from './messages/message.ts'
// Models (the specification; implementations are subpath exports)
export type {
  Model,
  ModelCallOptions,
  ModelRequest,
  ModelStreamEvent,
  StopReason,
  ToolSpec,
  Usage,
} from './models/model.ts'
export {
  ContextWindowOverflowError,
  ModelAuthenticationError,
  ModelError,
  ModelRateLimitError,
} from './models/model-errors.ts'
// Sessions
export type { SessionManager } from './session/session-manager.ts'
// Tools
export { type JsonSchemaObject, type Tool, type ToolContext, type ToolOutput, tool } from './tools/tool.ts'
