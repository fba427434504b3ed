import { readdir, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ConfigurationError, defaultSessionsDirectory, FileSessionRepository } from '../../src/index.ts'
import { encodeStorageName } from '../../src/storage/storage-name.ts'
import { TRICKY_SESSION_IDS } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

async function allFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true })
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name))
}

describe('session IDs become safe, distinct storage names', () => {
  const tempDirectory = useTempDirectories()

  it('never reads or writes outside the repository directory, whatever the ID', async () => {
    const sandbox = await tempDirectory()
    const directory = join(sandbox, 'inner', 'sessions')
    const repository = new FileSessionRepository({ directory })
    for (const sessionId of TRICKY_SESSION_IDS) {
      await repository.createSession({ sessionId })
      await repository.appendMessage({
        sessionId,
        agentId: sessionId,
        message: { role: 'user', content: [] },
      })
    }
    const files = await allFiles(sandbox)
    for (const file of files) expect(relative(directory, file).startsWith('..')).toBe(false)
    expect(await readdir(dirname(directory))).toEqual(['sessions'])
    expect((await stat(directory)).isDirectory()).toBe(true)
  })

  it('gives case variants and look-alikes distinct names that survive a case-insensitive file system', () => {
    const names = TRICKY_SESSION_IDS.map((id) => encodeStorageName(id))
    const folded = new Set(names.map((name) => name.toLowerCase()))
    expect(folded.size).toBe(TRICKY_SESSION_IDS.length)
    for (const name of names) {
      expect(name).toMatch(/^[a-z0-9_~-]+$/)
      expect(Buffer.byteLength(name)).toBeLessThanOrEqual(160)
      expect(['con', '.', '..']).not.toContain(name)
    }
  })

  it('rejects the empty string with a ConfigurationError that says what to do', () => {
    expect(() => encodeStorageName('', 'session ID')).toThrow(ConfigurationError)
    expect(() => encodeStorageName('', 'session ID')).toThrow(
      'The session ID is empty; use a non-empty string.',
    )
  })

  it('defaults to the per-user data directory of each platform', () => {
    expect(defaultSessionsDirectory({ XDG_DATA_HOME: '/data' }, 'linux', '/home/a')).toBe(
      '/data/tether/sessions',
    )
    expect(defaultSessionsDirectory({}, 'linux', '/home/a')).toBe('/home/a/.local/share/tether/sessions')
    expect(defaultSessionsDirectory({}, 'darwin', '/Users/a')).toBe(
      '/Users/a/Library/Application Support/tether/sessions',
    )
    expect(
      defaultSessionsDirectory({ APPDATA: 'C:\\Users\\a\\AppData\\Roaming' }, 'win32', 'C:\\Users\\a'),
    ).toContain(join('tether', 'sessions'))
  })
})
