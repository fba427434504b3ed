/**
 * Reads a provider's "wait before retrying" hint from response headers, in milliseconds.
 * `retry-after-ms` (sent by OpenAI and Anthropic) is the most precise, so it wins; `retry-after`
 * is standard HTTP and holds either seconds or an HTTP date.
 */
export function parseRetryAfter(
  header: (name: string) => string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  const milliseconds = Number.parseFloat(header('retry-after-ms') ?? '')
  if (Number.isFinite(milliseconds) && milliseconds >= 0) return milliseconds
  const value = header('retry-after')?.trim()
  if (!value) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number.parseFloat(value) * 1000
  const date = Date.parse(value)
  if (Number.isNaN(date)) return undefined
  return Math.max(0, date - now)
}
