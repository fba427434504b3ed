import { cp } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  RepositorySessionManager,
  SlidingWindowConversationManager,
  SUPPORTED_SCHEMA_VERSIONS,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'

const fixture = (version: number) =>
  fileURLToPath(new URL(`../fixtures/file-sessions-v${version}`, import.meta.url))

// Fixtures: file-sessions-v1 was written by tether-agents 0.1 (file format 1: a JSON file per
// record); file-sessions-v2 by format 2 (session.db), made by migrating v1 and setting a title.
/** A fresh agent with a 4-message window restores the fixture's state and its last four messages. */
async function expectRestoredWindow(repository: FileSessionRepository) {
  const agent = new Agent({
    model: new ScriptedModel(),
    conversationManager: new SlidingWindowConversationManager({ windowSize: 4 }),
    sessionManager: new RepositorySessionManager({ sessionId: 'User-42 🦜', repository }),
  })
  await agent.initialize()
  expect(agent.state.get('plan')).toBe('pro')
  expect(agent.messages.map((message) => message.content[0]?.type)).toEqual([
    'text',
    'toolUse',
    'toolResult',
    'text',
  ])
}

describe('sessions written by earlier versions', () => {
  const tempDirectory = useTempDirectories()

  it('every supported schema version has a fixture', () => {
    expect(SUPPORTED_SCHEMA_VERSIONS).toEqual([1])
  })

  it('reads a version 1 session: listing, state, window and full history', async () => {
    const directory = await tempDirectory()
    // A copy, so that a restore that repairs something could never change the fixture.
    await cp(fixture(1), directory, { recursive: true })
    const repository = new FileSessionRepository({ directory })
    expect((await repository.listSessions()).sessions.map((session) => session.sessionId)).toEqual([
      'User-42 🦜',
    ])

    await expectRestoredWindow(repository)
    const all = await repository.readMessages({ sessionId: 'User-42 🦜', agentId: 'default' })
    expect(all).toHaveLength(6)
    expect(all[3]?.message.content[0]).toEqual({
      type: 'toolUse',
      toolUseId: 'toolu_01',
      name: 'weather',
      input: { city: 'Oslo' },
    })
  })

  it('reads a format 2 session (one database per session), title and metadata included', async () => {
    const directory = await tempDirectory()
    await cp(fixture(2), directory, { recursive: true })
    const repository = new FileSessionRepository({ directory })
    const [session] = (await repository.listSessions()).sessions
    expect(session).toMatchObject({
      sessionId: 'User-42 🦜',
      createdAt: '2026-11-25T00:19:13.169Z',
      title: 'Weather in Oslo',
      metadata: { plan: 'pro' },
      messageCount: 6,
    })
    await expectRestoredWindow(repository)
    const all = await repository.readMessages({ sessionId: 'User-42 🦜', agentId: 'default' })
    expect(all.map((record) => record.index)).toEqual([0, 1, 2, 3, 4, 5])
  })
})
