import { lstat, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

async function modes(directory: string): Promise<{ path: string; mode: number; dir: boolean }[]> {
  const entries = await readdir(directory, { recursive: true, withFileTypes: true })
  return Promise.all(
    entries.map(async (entry) => {
      const path = join(entry.parentPath, entry.name)
      return { path, mode: (await stat(path)).mode & 0o777, dir: entry.isDirectory() }
    }),
  )
}

describe('files the CLI and the store write are private, and export never clobbers', () => {
  const tempDirectory = useTempDirectories()

  it('a store made by `tether sessions import` has 0700 directories and 0600 files, so other users cannot list session IDs', async () => {
    const source = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory: source }), 'user-42', 2)
    const exported = await runTether(['sessions', 'export', 'user-42', '--store', `file:${source}`])
    const store = join(await tempDirectory(), 'new-store')
    const imported = await runTether(['sessions', 'import', '--store', `file:${store}`], {
      input: exported.stdout,
    })
    expect(imported.code).toBe(0)
    expect((await stat(store)).mode & 0o777).toBe(0o700)
    const all = await modes(store)
    // The session's folder and its database (format 2: every record in session.db, with SQLite's
    // -wal and -shm files while open) are all there is to check; each must be private.
    expect(all.filter((entry) => entry.dir).map((entry) => entry.path)).toEqual([join(store, 'user-42')])
    expect(all.map((entry) => entry.path)).toContain(join(store, 'user-42', 'session.db'))
    for (const entry of all) expect(entry.mode, entry.path).toBe(entry.dir ? 0o700 : 0o600)
  })

  it('export --output refuses an existing file, never follows a planted symlink, and writes 0600', async () => {
    const store = await tempDirectory()
    await seedChat(new FileSessionRepository({ directory: store }), 'user-42', 1)
    const flag = `file:${store}`
    const out = await tempDirectory()

    const fresh = join(out, 'backup.json')
    const first = await runTether(['sessions', 'export', 'user-42', '--store', flag, '--output', fresh])
    expect(first.code).toBe(0)
    expect((await stat(fresh)).mode & 0o777).toBe(0o600)
    expect(JSON.parse(await readFile(fresh, 'utf8'))).toMatchObject({ session: { sessionId: 'user-42' } })

    const precious = join(out, 'notes.txt')
    await writeFile(precious, 'do not lose me')
    const clobber = await runTether(['sessions', 'export', 'user-42', '--store', flag, '--output', precious])
    expect(clobber.code).toBe(2)
    expect(clobber.stderr).toContain(
      `${precious} already exists; nothing was written. Pass --force to replace it`,
    )
    expect(await readFile(precious, 'utf8')).toBe('do not lose me')

    // An attacker plants a symlink at the output path pointing at the store's own record.
    const record = join(store, 'user-42', 'session.db')
    const recordBefore = await readFile(record)
    const trap = join(out, 'trap.json')
    await symlink(record, trap)
    const refused = await runTether(['sessions', 'export', 'user-42', '--store', flag, '--output', trap])
    expect(refused.code).toBe(2)
    expect((await readFile(record)).equals(recordBefore)).toBe(true)
    const forced = await runTether([
      'sessions',
      'export',
      'user-42',
      '--store',
      flag,
      '--output',
      trap,
      '--force',
    ])
    expect(forced.code).toBe(0)
    expect((await readFile(record)).equals(recordBefore)).toBe(true)
    expect((await lstat(trap)).isSymbolicLink()).toBe(false)
    expect((await stat(trap)).mode & 0o777).toBe(0o600)
    expect((await readdir(out)).filter((name) => name.endsWith('.tmp'))).toEqual([])
  })
})
