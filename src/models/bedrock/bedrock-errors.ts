import { TetherError } from '../../errors/tether-error.ts'
import { isContextOverflowMessage } from '../context-overflow-pattern.ts'
import {
  ContextWindowOverflowError,
  ModelAuthenticationError,
  ModelError,
  ModelRateLimitError,
} from '../model-errors.ts'
import { parseRetryAfter } from '../parse-retry-after.ts'

const PROVIDER = 'bedrock'

/** Exceptions about the credentials or the permission to call the model. */
const AUTH_ERRORS = new Set([
  'AccessDeniedException',
  'UnrecognizedClientException',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'CredentialsProviderError',
])

/** Exceptions that ask the caller to slow down. */
const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'ServiceQuotaExceededException',
  'TooManyRequestsException',
])

/** The fields of an AWS SDK service exception we read; duck-typed so two SDK copies both work. */
interface AwsError {
  name: string
  message: string
  $metadata?: { httpStatusCode?: number }
  $response?: { headers?: Record<string, string | undefined> }
}

/**
 * Maps an error thrown by the Bedrock Runtime client onto Tether's model errors, keeping it as
 * `cause`. The exception's name is the stable signal; exceptions sent inside a stream (as event
 * stream frames) carry the same names as those sent as HTTP errors.
 */
export function mapBedrockError(error: unknown, signal: AbortSignal | undefined): unknown {
  if (signal?.aborted || TetherError.isInstance(error)) return error
  if (!(error instanceof Error)) {
    return new ModelError(PROVIDER, `request failed: ${String(error)}`, undefined, { cause: error })
  }
  const { name, message, $metadata, $response } = error as Error & AwsError
  const status = $metadata?.httpStatusCode
  if (AUTH_ERRORS.has(name))
    return new ModelAuthenticationError(PROVIDER, `${name}: ${message}`, { cause: error })
  if (THROTTLING_ERRORS.has(name) || status === 429) {
    const headers = $response?.headers ?? {}
    const retryAfterMs = parseRetryAfter((header) => headers[header])
    return new ModelRateLimitError(PROVIDER, `${name}: ${message}`, retryAfterMs, { cause: error })
  }
  // "Input is too long for requested model", "too many input tokens", or the model's own wording
  // passed through ("The model returned the following errors: prompt is too long: ...").
  if (
    (name === 'ValidationException' || name === 'ModelErrorException') &&
    isContextOverflowMessage(message)
  ) {
    return new ContextWindowOverflowError(`${PROVIDER}: ${message}`, { cause: error })
  }
  return new ModelError(PROVIDER, `${name}: ${message}`, status, { cause: error })
}
