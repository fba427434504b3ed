import { readdir, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  ConfigurationError,
  defaultSessionsDirectory,
  FileSessionRepository,
  RepositorySessionManager,
  ValidationError,
} from '../../src/index.ts'
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

  it('refuses IDs that are not well-formed Unicode, so two IDs never share a session', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    // Encoded to UTF-8 each of these would become 'x\uFFFD' and share its storage.
    for (const sessionId of ['x\uD800', 'x\uDBFF', 'x\uDC00', '\uDC00\uD800']) {
      expect(() => new RepositorySessionManager({ sessionId, repository })).toThrow(ValidationError)
      await expect(repository.createSession({ sessionId })).rejects.toThrow(
        /lone surrogate.*not well-formed Unicode/,
      )
      await expect(
        repository.appendMessage({
          sessionId: 'ok',
          agentId: sessionId,
          message: { role: 'user', content: [] },
        }),
      ).rejects.toBeInstanceOf(ValidationError)
    }
    // Whole characters, astral ones included, are fine and stay distinct.
    const ids = ['x\uFFFD', 'x', 'x\u{1F99C}', 'x\uD83E\uDD9C\uFFFD']
    for (const sessionId of ids) await repository.createSession({ sessionId })
    const listed = (await repository.listSessions()).sessions.map((session) => session.sessionId)
    expect(listed.sort()).toEqual([...ids].sort())
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
