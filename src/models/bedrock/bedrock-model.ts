import {
  BedrockRuntimeClient,
  type BedrockRuntimeClientConfig,
  ConverseCommand,
  ConverseStreamCommand,
} from '@aws-sdk/client-bedrock-runtime'
import { ValidationError } from '../../errors/validation-error.ts'
import type { Model, ModelCallOptions, ModelRequest, ModelStreamEvent } from '../model.ts'
import { guardCall, guardIteration } from '../provider-call-guard.ts'
import { mapBedrockError } from './bedrock-errors.ts'
import { toConverseBody } from './bedrock-request.ts'
import { ConverseStreamTranslator, converseEvents } from './bedrock-response.ts'

export interface BedrockModelOptions {
  /** A model or inference profile id, e.g. `us.anthropic.claude-sonnet-4-6-v1:0`. */
  model: string
  /** Default: the AWS SDK's region chain (`AWS_REGION`, the shared config file). */
  region?: string
  /** A ready client; `region` and `clientConfig` are then ignored. */
  client?: BedrockRuntimeClient
  /** More options for the client Tether creates (`credentials`, `endpoint`, `maxAttempts`, ...). */
  clientConfig?: BedrockRuntimeClientConfig
  /** Stream the response (ConverseStream, the default) or ask for it whole (Converse). */
  streaming?: boolean
  maxTokens?: number
  /**
   * More Converse fields, sent as given: `inferenceConfig` (merged with `maxTokens`),
   * `additionalModelRequestFields` (e.g. Claude's `thinking`), `guardrailConfig`, ...
   */
  params?: Record<string, unknown>
}

/** A model on Amazon Bedrock through the Converse API, which speaks one format for every model. */
export class BedrockModel implements Model {
  readonly specificationVersion = 1 as const
  readonly provider = 'bedrock'
  readonly modelId: string
  readonly client: BedrockRuntimeClient
  readonly streaming: boolean
  readonly maxTokens: number | undefined
  readonly #params: Record<string, unknown>

  constructor(options: BedrockModelOptions) {
    this.modelId = options.model
    this.streaming = options.streaming ?? true
    this.maxTokens = options.maxTokens
    this.#params = options.params ?? {}
    this.client =
      options.client ??
      new BedrockRuntimeClient({
        ...options.clientConfig,
        ...(options.region === undefined ? {} : { region: options.region }),
      })
  }

  async *stream(request: ModelRequest, options: ModelCallOptions = {}): AsyncIterable<ModelStreamEvent> {
    const inferenceConfig = {
      ...(this.#params.inferenceConfig as object | undefined),
      ...(this.maxTokens === undefined ? {} : { maxTokens: this.maxTokens }),
    }
    const input = {
      ...this.#params,
      ...(Object.keys(inferenceConfig).length === 0 ? {} : { inferenceConfig }),
      modelId: this.modelId,
      ...toConverseBody(request),
    }
    const { signal } = options
    const mapError = (error: unknown) => mapBedrockError(error, signal)
    const sendOptions = signal === undefined ? {} : { abortSignal: signal }
    if (!this.streaming) {
      const output = await guardCall(mapError, () =>
        this.client.send(new ConverseCommand(input), sendOptions),
      )
      yield* converseEvents(output)
      return
    }
    const output = await guardCall(mapError, () =>
      this.client.send(new ConverseStreamCommand(input), sendOptions),
    )
    if (!output.stream) {
      throw new ValidationError('bedrock response', [
        { path: 'stream', message: 'ConverseStream answered without a stream' },
      ])
    }
    const translator = new ConverseStreamTranslator()
    for await (const event of guardIteration(mapError, output.stream)) yield* translator.add(event)
    signal?.throwIfAborted()
    yield* translator.finish()
  }
}
