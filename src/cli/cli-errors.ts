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

/** The destination already has a session with this ID, and `--replace` was not given. Exit 1. */
export class SessionExistsError extends TetherError {
  constructor(sessionId: string, store: string) {
    super(
      'session-exists',
      `Session "${sessionId}" already exists in ${store}; pass --replace to overwrite it.`,
    )
  }
}
