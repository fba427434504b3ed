const TETHER_ERROR_MARKER = Symbol.for('tether-agents.error')

export interface TetherErrorOptions {
  cause?: unknown
}

/**
 * Base class of every error Tether throws on purpose. `code` is stable across releases and is what
 * programs should branch on; the message is for people and may change.
 */
export class TetherError extends Error {
  readonly code: string
  readonly [TETHER_ERROR_MARKER] = true

  constructor(code: string, message: string, options: TetherErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
  }

  /** Works across two installed copies of the package, where `instanceof` does not. */
  static isInstance(value: unknown): value is TetherError {
    return typeof value === 'object' && value !== null && TETHER_ERROR_MARKER in value
  }
}
