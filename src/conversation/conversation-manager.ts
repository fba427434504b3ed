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
  /**
   * Called once a session restored the context. `state` is this manager's stored state (or, when
   * the session was written by another kind of manager or none, its own fresh state), with
   * `removedMessageCount` set to the storage index the restored window starts at.
   */
  restoreState(state: ConversationManagerState): void
  /**
   * Where a session restore starts reading the stored conversation: a storage index from 0 to
   * `messageCount`. Implement it when the window follows from the count alone (a sliding window):
   * the restore then never depends on a stored window position, so other writers' messages are
   * never skipped and the session need not rewrite the agent record each time the window slides.
   * Without it, a restore reads from the window start this manager's type stored last, or from 0.
   */
  restoreOffset?(input: { messageCount: number }): number
}
