import type { z } from 'zod'
import { TetherError, type TetherErrorOptions } from './tether-error.ts'

/** Data that came in from outside (a provider, a tool call, storage, a flag) did not have the expected shape. */
export class ValidationError extends TetherError {
  /** Where the data came from, e.g. `openai response` or `tool "weather" input`. */
  readonly source: string
  readonly issues: readonly { path: string; message: string }[]

  constructor(
    source: string,
    issues: readonly { path: string; message: string }[],
    options?: TetherErrorOptions,
  ) {
    const detail = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ')
    super('validation', `Invalid ${source}: ${detail}`, options)
    this.source = source
    this.issues = issues
  }

  static fromZod(source: string, error: z.ZodError): ValidationError {
    const issues = error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }))
    return new ValidationError(source, issues, { cause: error })
  }
}
