import { APIError, APIUserAbortError } from 'openai'
import { TetherError } from '../../errors/tether-error.ts'
import { isContextOverflowMessage } from '../context-overflow-pattern.ts'
import {
  ContextWindowOverflowError,
  ModelAuthenticationError,
  ModelError,
  ModelRateLimitError,
} from '../model-errors.ts'
import { parseRetryAfter } from '../parse-retry-after.ts'

const PROVIDER = 'openai'

/**
 * Maps an error thrown by the OpenAI SDK onto Tether's model errors, keeping it as `cause`.
 * Aborts and Tether's own errors pass through unchanged (the Agent reports aborts itself).
 */
export function mapOpenAIError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted || error instanceof APIUserAbortError || TetherError.isInstance(error)) return error
  if (!(error instanceof APIError)) {
    const message = error instanceof Error ? error.message : String(error)
    return new ModelError(PROVIDER, `request failed: ${message}`, undefined, { cause: error })
  }
  const status = error.status
  const body = error.error as { type?: unknown } | undefined
  const type = typeof body?.type === 'string' ? body.type : undefined
  if (status === 401 || status === 403) {
    return new ModelAuthenticationError(PROVIDER, error.message, { cause: error })
  }
  // `insufficient_quota` arrives as a 429 but is a billing problem: waiting does not help.
  if (status === 429 && error.code !== 'insufficient_quota') {
    const retryAfterMs = error.headers ? parseRetryAfter((name) => error.headers?.get(name)) : undefined
    return new ModelRateLimitError(PROVIDER, error.message, retryAfterMs, { cause: error })
  }
  // Compatible servers disagree on the status (llama.cpp has used both 400 and 500) and send
  // errors inside a stream without one, so the code and the wording decide.
  if (isContextOverflowMessage(error.code, type, error.message)) {
    return new ContextWindowOverflowError(`${PROVIDER}: ${error.message}`, { cause: error })
  }
  return new ModelError(PROVIDER, error.message, status, { cause: error })
}
