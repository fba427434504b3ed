import type { z } from 'zod'
import { ValidationError } from '../errors/validation-error.ts'

/**
 * Checks the parts of a provider response we read against a schema. SDK types describe what the
 * API promises, not what a proxy or an OpenAI-compatible server actually sent; checking here turns
 * a malformed response into a ValidationError naming the provider, instead of a TypeError later.
 */
export function parseProviderData<Schema extends z.ZodType>(
  source: string,
  schema: Schema,
  value: unknown,
): z.output<Schema> {
  const result = schema.safeParse(value)
  if (!result.success) throw ValidationError.fromZod(source, result.error)
  return result.data
}
