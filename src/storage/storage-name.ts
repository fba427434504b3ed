import { createHash } from 'node:crypto'
import { ConfigurationError } from '../errors/configuration-error.ts'
import { ValidationError } from '../errors/validation-error.ts'

/** Longest name produced; well under the 255-byte name limit of ext4, APFS and NTFS. */
const MAX_NAME_LENGTH = 160
const HASHED_PREFIX_LENGTH = 100
/** Windows device names: a file called `con` (in any case) cannot be created there. */
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/
/** In a `u` pattern a surrogate range matches only unpaired halves: paired ones form one code point. */
const LONE_SURROGATE = /[\uD800-\uDFFF]/u

/**
 * Maps any non-empty string (a session ID, an agent ID) to a name that is safe as one path
 * segment or S3 key segment on every platform, distinct for distinct inputs even on
 * case-insensitive file systems.
 *
 * - `a-z`, `0-9` and `-` are kept; every other UTF-8 byte (uppercase letters included, so `User`
 *   and `user` never fold together) becomes `_` + two lowercase hex digits. No `/`, `\`, `.` or
 *   control character survives, so `..` or `a/b` can never leave the parent directory.
 * - A name longer than MAX_NAME_LENGTH keeps a readable prefix plus `~` and a SHA-256 of the
 *   whole input. Hashed names cannot be decoded, which is why the original ID is also stored
 *   inside the record, and listings read it from there.
 */
export function encodeStorageName(value: string, what = 'ID'): string {
  if (value.length === 0) throw new ConfigurationError(`The ${what} is empty; use a non-empty string.`)
  const lone = LONE_SURROGATE.exec(value)
  if (lone) {
    // UTF-8 has no encoding for half a surrogate pair: it would become U+FFFD, and 'x\uD800',
    // 'x\uDC00' and 'x\uFFFD' would all share one session. Refused, never guessed.
    const code = (lone[0].codePointAt(0) ?? 0).toString(16).toUpperCase()
    throw new ValidationError(what, [
      {
        path: `[${lone.index}]`,
        message: `is a lone surrogate (U+${code}), so the ${what} is not well-formed Unicode; use a string of whole characters`,
      },
    ])
  }
  let encoded = ''
  for (const byte of Buffer.from(value, 'utf8')) {
    const char = String.fromCharCode(byte)
    encoded += /[a-z0-9-]/.test(char) ? char : `_${byte.toString(16).padStart(2, '0')}`
  }
  if (WINDOWS_RESERVED.test(encoded)) encoded = `_${encoded.charCodeAt(0).toString(16)}${encoded.slice(1)}`
  if (encoded.length <= MAX_NAME_LENGTH) return encoded
  let prefix = encoded.slice(0, HASHED_PREFIX_LENGTH)
  // Never cut an escape in half: drop a trailing partial `_x`.
  const partial = prefix.lastIndexOf('_')
  if (partial > prefix.length - 3) prefix = prefix.slice(0, partial)
  const digest = createHash('sha256').update(value, 'utf8').digest('hex').slice(0, 40)
  return `${prefix}~${digest}`
}
