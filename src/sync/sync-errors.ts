import { TetherError, type TetherErrorOptions } from '../errors/tether-error.ts'

/**
 * A sync could not finish. Nothing local was lost: local writes keep working, and the next sync
 * (automatic, or `sync()`) starts again from what is stored. `syncStatus` reports it as `lastError`.
 */
export class SyncError extends TetherError {
  constructor(message: string, options?: TetherErrorOptions) {
    super('sync', message, options)
  }
}
