import { TetherError, type TetherErrorOptions } from '../errors/tether-error.ts'

/**
 * The request did not fit the model's context window. Conversation managers react to this one:
 * they trim the context and the Agent retries the call.
 */
export class ContextWindowOverflowError extends TetherError {
  constructor(message: string, options?: TetherErrorOptions) {
    super('context-window-overflow', message, options)
  }
}

/** The provider rejected the credentials. Check the API key or the AWS credentials chain. */
export class ModelAuthenticationError extends TetherError {
  readonly provider: string
  constructor(provider: string, message: string, options?: TetherErrorOptions) {
    super('model-authentication', `${provider}: ${message}. Check the API key or credentials.`, options)
    this.provider = provider
  }
}

/** The provider is throttling; `retryAfterMs` is the provider's hint when it gave one. */
export class ModelRateLimitError extends TetherError {
  readonly provider: string
  readonly retryAfterMs: number | undefined
  constructor(provider: string, message: string, retryAfterMs?: number, options?: TetherErrorOptions) {
    super('model-rate-limit', `${provider}: ${message}`, options)
    this.provider = provider
    this.retryAfterMs = retryAfterMs
  }
}

/** Any other failure of a model call (a 5xx, a refused request, a dropped stream). */
export class ModelError extends TetherError {
  readonly provider: string
  readonly status: number | undefined
  constructor(provider: string, message: string, status?: number, options?: TetherErrorOptions) {
    super('model', `${provider}: ${message}`, options)
    this.provider = provider
    this.status = status
  }
}
