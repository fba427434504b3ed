import { TetherError, type TetherErrorOptions } from './tether-error.ts'

/** A bug in Tether itself: an invariant did not hold. Please report it with the message. */
export class InternalError extends TetherError {
  constructor(message: string, options?: TetherErrorOptions) {
    super('internal', `${message} (this is a bug in tether-agents; please report it)`, options)
  }
}
