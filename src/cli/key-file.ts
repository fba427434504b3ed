import { readFile, stat } from 'node:fs/promises'
import type { EncryptionKey } from '../storage/sealed-envelope.ts'
import { UsageError } from './cli-errors.ts'

/**
 * Reads the keys of an encrypted store from a file: one `ID:BASE64` a line (32 bytes each; the
 * first line encrypts, every line decrypts; `#` starts a comment). Like ssh, a key file that other
 * users can read is refused: a key beside the sessions, readable by all, protects nothing.
 */
export async function readKeyFile(path: string): Promise<EncryptionKey[]> {
  let text: string
  try {
    const info = await stat(path)
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new UsageError(`The key file ${path} can be read by other users; run chmod 600 ${path}.`)
    }
    text = await readFile(path, 'utf8')
  } catch (error) {
    if (error instanceof UsageError) throw error
    throw new UsageError(
      `Cannot read the key file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}); check --key-file or $TETHER_KEY_FILE.`,
    )
  }
  const keys: EncryptionKey[] = []
  for (const [number, raw] of text.split('\n').entries()) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const match = /^([A-Za-z0-9_-]{1,64}):([A-Za-z0-9+/=_-]+)$/.exec(line)
    const key = match?.[2] === undefined ? undefined : Buffer.from(match[2], 'base64')
    if (!match?.[1] || key?.byteLength !== 32) {
      throw new UsageError(
        `Line ${number + 1} of the key file ${path} is not ID:BASE64 of 32 bytes (make one with: echo "k1:$(openssl rand -base64 32)").`,
      )
    }
    keys.push({ id: match[1], key })
  }
  if (keys.length === 0) throw new UsageError(`The key file ${path} holds no keys; add a line ID:BASE64.`)
  return keys
}
