import { TetherError, type TetherErrorOptions } from './tether-error.ts'

/** The caller configured or called Tether wrongly; the message says what to change. */
export class ConfigurationError extends TetherError {
  constructor(message: string, options?: TetherErrorOptions) {
    super('configuration', message, options)
  }
}
