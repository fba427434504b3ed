import { z } from 'zod'

/** Every flag value arrives as a string (see run-cli.ts); these turn them into checked values. */

/**
 * An http(s) URL with a host. `z.url()` alone takes `localhost:18080` as a URL whose scheme is
 * `localhost:`; a server address without `http://` is a mistake to report, not a URL to try.
 */
export function httpUrl(example: string) {
  const message = `expected an http:// or https:// URL such as ${example}`
  return z.url({ protocol: /^https?$/, error: message })
}

export const storeFlags = {
  store: z.string().min(1, 'expected file:DIR or s3://BUCKET/PREFIX').optional(),
  endpoint: httpUrl('http://127.0.0.1:9000').optional(),
  keyFile: z.string().min(1).optional(),
}

export const sessionId = z
  .string({ error: 'a session ID is required' })
  .min(1, 'a session ID cannot be empty')

export function wholeNumber(minimum: number) {
  return z
    .string()
    .regex(/^\d+$/, `expected a whole number of at least ${minimum}`)
    .transform(Number)
    .pipe(z.number().int().min(minimum, `expected a whole number of at least ${minimum}`))
}
