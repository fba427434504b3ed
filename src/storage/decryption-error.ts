import { TetherError } from '../errors/tether-error.ts'

/** A stored record could not be decrypted: a key is missing or wrong, or the ciphertext was altered. */
export class DecryptionError extends TetherError {
  readonly location: string
  constructor(location: string, reason: string, options?: { cause?: unknown }) {
    super(
      'decryption',
      `Cannot decrypt ${location}: ${reason}. Check the keys given to EncryptedSessionRepository; nothing was changed.`,
      options,
    )
    this.location = location
  }
}
