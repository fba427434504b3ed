import type { AddressInfo } from 'node:net'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  FileSyncStateStore,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
  SyncedSessionRepository,
  type SyncStatus,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { runTether, tetherJson } from '../support/cli-run.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const tempDirectory = useTempDirectories()
const sessionId = 'trip-plans'

interface SyncOutput {
  synced: boolean
  error?: string
  sessions: SyncStatus[]
}

async function restoreWholeHistory(repository: SessionRepository) {
  const agent = new Agent({
    model: new ScriptedModel(),
    conversationManager: new NullConversationManager(),
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })
  await agent.initialize()
  return agent.messages.map((message) => message.content)
}

/** A port nothing listens on: the remote is unreachable. */
async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

describe('tether sync', () => {
  it('shows what an app wrote offline as pending, syncs it, and reports a failed sync with exit 1', async () => {
    const local = await tempDirectory()
    const remote = await tempDirectory()
    const app = new SyncedSessionRepository({
      local: new FileSessionRepository({ directory: local }),
      remote: new FileSessionRepository({ directory: remote }),
      state: new FileSyncStateStore({ directory: join(local, '.sync') }),
      autoSync: false,
    })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'Booked.' } }),
      sessionManager: new RepositorySessionManager({ sessionId, repository: app }),
    })
    await agent.run('Book a train to Lyon')
    await agent.run('And a hotel')

    const before = await tetherJson<SyncOutput>(['sync', '--status', '--store', `file:${local}`])
    expect(before.sessions).toMatchObject([
      { sessionId, pendingMessages: 4, lastSyncAt: null, lastError: null },
    ])

    const port = await closedPort()
    const failed = await runTether(
      [
        'sync',
        '--store',
        `file:${local}`,
        '--remote',
        's3://nowhere/tether',
        '--remote-endpoint',
        `http://127.0.0.1:${port}`,
      ],
      { env: { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'y', AWS_REGION: 'us-east-1' } },
    )
    expect(failed.code).toBe(1)
    expect(failed.stdout).toContain('sync failed')
    expect(failed.stdout).toContain(`${sessionId}: 4 messages pending; last sync never`)
    expect(failed.stdout).toMatch(/last error \(.+\): /)

    const synced = await runTether([
      'sync',
      sessionId,
      '--store',
      `file:${local}`,
      '--remote',
      `file:${remote}`,
    ])
    expect(synced.code, synced.stderr).toBe(0)
    expect(synced.stdout).toContain(`synced file:${local} with file:${remote}`)
    expect(synced.stdout).toMatch(new RegExp(`${sessionId}: 0 messages pending; last sync \\d{4}-`))

    const after = await tetherJson<SyncOutput>(['sync', '--status', '--store', `file:${local}`])
    expect(after.sessions[0]).toMatchObject({ pendingMessages: 0, lastError: null })
    expect(await restoreWholeHistory(new FileSessionRepository({ directory: remote }))).toEqual(
      await restoreWholeHistory(new FileSessionRepository({ directory: local })),
    )
    expect(await restoreWholeHistory(new FileSessionRepository({ directory: remote }))).toHaveLength(4)
  }, 60_000)

  it('asks for a remote, and refuses a local store that is not a directory', async () => {
    const local = await tempDirectory()
    const noRemote = await runTether(['sync', '--store', `file:${local}`])
    expect(noRemote.code).toBe(2)
    expect(noRemote.stderr).toContain('--remote')
    const s3Local = await runTether(['sync', '--store', 's3://bucket/x', '--remote', `file:${local}`])
    expect(s3Local.code).toBe(2)
    expect(s3Local.stderr).toContain('must be a directory')
  })
})
