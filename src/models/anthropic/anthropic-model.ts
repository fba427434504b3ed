import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk'
import type { Model, ModelCallOptions, ModelRequest, ModelStreamEvent } from '../model.ts'
import { guardCall, guardIteration } from '../provider-call-guard.ts'
import { mapAnthropicError } from './anthropic-errors.ts'
import { toMessagesBody } from './anthropic-request.ts'
import { MessagesStreamTranslator, messageEvents } from './anthropic-response.ts'

export interface AnthropicModelOptions {
  /** The model name, e.g. `claude-sonnet-4-6`. */
  model: string
  /** Default: the `ANTHROPIC_API_KEY` environment variable (read by the SDK). */
  apiKey?: string
  baseURL?: string
  /** A ready client; `apiKey`, `baseURL` and `clientOptions` are then ignored. */
  client?: Anthropic
  /** More options for the client Tether creates (`maxRetries`, `timeout`, `defaultHeaders`, ...). */
  clientOptions?: ClientOptions
  /** Stream the response (default) or ask for it whole; the events are the same either way. */
  streaming?: boolean
  /** Required by the Messages API. Default 4096. */
  maxTokens?: number
  /** More Messages API parameters (`temperature`, `thinking`, `stop_sequences`, ...), sent as given. */
  params?: Record<string, unknown>
}

/**
 * A Claude model through the Anthropic Messages API. Extended thinking (enable it with
 * `params: { thinking: { type: 'enabled', budget_tokens: 2048 } }`) becomes reasoning blocks, whose
 * signatures are kept so the thinking can be sent back unchanged, as the API requires.
 */
export class AnthropicModel implements Model {
  readonly specificationVersion = 1 as const
  readonly provider = 'anthropic'
  readonly modelId: string
  readonly client: Anthropic
  readonly streaming: boolean
  readonly maxTokens: number
  readonly #params: Record<string, unknown>

  constructor(options: AnthropicModelOptions) {
    this.modelId = options.model
    this.streaming = options.streaming ?? true
    this.maxTokens = options.maxTokens ?? 4096
    this.#params = options.params ?? {}
    this.client =
      options.client ??
      new Anthropic({
        ...options.clientOptions,
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      })
  }

  async *stream(request: ModelRequest, options: ModelCallOptions = {}): AsyncIterable<ModelStreamEvent> {
    const body = {
      ...this.#params,
      model: this.modelId,
      max_tokens: this.maxTokens,
      ...toMessagesBody(request),
    }
    const { signal } = options
    const mapError = (error: unknown) => mapAnthropicError(error, signal)
    if (!this.streaming) {
      const message = await guardCall(mapError, () =>
        this.client.messages.create({ ...body, stream: false }, { signal }),
      )
      yield* messageEvents(message)
      return
    }
    const translator = new MessagesStreamTranslator()
    const events = await guardCall(mapError, () =>
      this.client.messages.create({ ...body, stream: true }, { signal }),
    )
    for await (const event of guardIteration(mapError, events)) yield* translator.add(event)
    // The SDK ends the stream quietly on abort; report the abort rather than a cut-off response.
    signal?.throwIfAborted()
    translator.finish()
  }
}
