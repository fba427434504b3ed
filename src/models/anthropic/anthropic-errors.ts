import { APIError, APIUserAbortError } from '@anthropic-ai/sdk'
import { TetherError } from '../../errors/tether-error.ts'
import { isContextOverflowMessage } from '../context-overflow-pattern.ts'
import {
  ContextWindowOverflowError,
  ModelAuthenticationError,
  ModelError,
  ModelRateLimitError,
} from '../model-errors.ts'
import { parseRetryAfter } from '../parse-retry-after.ts'

const PROVIDER = 'anthropic'

/**
 * Maps an error thrown by the Anthropic SDK onto Tether's model errors, keeping it as `cause`.
 * Aborts and Tether's own errors pass through unchanged (the Agent reports aborts itself).
 */
export function mapAnthropicError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted || error instanceof APIUserAbortError || TetherError.isInstance(error)) return error
  if (!(error instanceof APIError)) {
    const message = error instanceof Error ? error.message : String(error)
    return new ModelError(PROVIDER, `request failed: ${message}`, undefined, { cause: error })
  }
  const { status } = error
  // Errors sent inside a stream (`event: error`) have no status; their type says what happened.
  const type = error.type
  if (status === 401 || status === 403 || type === 'authentication_error' || type === 'permission_error') {
    return new ModelAuthenticationError(PROVIDER, error.message, { cause: error })
  }
  if (status === 429 || type === 'rate_limit_error') {
    const retryAfterMs = error.headers ? parseRetryAfter((name) => error.headers?.get(name)) : undefined
    return new ModelRateLimitError(PROVIDER, error.message, retryAfterMs, { cause: error })
  }
  // A 400 invalid_request_error whose message says "prompt is too long: N tokens > M maximum" or
  // "input length and `max_tokens` exceed context limit"; there is no dedicated code for it.
  if ((status === 400 || status === undefined) && isContextOverflowMessage(error.apiMessage, error.message)) {
    return new ContextWindowOverflowError(`${PROVIDER}: ${error.apiMessage ?? error.message}`, {
      cause: error,
    })
  }
  return new ModelError(PROVIDER, error.message, status, { cause: error })
}
