import type { Message } from '../messages/message.ts'
import type { StopReason, Usage } from '../models/model.ts'

export interface AgentResult {
  /** The final assistant message's text. */
  output: string
  /** The final assistant message. */
  message: Message
  stopReason: StopReason
  /** Summed over every model call of the invocation. */
  usage: Usage
}
