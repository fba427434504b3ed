import { TetherError } from '../errors/tether-error.ts'

/** The command line is wrong: an unknown command or flag, a missing argument, a bad value. Exit 2. */
export class UsageError extends TetherError {
  constructor(message: string) {
    super('usage', message)
  }
}

/** What the command names does not exist (a session ID, a file). Exit 1, with what to try. */
export class NotFoundError extends TetherError {
  constructor(message: string) {
    super('not-found', message)
  }
}
