import { TetherError } from '../errors/tether-error.ts'

const CHECK_KEYS = 'Check the keys given to EncryptedSessionRepository (tether: --key-file)'

/**
 * A stored record cannot be trusted under encryption: a key is missing or wrong, the ciphertext
 * was altered, it was moved from another place, it is plaintext, or its envelope is unknown.
 * Never a `DamagedRecordError`: no repair replaces it, because the right key may still read it.
 */
export class DecryptionError extends TetherError {
  readonly location: string
  readonly reason: string
  constructor(location: string, reason: string, options?: { cause?: unknown; advice?: string }) {
    super(
      'decryption',
      `Cannot decrypt ${location}: ${reason}. ${options?.advice ?? CHECK_KEYS}; nothing was changed or shown.`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    )
    this.location = location
    this.reason = reason
  }
}
