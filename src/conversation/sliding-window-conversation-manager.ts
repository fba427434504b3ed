import type { Agent } from '../agent/agent.ts'
import { ConfigurationError } from '../errors/configuration-error.ts'
import type { Message } from '../messages/message.ts'
import type { ConversationManager, ConversationManagerState } from './conversation-manager.ts'

export interface SlidingWindowOptions {
  /** The most messages kept in the context. Default 40. */
  windowSize?: number
}

/**
 * A window may only start on a user message that carries no tool results: starting on a tool
 * result would hand the model a result without its call, and starting on an assistant message
 * is rejected by Anthropic and Bedrock.
 */
export function isValidWindowStart(message: Message): boolean {
  return message.role === 'user' && !message.content.some((block) => block.type === 'toolResult')
}

/**
 * Keeps the last `windowSize` messages (or fewer, to land on a valid start) in `agent.messages`.
 * Only the context shrinks: a session keeps every message in storage. A restore reads the last
 * `windowSize` stored messages (see `restoreOffset`), whoever wrote them, so the window position
 * is derived from the message count and never read from a stored hint.
 */
export class SlidingWindowConversationManager implements ConversationManager {
  readonly windowSize: number
  #removedMessageCount = 0

  constructor(options: SlidingWindowOptions = {}) {
    const windowSize = options.windowSize ?? 40
    if (!Number.isInteger(windowSize) || windowSize < 2) {
      throw new ConfigurationError(`windowSize must be an integer of at least 2; got ${windowSize}.`)
    }
    this.windowSize = windowSize
  }

  get removedMessageCount(): number {
    return this.#removedMessageCount
  }

  applyManagement(agent: Agent): void {
    if (agent.messages.length <= this.windowSize) return
    this.#trimTo(agent, this.windowSize)
  }

  reduceContext(agent: Agent): boolean {
    return this.#trimTo(agent, Math.floor(agent.messages.length / 2))
  }

  /**
   * Removes messages from the front so at most `target` remain, starting on a valid start. When
   * no valid start lies that late (one turn of tool calls is longer than the target), the window
   * opens on the latest valid start instead: the last turn is kept whole rather than cut into an
   * invalid request. Returns false when nothing could be removed.
   */
  #trimTo(agent: Agent, target: number): boolean {
    const messages = agent.messages
    const earliest = Math.max(1, messages.length - target)
    let start = -1
    for (let i = earliest; i < messages.length && start === -1; i++) {
      if (isValidWindowStart(messages[i] as Message)) start = i
    }
    for (let i = earliest - 1; i >= 1 && start === -1; i--) {
      if (isValidWindowStart(messages[i] as Message)) start = i
    }
    if (start === -1) return false
    messages.splice(0, start)
    this.#removedMessageCount += start
    return true
  }

  getState(): ConversationManagerState {
    return { type: 'sliding-window', removedMessageCount: this.#removedMessageCount }
  }

  restoreState(state: ConversationManagerState): void {
    if (state.type !== 'sliding-window') return
    this.#removedMessageCount = state.removedMessageCount
  }

  /**
   * The last `windowSize` stored messages. When they hold no valid start (one tool turn longer
   * than the window), the session reads back to the latest valid start, as `applyManagement` keeps
   * the last turn whole.
   */
  restoreOffset({ messageCount }: { messageCount: number }): number {
    return Math.max(0, messageCount - this.windowSize)
  }
}
