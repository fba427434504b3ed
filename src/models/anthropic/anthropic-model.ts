import Anthropic, { type ClientOptions } from '@anthropic-ai/sdk'
import { ConfigurationError } from '../../errors/configuration-error.ts'
import type { Model, ModelCallOptions, ModelRequest, ModelStreamEvent } from '../model.ts'
import { guardCall, guardIteration } from '../provider-call-guard.ts'
import { readEnv } from '../read-env.ts'
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
    this.client = options.client ?? AnthropicModel.#createClient(options)
  }

  static #createClient(options: AnthropicModelOptions): Anthropic {
    const client = options.clientOptions ?? {}
    // The SDK accepts a key-less client and fails at the first request with a plain Error; say it now.
    const hasCredentials =
      (options.apiKey ?? client.apiKey ?? client.authToken ?? client.defaultHeaders) !== undefined ||
      readEnv('ANTHROPIC_API_KEY') !== undefined ||
      readEnv('ANTHROPIC_AUTH_TOKEN') !== undefined
    if (!hasCredentials) {
      throw new ConfigurationError(
        `AnthropicModel "${options.model}" has no API key: pass \`apiKey\` or set ANTHROPIC_API_KEY.`,
      )
    }
    try {
      return new Anthropic({
        ...client,
        ...(options.apiKey === undefined ? {} : { apiKey: options.apiKey }),
        ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
      })
    } catch (error) {
      throw new ConfigurationError(`The Anthropic client could not be created: ${String(error)}`, {
        cause: error,
      })
    }
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
