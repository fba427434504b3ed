import type { JsonValue, Message } from '../messages/message.ts'

/**
 * The model specification: the only thing the Agent knows about a provider. Providers
 * (`tether-agents/models/openai`, `.../anthropic`, `.../bedrock`) implement it; so can users.
 *
 * A model turns a request into a stream of events. The Agent assembles the assistant message
 * from the events, so a provider only translates its wire format; it never builds a `Message`.
 */
export interface Model {
  /** Bumped when this interface changes incompatibly. */
  readonly specificationVersion: 1
  /** e.g. `openai`, `anthropic`, `bedrock`, `scripted`. */
  readonly provider: string
  readonly modelId: string
  stream(request: ModelRequest, options?: ModelCallOptions): AsyncIterable<ModelStreamEvent>
}

export interface ToolSpec {
  name: string
  description: string
  /** A JSON Schema object describing the tool's input. */
  inputSchema: { [key: string]: JsonValue }
}

export interface ModelRequest {
  messages: Message[]
  systemPrompt?: string
  tools?: ToolSpec[]
}

export interface ModelCallOptions {
  signal?: AbortSignal
}

export type StopReason =
  | 'endTurn'
  | 'toolUse'
  | 'maxTokens'
  | 'stopSequence'
  | 'contentFiltered'
  | 'guardrailIntervened'

export interface Usage {
  inputTokens: number
  outputTokens: number
  totalTokens: number
}

/**
 * Events a model emits, in order: any number of content events, then exactly one `message-end`.
 * Tool input arrives as JSON text in pieces (`inputDelta`) and is parsed once the tool use ends.
 */
export type ModelStreamEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string; signature?: string; redactedData?: string }
  | { type: 'tool-use-start'; toolUseId: string; name: string }
  | { type: 'tool-use-input-delta'; toolUseId: string; inputDelta: string }
  | { type: 'tool-use-end'; toolUseId: string }
  | { type: 'message-end'; stopReason: StopReason; usage: Usage }

export function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0, totalTokens: 0 }
}

export function addUsage(a: Usage, b: Usage): Usage {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    totalTokens: a.totalTokens + b.totalTokens,
  }
}
