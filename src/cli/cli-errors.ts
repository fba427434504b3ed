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

/** A record the CLI cannot rebuild by itself: says why and what to do by hand. Exit 1. */
export class RecoveryError extends TetherError {
  constructor(message: string) {
    super('recovery', message)
  }
}

/** A `--replace` failed part way; the message says where the original is and how to put it back. Exit 1. */
export class ReplaceFailedError extends TetherError {
  constructor(message: string, options: { cause: unknown }) {
    super('replace-failed', message, options)
  }
}
