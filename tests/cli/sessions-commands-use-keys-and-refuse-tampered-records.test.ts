import { randomBytes } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { EncryptedSessionRepository, FileSessionRepository } from '../../src/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { readRow, writeRow } from '../support/file-session-rows.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const SECRET = 'Question 1?'

describe('tether sessions on an encrypted store (--key-file)', () => {
  const tempDirectory = useTempDirectories()

  async function encryptedStore() {
    const directory = await tempDirectory()
    const key = randomBytes(32)
    const keyFile = join(await tempDirectory(), 'tether.keys')
    await writeFile(keyFile, `# test key\nk1:${key.toString('base64')}\n`, { mode: 0o600 })
    const repository = new EncryptedSessionRepository({
      repository: new FileSessionRepository({ directory }),
      keys: [{ id: 'k1', key }],
    })
    await seedChat(repository, 'vault', 2)
    return { directory, keyFile, flag: `file:${directory}` }
  }

  it('show decrypts with the key file, and shows only ciphertext without it', async () => {
    const { flag, keyFile } = await encryptedStore()
    const shown = await runTether(['sessions', 'show', 'vault', '--store', flag, '--key-file', keyFile])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(SECRET)
    const viaEnv = await runTether(['sessions', 'show', 'vault', '--store', flag], {
      env: { TETHER_KEY_FILE: keyFile },
    })
    expect(viaEnv.stdout).toContain(SECRET)
    const without = await runTether(['sessions', 'show', 'vault', '--store', flag])
    expect(without.stdout).not.toContain(SECRET)
  })

  it('verify with the key decrypts what it checks: one altered ciphertext byte is reported, exit 3', async () => {
    const { directory, flag, keyFile } = await encryptedStore()
    expect((await runTether(['sessions', 'verify', '--store', flag, '--key-file', keyFile])).code).toBe(0)
    const message1 = { agent: 'default', message: 1 }
    const text = readRow(directory, 'vault', message1)
    const at = text.indexOf('tether-sealed:v2:k1:') + 50
    // The row's own SHA-256 is recomputed (anyone with write access can): only the key can tell.
    const altered = `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`
    writeRow(directory, 'vault', message1, altered, { resealed: true })

    // Without the key, verify cannot see the alteration, and says that it could not look.
    const blind = await runTether(['sessions', 'verify', '--store', flag])
    expect(blind.stdout).toContain(
      '1 session holds sealed records, checked for structure only: pass --key-file to decrypt what verify checks',
    )
    const verify = await runTether(['sessions', 'verify', '--store', flag, '--key-file', keyFile])
    expect(verify.code).toBe(3)
    expect(verify.stdout).not.toContain('checked for structure only')
    expect(verify.stdout).toMatch(
      /^vault\s+unreadable\s+Cannot decrypt message 1 of session "vault".*authentication failed/m,
    )
    expect(verify.stdout).toContain('1 damaged')
    // show marks the refused record, shows the others, and never prints what it could not trust.
    const shown = await runTether(['sessions', 'show', 'vault', '--store', flag, '--key-file', keyFile])
    expect(shown.code).toBe(0)
    expect(shown.stdout).toMatch(
      /^#1 {2}\[refused: authentication failed under key "k1".*; not shown, check --key-file\]$/m,
    )
    expect(shown.stdout).toContain(SECRET)
    expect(shown.stdout).not.toContain('tether-sealed:')
    // A repair refuses too: the bytes may be readable with the right key, so nothing is replaced.
    const repair = await runTether(['sessions', 'repair', 'vault', '--store', flag, '--key-file', keyFile])
    expect(repair.code).toBe(1)
    expect(repair.stderr).toMatch(/Cannot decrypt message 1 .*nothing was changed or shown/)
    expect(readRow(directory, 'vault', message1)).toBe(altered)
  })

  it('a plaintext session is refused under the key until `sessions encrypt` adopts it', async () => {
    const directory = await tempDirectory()
    const { keyFile } = await encryptedStore()
    await seedChat(new FileSessionRepository({ directory }), 'legacy', 1)
    const flag = `file:${directory}`
    const refused = await runTether(['sessions', 'show', 'legacy', '--store', flag, '--key-file', keyFile])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/stored in plaintext.*tether sessions encrypt ID --key-file FILE/)
    expect(refused.stdout).not.toContain(SECRET)

    const noKey = await runTether(['sessions', 'encrypt', 'legacy', '--store', flag])
    expect(noKey.code).toBe(2)
    expect(noKey.stderr).toContain('pass --key-file FILE')

    const adopt = await runTether(['sessions', 'encrypt', 'legacy', '--store', flag, '--key-file', keyFile])
    expect(adopt.stdout).toContain('session legacy: sealed 3 records now, 0 already sealed')
    const shown = await runTether(['sessions', 'show', 'legacy', '--store', flag, '--key-file', keyFile])
    expect(shown.stdout).toContain(SECRET)
    expect(readRow(directory, 'legacy', { agent: 'default', message: 0 })).not.toContain(SECRET)
    // Nor anywhere else at rest: the replaced plaintext is in no page of session.db or its WAL.
    const files = await readdir(join(directory, 'legacy'), { withFileTypes: true })
    expect(files.map((entry) => entry.name)).toContain('session.db')
    for (const entry of files.filter((file) => file.isFile())) {
      const bytes = await readFile(join(directory, 'legacy', entry.name))
      expect(bytes.includes(SECRET), entry.name).toBe(false)
    }
  })

  it('a key file others can read, or a malformed one, is a usage error (exit 2) saying how to fix it', async () => {
    const { flag, keyFile } = await encryptedStore()
    const open = join(await tempDirectory(), 'open.keys')
    await writeFile(open, await readFile(keyFile), { mode: 0o644 })
    const loose = await runTether(['sessions', 'list', '--store', flag, '--key-file', open])
    expect(loose.code).toBe(2)
    expect(loose.stderr).toContain(`chmod 600 ${open}`)
    const bad = join(await tempDirectory(), 'bad.keys')
    await writeFile(bad, 'k1:c2hvcnQ=\n', { mode: 0o600 })
    const short = await runTether(['sessions', 'list', '--store', flag, '--key-file', bad])
    expect(short.code).toBe(2)
    expect(short.stderr).toMatch(/Line 1 of the key file .* is not ID:BASE64 of 32 bytes/)
  })
})
