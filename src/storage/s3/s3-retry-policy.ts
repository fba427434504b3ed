import type { Logger } from '../../logging/logger.ts'
import { StorageError } from '../../session/session-errors.ts'

export interface RetryPolicy {
  /** Attempts per request, the first included. Default 5. */
  maxAttempts: number
  /** First backoff ceiling; each retry doubles it up to `maxDelayMs`. Default 50 ms. */
  baseDelayMs: number
  /** Default 2,000 ms. */
  maxDelayMs: number
  /** A request still unanswered after this long is abandoned and retried. Default 10,000 ms. */
  attemptTimeoutMs: number
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  maxAttempts: 5,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  attemptTimeoutMs: 10_000,
}

const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504])
const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
])
const RETRYABLE_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
])

/**
 * 5xx, throttling (429, `SlowDown`), timeouts and dropped connections are worth another try;
 * a 4xx (denied, bad request, missing bucket) is not: it will fail the same way again.
 */
export function isRetryable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false
  const e = error as { name?: unknown; code?: unknown; $metadata?: { httpStatusCode?: unknown } }
  const status = e.$metadata?.httpStatusCode
  if (typeof status === 'number') return RETRYABLE_STATUS.has(status)
  if (typeof e.name === 'string' && RETRYABLE_NAMES.has(e.name)) return true
  if (typeof e.code === 'string' && RETRYABLE_CODES.has(e.code)) return true
  // Node's network errors often arrive wrapped, with the code on the cause.
  return 'cause' in e && e.cause !== error && isRetryable(e.cause)
}

/** Full jitter (AWS architecture blog): a uniform delay in [0, ceiling), so retries spread out. */
export function backoffDelay(policy: RetryPolicy, retry: number): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry)
  return Math.random() * ceiling
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/**
 * Runs one S3 request with retries. Every request the repository makes is safe to repeat: keys
 * are unique per writer and ballot, or their content is fixed by what they name, so a PUT that
 * reached the store before its connection dropped is simply written again, never duplicated.
 * Each retry is logged at info (`tether:storage`); after the last attempt the failure becomes a
 * `StorageError` naming the operation and key.
 */
export async function withRetries<T>(
  policy: RetryPolicy,
  operation: string,
  location: string,
  attempt: (signal: AbortSignal) => Promise<T>,
  logger?: Logger,
): Promise<T> {
  for (let retry = 0; ; retry++) {
    try {
      return await attempt(AbortSignal.timeout(policy.attemptTimeoutMs))
    } catch (error) {
      if (!isRetryable(error) || retry + 1 >= policy.maxAttempts) {
        const tries = retry + 1 > 1 ? ` (${retry + 1} attempts)` : ''
        throw new StorageError(operation, `${location}${tries}`, { cause: error })
      }
      const delayMs = Math.round(backoffDelay(policy, retry))
      logger?.info(`S3 ${operation} failed; retrying`, {
        location,
        attempt: retry + 1,
        maxAttempts: policy.maxAttempts,
        delayMs,
        error: describeFailure(error),
      })
      await sleep(delayMs)
    }
  }
}

/** What a failed attempt was, in a few words: the store's error code or the network error's. */
function describeFailure(error: unknown): string {
  const e = error as {
    name?: unknown
    code?: unknown
    message?: unknown
    $metadata?: { httpStatusCode?: unknown }
  }
  const status = e?.$metadata?.httpStatusCode
  const name = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error'
  return typeof status === 'number' ? `${status} ${name}` : `${name}: ${String(e?.message ?? '')}`
}
