import type { JsonValue } from '../messages/message.ts'
import type {
  Model,
  ModelCallOptions,
  ModelRequest,
  ModelStreamEvent,
  StopReason,
  Usage,
} from '../models/model.ts'

/** One scripted model turn. */
export interface ScriptedResponse {
  text?: string
  toolUses?: { name: string; input: JsonValue; toolUseId?: string }[]
  /** Default: `toolUse` when there are tool uses, else `endTurn`. */
  stopReason?: StopReason
  usage?: Usage
  /** Thrown instead of answering (e.g. a `ContextWindowOverflowError`). */
  error?: Error
  /** Milliseconds to wait between streamed chunks (to test cancelling mid-reply). */
  chunkDelayMs?: number
}

export type ScriptStep = ScriptedResponse | ((request: ModelRequest) => ScriptedResponse)

export interface ScriptedModelOptions {
  /** Played in order; when it runs out, `fallback` answers (default: an error naming the request count). */
  script?: ScriptStep[]
  fallback?: ScriptStep
  modelId?: string
}

/**
 * A deterministic model for tests: it answers from a script, streams text in small chunks, and
 * records every request (`requests`) so a test can assert exactly what the model was sent.
 */
export class ScriptedModel implements Model {
  readonly specificationVersion = 1 as const
  readonly provider = 'scripted'
  readonly modelId: string
  readonly requests: ModelRequest[] = []
  readonly #script: ScriptStep[]
  readonly #fallback: ScriptStep | undefined
  #toolUseCounter = 0

  constructor(options: ScriptedModelOptions = {}) {
    this.#script = [...(options.script ?? [])]
    this.#fallback = options.fallback
    this.modelId = options.modelId ?? 'scripted-model'
  }

  /** Appends steps to the script. */
  enqueue(...steps: ScriptStep[]): void {
    this.#script.push(...steps)
  }

  async *stream(request: ModelRequest, options: ModelCallOptions = {}): AsyncIterable<ModelStreamEvent> {
    this.requests.push(structuredClone(request))
    const step = this.#script.shift() ?? this.#fallback
    if (!step) {
      throw new Error(`ScriptedModel: the script ran out at request ${this.requests.length}.`)
    }
    const response = typeof step === 'function' ? step(request) : step
    if (response.error) throw response.error
    const signal = options.signal
    const pause = async () => {
      if (response.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, response.chunkDelayMs))
      signal?.throwIfAborted()
    }
    for (const chunk of (response.text ?? '').match(/[\s\S]{1,8}/g) ?? []) {
      await pause()
      yield { type: 'text-delta', text: chunk }
    }
    for (const toolUse of response.toolUses ?? []) {
      const toolUseId = toolUse.toolUseId ?? `tool-${++this.#toolUseCounter}`
      await pause()
      yield { type: 'tool-use-start', toolUseId, name: toolUse.name }
      yield { type: 'tool-use-input-delta', toolUseId, inputDelta: JSON.stringify(toolUse.input) }
      yield { type: 'tool-use-end', toolUseId }
    }
    const outputTokens = Math.ceil((response.text ?? '').length / 4)
    yield {
      type: 'message-end',
      stopReason: response.stopReason ?? (response.toolUses?.length ? 'toolUse' : 'endTurn'),
      usage: response.usage ?? { inputTokens: 10, outputTokens, totalTokens: 10 + outputTokens },
    }
  }
}
