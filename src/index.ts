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
// Logging (silent by default; `DEBUG=tether:*` or the `logger` option)
export type { LogFields, Logger } from './logging/logger.ts'
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
export type { RepairReport } from './session/load-repaired-history.ts'
export type { Repair, RepairKind } from './session/plan-history-repair.ts'
export { type RepairSessionOptions, repairSession } from './session/repair-session.ts'
export {
  RepositorySessionManager,
  type RepositorySessionManagerOptions,
} from './session/repository-session-manager.ts'
export {
  DamagedRecordError,
  RecordNotFoundError,
  SessionConflictError,
  StorageError,
  UnsupportedSchemaVersionError,
} from './session/session-errors.ts'
export type { SessionManager } from './session/session-manager.ts'
export {
  type AgentRecord,
  type MessageRecord,
  SCHEMA_VERSION,
  type SessionRecord,
  SUPPORTED_SCHEMA_VERSIONS,
} from './session/session-records.ts'
export type {
  AgentRef,
  AgentWrite,
  ListSessionsOptions,
  SessionPage,
  SessionRef,
  SessionRepository,
  UnreadableSession,
} from './session/session-repository.ts'
// Storage (the file repository is Node-only; the S3 one is the `tether-agents/s3` subpath)
export { DecryptionError } from './storage/decryption-error.ts'
export { defaultSessionsDirectory } from './storage/default-sessions-directory.ts'
export {
  EncryptedSessionRepository,
  type EncryptedSessionRepositoryOptions,
  type EncryptionKey,
  type EncryptSessionReport,
} from './storage/encrypted-session-repository.ts'
export {
  FileSessionRepository,
  type FileSessionRepositoryOptions,
} from './storage/file-session-repository.ts'
export { FileSyncStateStore, type FileSyncStateStoreOptions } from './storage/file-sync-state-store.ts'
export { MemorySessionRepository } from './storage/memory-session-repository.ts'
// Sync (offline-first: a local repository synced with a remote one)
export type { AgentStateConflict, SyncFailure } from './sync/sync-bookkeeping.ts'
export { SyncError } from './sync/sync-errors.ts'
export type { AutoSyncOptions } from './sync/sync-scheduler.ts'
export type { AgentSyncReport, SessionSyncReport } from './sync/sync-session.ts'
export { MemorySyncStateStore, type SyncStateStore } from './sync/sync-state-store.ts'
export type { AgentSyncStatus, SyncStatus } from './sync/sync-status.ts'
export {
  SyncedSessionRepository,
  type SyncedSessionRepositoryOptions,
  type SyncOptions,
  type SyncReport,
} from './sync/synced-session-repository.ts'
// Telemetry (OpenTelemetry through the optional peer `@opentelemetry/api`)
export type {
  SpanAttributeValue,
  SpanLike,
  TelemetryOptions,
  TracerLike,
} from './telemetry/telemetry-options.ts'
// Tools
export { type JsonSchemaObject, type Tool, type ToolContext, type ToolOutput, tool } from './tools/tool.ts'
