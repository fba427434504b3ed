import { z } from 'zod'

/** Every flag value arrives as a string (see run-cli.ts); these turn them into checked values. */

export const storeFlags = {
  store: z.string().min(1, 'expected file:DIR or s3://BUCKET/PREFIX').optional(),
  endpoint: z.url({ error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
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
