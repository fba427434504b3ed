import type { Agent } from '../agent/agent.ts'
import type { JsonValue } from '../messages/message.ts'

/** JSON state a conversation manager persists through a session, so a restore rebuilds only the window. */
export interface ConversationManagerState {
  /** Which manager wrote it; a restore into a different manager type starts fresh. */
  type: string
  /** How many messages from the start of the stored conversation are no longer in the context. */
  removedMessageCount: number
  [key: string]: JsonValue
}

/** Keeps the context sent to the model within bounds while the session keeps the full history. */
export interface ConversationManager {
  /** Before every model call and after every invocation: trim `agent.messages` to the policy. */
  applyManagement(agent: Agent): void | Promise<void>
  /**
   * The model said the context overflowed: remove more. Returns false when nothing more can be
   * removed, and the Agent rethrows the overflow error.
   */
  reduceContext(agent: Agent): boolean | Promise<boolean>
  getState(): ConversationManagerState
  restoreState(state: ConversationManagerState): void
}
