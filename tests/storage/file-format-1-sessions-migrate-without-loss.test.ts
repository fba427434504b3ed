import * as fs from 'node:fs/promises'
import { cp, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  RepositorySessionManager,
  SlidingWindowConversationManager,
  StorageError,
} from '../../src/index.ts'
import { type FileOperations, nodeFileOperations } from '../../src/storage/durable-files.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { runTether } from '../support/cli-run.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const FIXTURE = fileURLToPath(new URL('../fixtures/file-sessions-v1', import.meta.url))
const SESSION = 'User-42 🦜'
const SESSION_DIR = '_55ser-42_20_f0_9f_a6_9c'
const ref = { sessionId: SESSION, agentId: 'default' }
const text = (value: string) => ({ role: 'user' as const, content: [{ type: 'text' as const, text: value }] })

async function copyOfFixture(directory: string) {
  await cp(FIXTURE, directory, { recursive: true })
  return join(directory, SESSION_DIR)
}

async function restoredAgent(directory: string) {
  const agent = new Agent({
    model: new ScriptedModel(),
    conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
    sessionManager: new RepositorySessionManager({
      sessionId: SESSION,
      repository: new FileSessionRepository({ directory }),
    }),
  })
  await agent.initialize()
  return agent
}

/** File operations whose `link` fails: the step that publishes the migrated database. */
function failingLink(): FileOperations {
  return {
    ...nodeFileOperations,
    link: (async () => {
      throw Object.assign(new Error('injected failure at link'), { code: 'EIO' })
    }) as FileOperations['link'],
  }
}

describe('a session in format 1 (a JSON file per record)', () => {
  const tempDirectory = useTempDirectories()

  it('migrates on its first write: every message, the state and the window survive; old files go', async () => {
    const directory = await tempDirectory()
    const sessionDir = await copyOfFixture(directory)
    const before = await new FileSessionRepository({ directory }).readMessages(ref)
    const agentBefore = await new FileSessionRepository({ directory }).readAgent(ref)

    const appended = await new FileSessionRepository({ directory }).appendMessage({
      ...ref,
      message: text('after'),
    })
    expect(appended.index).toBe(6)
    // Only the database (and SQLite's -wal and -shm while it is open) is left.
    expect((await readdir(sessionDir)).filter((name) => !/^session\.db-(wal|shm)$/.test(name))).toEqual([
      'session.db',
    ])
    expect((await stat(join(sessionDir, 'session.db'))).mode & 0o777).toBe(0o600)

    const repository = new FileSessionRepository({ directory })
    expect(await repository.readMessages({ ...ref, limit: 6 })).toEqual(before)
    expect(await repository.readAgent(ref)).toEqual(agentBefore)
    expect((await repository.readSession(ref))?.createdAt).toBe('2026-11-25T00:19:13.169Z')
    const agent = await restoredAgent(directory)
    expect(agent.state.get('plan')).toBe('pro')
    expect(agent.messages.at(-1)).toEqual(text('after'))
  })

  it('a migration that fails before publishing leaves format 1 untouched and no leftover; the next write migrates', async () => {
    const directory = await tempDirectory()
    const sessionDir = await copyOfFixture(directory)
    const failing = new FileSessionRepository({ directory, fileOperations: failingLink() })
    const error = await failing.appendMessage({ ...ref, message: text('lost?') }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(StorageError)
    expect((error as StorageError).message).toContain('injected failure at link')
    expect((await readdir(sessionDir)).sort()).toEqual(['agents', 'session.json'])
    expect(await new FileSessionRepository({ directory }).countMessages(ref)).toBe(6)

    await new FileSessionRepository({ directory }).appendMessage({ ...ref, message: text('kept') })
    const messages = await new FileSessionRepository({ directory }).readMessages(ref)
    expect(messages.map((record) => record.index)).toEqual([0, 1, 2, 3, 4, 5, 6])
  })

  it('a crash after publishing (old files still there) reads the database, and cleanup finishes later', async () => {
    const directory = await tempDirectory()
    const sessionDir = await copyOfFixture(directory)
    const saved = join(directory, 'saved')
    await cp(sessionDir, saved, { recursive: true })
    await new FileSessionRepository({ directory }).appendMessage({ ...ref, message: text('new') })
    // Put the format 1 files back beside session.db, as a crash before step 3 would leave them.
    await cp(saved, sessionDir, { recursive: true })
    await fs.rm(saved, { recursive: true })
    const repository = new FileSessionRepository({ directory })
    expect(await repository.countMessages(ref)).toBe(7)
    expect(await repository.migrateSession(ref)).toBe('already')
    expect(await readdir(sessionDir)).not.toContain('session.json')
    expect(await repository.countMessages(ref)).toBe(7)
  })

  it('two handles migrating at once: one database wins, every append lands exactly once', async () => {
    const directory = await tempDirectory()
    await copyOfFixture(directory)
    const [a, b] = [new FileSessionRepository({ directory }), new FileSessionRepository({ directory })]
    await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 ? a : b).appendMessage({ ...ref, message: text(`w${i}`) })),
    )
    const messages = await new FileSessionRepository({ directory }).readMessages(ref)
    expect(messages.map((record) => record.index)).toEqual(Array.from({ length: 16 }, (_, i) => i))
    const texts = messages.slice(6).map((record) => (record.message.content[0] as { text: string }).text)
    expect(texts.sort()).toEqual(Array.from({ length: 10 }, (_, i) => `w${i}`).sort())
  })

  it('`tether sessions migrate` moves every format 1 session, and says so', async () => {
    const directory = await tempDirectory()
    const sessionDir = await copyOfFixture(directory)
    const run = await runTether(['sessions', 'migrate', '--store', `file:${directory}`, '--json'])
    expect(run.stderr).toBe('')
    expect(JSON.parse(run.stdout)).toMatchObject({ migrated: 1, alreadyCurrent: 0, unreadable: [] })
    expect(await readdir(sessionDir)).toContain('session.db')
    const again = await runTether(['sessions', 'migrate', '--store', `file:${directory}`])
    expect(again.stdout).toContain('migrated 0 session(s); 1 already current')
    expect(await new FileSessionRepository({ directory }).readMessages(ref)).toHaveLength(6)
    expect((await restoredAgent(directory)).state.get('plan')).toBe('pro')
  })
})
