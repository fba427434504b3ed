import OpenAI, { type ClientOptions } from 'openai'
import { ConfigurationError } from '../../errors/configuration-error.ts'
import type { Model, ModelCallOptions, ModelRequest, ModelStreamEvent } from '../model.ts'
import { guardCall, guardIteration } from '../provider-call-guard.ts'
import { readEnv } from '../read-env.ts'
import { mapOpenAIError } from './openai-errors.ts'
import { toChatCompletionsBody } from './openai-request.ts'
import { ChatCompletionsStreamTranslator, chatCompletionEvents } from './openai-response.ts'

export interface OpenAIModelOptions {
  /** The model name, e.g. `gpt-4.1` or, on a compatible server, `llama3.2`. */
  model: string
  /** Default: the `OPENAI_API_KEY` environment variable (read by the SDK). */
  apiKey?: string
  /** An OpenAI-compatible server, e.g. `http://localhost:11434/v1` (Ollama), vLLM, LM Studio, llama.cpp. */
  baseURL?: string
  /** A ready client; `apiKey`, `baseURL` and `clientOptions` are then ignored. */
  client?: OpenAI
  /** More options for the client Tether creates (`maxRetries`, `timeout`, `defaultHeaders`, ...). */
  clientOptions?: ClientOptions
  /** Stream the response (default) or ask for it whole; the events are the same either way. */
  streaming?: boolean
  maxTokens?: number
  /** More Chat Completions parameters (`temperature`, `reasoning_effort`, ...), sent as given. */
  params?: Record<string, unknown>
}

/** A model served through the OpenAI Chat Completions API, by OpenAI or any compatible server. */
export class OpenAIModel implements Model {
  readonly specificationVersion = 1 as const
  readonly provider = 'openai'
  readonly modelId: string
  readonly client: OpenAI
  readonly streaming: boolean
  readonly #maxTokens: { [field: string]: number }
  readonly #params: Record<string, unknown>

  constructor(options: OpenAIModelOptions) {
    this.modelId = options.model
    this.streaming = options.streaming ?? true
    this.#params = options.params ?? {}
    this.client = options.client ?? OpenAIModel.#createClient(options)
    // OpenAI replaced `max_tokens` with `max_completion_tokens` (its reasoning models reject the
    // old name), while compatible servers widely understand only `max_tokens`.
    const usesCompatibleServer = options.client === undefined && options.baseURL !== undefined
    const maxTokensField = usesCompatibleServer ? 'max_tokens' : 'max_completion_tokens'
    this.#maxTokens = options.maxTokens === undefined ? {} : { [maxTokensField]: options.maxTokens }
  }

  static #createClient(options: OpenAIModelOptions): OpenAI {
    // Local servers (Ollama, LM Studio, ...) need no key, but the SDK refuses to start without
    // one; a placeholder keeps it going. Without a baseURL the SDK's own error is the right one.
    const placeholder = options.baseURL === undefined ? undefined : 'no-api-key'
    const apiKey = options.apiKey ?? options.clientOptions?.apiKey ?? readEnv('OPENAI_API_KEY') ?? placeholder
    if (apiKey === undefined) {
      throw new ConfigurationError(
        `OpenAIModel "${options.model}" has no API key: pass \`apiKey\`, set OPENAI_API_KEY, or pass \`baseURL\` for a server that needs none.`,
      )
    }
    try {
      return new OpenAI({
        ...options.clientOptions,
        ...(options.baseURL === undefined ? {} : { baseURL: options.baseURL }),
        apiKey,
      })
    } catch (error) {
      throw new ConfigurationError(`The OpenAI client could not be created: ${String(error)}`, {
        cause: error,
      })
    }
  }

  async *stream(request: ModelRequest, options: ModelCallOptions = {}): AsyncIterable<ModelStreamEvent> {
    const body = {
      ...this.#params,
      ...this.#maxTokens,
      model: this.modelId,
      ...toChatCompletionsBody(request),
    }
    const { signal } = options
    const mapError = (error: unknown) => mapOpenAIError(error, signal)
    if (!this.streaming) {
      const completion = await guardCall(mapError, () =>
        this.client.chat.completions.create({ ...body, stream: false }, { signal }),
      )
      yield* chatCompletionEvents(completion)
      return
    }
    const translator = new ChatCompletionsStreamTranslator()
    const chunks = await guardCall(mapError, () =>
      this.client.chat.completions.create(
        { ...body, stream: true, stream_options: { include_usage: true } },
        { signal },
      ),
    )
    for await (const chunk of guardIteration(mapError, chunks)) yield* translator.add(chunk)
    // The SDK ends the stream quietly on abort; report the abort rather than a cut-off response.
    signal?.throwIfAborted()
    yield* translator.finish()
  }
}
