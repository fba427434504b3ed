import { ConfigurationError } from '../errors/configuration-error.ts'
import type { Model } from '../models/model.ts'
import { ModelError } from '../models/model-errors.ts'

export type Provider = 'openai' | 'anthropic' | 'bedrock'

export interface ModelFlags {
  provider?: Provider | undefined
  model?: string | undefined
  baseUrl?: string | undefined
}

export interface ModelChoice {
  provider: Provider
  model: string
  baseURL?: string
  apiKey?: string
}

/** Used when only a provider is known. Older names age out; `--model` always wins. */
export const DEFAULT_MODELS: Record<Provider, string> = {
  openai: 'gpt-4.1-mini',
  anthropic: 'claude-sonnet-4-6',
  bedrock: 'us.anthropic.claude-sonnet-4-6-v1:0',
}

const HOW_TO_CONFIGURE = [
  'No model is configured. Any one of these works:',
  '  OpenAI:          export OPENAI_API_KEY=sk-...  then  tether chat --session ID [--model gpt-4.1]',
  '  Anthropic:       export ANTHROPIC_API_KEY=...  then  tether chat --session ID [--model NAME]',
  '  Amazon Bedrock:  tether chat --session ID --provider bedrock --model MODEL_ID  (AWS credentials and region from the usual AWS chain)',
  '  Ollama or another OpenAI-compatible server:',
  '                   tether chat --session ID --provider openai --base-url http://localhost:11434/v1 --model llama3.2',
  '                   (or export OPENAI_BASE_URL=http://localhost:11434/v1 and pass --model)',
].join('\n')

/**
 * Picks the provider and model from the flags, else the environment: OPENAI_BASE_URL or
 * OPENAI_API_KEY mean OpenAI (or a compatible server), ANTHROPIC_API_KEY means Anthropic. Bedrock is
 * never guessed: AWS credentials are often present for S3 alone, so it takes `--provider bedrock`.
 */
export function chooseModel(
  flags: ModelFlags,
  env: Readonly<Record<string, string | undefined>>,
): ModelChoice {
  const read = (name: string) => (env[name]?.trim() === '' ? undefined : env[name]?.trim())
  const openAIBase = flags.baseUrl ?? read('OPENAI_BASE_URL')
  const provider =
    flags.provider ??
    (openAIBase !== undefined || read('OPENAI_API_KEY') !== undefined
      ? 'openai'
      : read('ANTHROPIC_API_KEY') !== undefined
        ? 'anthropic'
        : undefined)
  if (provider === undefined) throw new ConfigurationError(HOW_TO_CONFIGURE)

  if (provider === 'openai') {
    const apiKey = read('OPENAI_API_KEY')
    if (apiKey === undefined && openAIBase === undefined) throw new ConfigurationError(HOW_TO_CONFIGURE)
    // A custom server serves its own models: there is no default name worth guessing.
    if (flags.model === undefined && openAIBase !== undefined) {
      throw new ConfigurationError(
        `Pass --model with an OpenAI-compatible server (${openAIBase}), e.g. --model llama3.2 for Ollama.`,
      )
    }
    return {
      provider,
      model: flags.model ?? DEFAULT_MODELS.openai,
      ...(openAIBase === undefined ? {} : { baseURL: openAIBase }),
      ...(apiKey === undefined ? {} : { apiKey }),
    }
  }
  if (provider === 'anthropic') {
    const apiKey = read('ANTHROPIC_API_KEY')
    const baseURL = flags.baseUrl ?? read('ANTHROPIC_BASE_URL')
    if (apiKey === undefined && baseURL === undefined) throw new ConfigurationError(HOW_TO_CONFIGURE)
    return {
      provider,
      model: flags.model ?? DEFAULT_MODELS.anthropic,
      ...(baseURL === undefined ? {} : { baseURL }),
      ...(apiKey === undefined ? {} : { apiKey }),
    }
  }
  if (flags.baseUrl !== undefined) {
    throw new ConfigurationError(
      '--base-url is for openai and anthropic; Bedrock takes its endpoint from the AWS configuration.',
    )
  }
  return { provider, model: flags.model ?? DEFAULT_MODELS.bedrock }
}

/** Loads only the chosen provider's module (and SDK): the others may not even be installed. */
export async function createModel(choice: ModelChoice): Promise<Model> {
  const connection = {
    model: choice.model,
    ...(choice.baseURL === undefined ? {} : { baseURL: choice.baseURL }),
    ...(choice.apiKey === undefined ? {} : { apiKey: choice.apiKey }),
  }
  try {
    if (choice.provider === 'openai') {
      const { OpenAIModel } = await import('../models/openai/index.ts')
      return new OpenAIModel(connection)
    }
    if (choice.provider === 'anthropic') {
      const { AnthropicModel } = await import('../models/anthropic/index.ts')
      return new AnthropicModel(connection)
    }
    const { BedrockModel } = await import('../models/bedrock/index.ts')
    return new BedrockModel({ model: choice.model })
  } catch (error) {
    if (isMissingPackage(error)) {
      const packages = {
        openai: 'openai',
        anthropic: '@anthropic-ai/sdk',
        bedrock: '@aws-sdk/client-bedrock-runtime',
      }
      throw new ConfigurationError(
        `The ${choice.provider} provider needs the ${packages[choice.provider]} package: npm install ${packages[choice.provider]}`,
        { cause: error },
      )
    }
    throw error
  }
}

function isMissingPackage(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND'
  )
}

const DEFAULT_ENDPOINTS: Record<Provider, string> = {
  openai: 'https://api.openai.com/v1',
  anthropic: 'https://api.anthropic.com',
  bedrock: 'the Bedrock endpoint of your AWS region',
}

/**
 * A model call that got no HTTP response (refused, timed out, DNS) says which server it tried:
 * "Connection error." alone does not tell a person that `--base-url` points at the wrong port.
 */
export function nameTheServer(choice: ModelChoice): (error: unknown) => unknown {
  const url = choice.baseURL ?? DEFAULT_ENDPOINTS[choice.provider]
  return (error) =>
    error instanceof ModelError && error.status === undefined
      ? new ModelError(
          error.provider,
          `${error.message.slice(error.provider.length + 2)} (calling ${url}; check --base-url and that the server is running)`,
          undefined,
          { cause: error },
        )
      : error
}
