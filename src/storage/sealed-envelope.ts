import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { DecryptionError } from './decryption-error.ts'

export interface EncryptionKey {
  /** Stored beside each ciphertext, so a reader knows which key to use: keep it short and stable. */
  id: string
  /** 32 bytes (AES-256). Keep it in a secret manager, never beside the sessions. */
  key: Uint8Array
}

/** Every envelope starts with this; any other version is refused, never read as text. */
export const SEALED_PREFIX = 'tether-sealed:'
const VERSION = 'v2'
const ENVELOPE = /^tether-sealed:v2:([A-Za-z0-9_-]{1,64}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]{22,})$/
const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/
const TAG_BYTES = 16

/**
 * Where a sealed value belongs, as the READER knows it (the place it asked for, never what the
 * stored record claims): the GCM additional data. A ciphertext opened anywhere else fails to
 * authenticate, so a record copied from another session, agent, index or kind is refused.
 */
export type SealedPlace = readonly (string | number | null)[]

/** AES-256-GCM envelopes `tether-sealed:v2:<key id>:<iv>:<ciphertext+tag>` bound to a place. */
export class SealedEnvelope {
  readonly #keys: Map<string, Uint8Array>
  readonly #current: EncryptionKey

  constructor(keys: EncryptionKey[]) {
    const [current] = keys
    if (!current) throw new ConfigurationError('EncryptedSessionRepository needs at least one key.')
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id))
        throw new ConfigurationError(`Key id "${id}" is invalid: use 1-64 letters, digits, _ or -.`)
      if (key.byteLength !== 32) {
        throw new ConfigurationError(
          `Key "${id}" has ${key.byteLength} bytes; AES-256 needs 32 (e.g. randomBytes(32)).`,
        )
      }
    }
    this.#current = current
    this.#keys = new Map(keys.map(({ id, key }) => [id, key]))
  }

  static isSealed(text: string): boolean {
    return text.startsWith(SEALED_PREFIX)
  }

  seal(plaintext: string, place: SealedPlace): string {
    const iv = randomBytes(12)
    const cipher = createCipheriv('aes-256-gcm', this.#current.key, iv)
    cipher.setAAD(additionalData(place))
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final(), cipher.getAuthTag()])
    return `${SEALED_PREFIX}${VERSION}:${this.#current.id}:${iv.toString('base64url')}:${data.toString('base64url')}`
  }

  /** The plaintext, or a DecryptionError naming `where` and why (never a guess, never the ciphertext). */
  open(envelope: string, place: SealedPlace, where: string): string {
    const match = ENVELOPE.exec(envelope)
    if (!match) {
      const version = envelope.slice(SEALED_PREFIX.length).split(':')[0] ?? ''
      throw new DecryptionError(
        where,
        version === VERSION
          ? 'the sealed envelope is malformed (altered or truncated)'
          : `the sealed envelope has version "${version.slice(0, 16)}", which this tether-agents does not read (only ${VERSION})`,
      )
    }
    const [, keyId = '', ivText = '', dataText = ''] = match
    const key = this.#keys.get(keyId)
    if (!key) throw new DecryptionError(where, `it was encrypted with key "${keyId}", which was not given`)
    const data = Buffer.from(dataText, 'base64url')
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(ivText, 'base64url'))
      decipher.setAAD(additionalData(place))
      decipher.setAuthTag(data.subarray(data.length - TAG_BYTES))
      const body = data.subarray(0, data.length - TAG_BYTES)
      return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
    } catch (error) {
      throw new DecryptionError(
        where,
        `authentication failed under key "${keyId}" (a different key with that id, altered data, or a record moved from another session, agent or position)`,
        { cause: error },
      )
    }
  }
}

function additionalData(place: SealedPlace): Buffer {
  return Buffer.from(JSON.stringify([`${SEALED_PREFIX}${VERSION}`, ...place]), 'utf8')
}
