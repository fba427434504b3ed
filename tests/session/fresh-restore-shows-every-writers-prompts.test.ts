import { describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { prompts, writersThenFreshRestore } from './fresh-restore-proof.ts'

/** Turns per writer: enough for every writer's first append to land after another's. */
const FILE_TURNS = 6

describe('a fresh restore shows every prompt any writer stored', () => {
  const tempDirectory = useTempDirectories()

  it('two agents that start on an empty session together, then one runs again: a new agent sees all three prompts', async () => {
    const repository = new FileSessionRepository({ directory: await tempDirectory() })
    const open = (repo: SessionRepository) =>
      new Agent({
        model: new ScriptedModel({ fallback: { text: 'ok' } }),
        conversationManager: new NullConversationManager(),
        sessionManager: new RepositorySessionManager({ sessionId: 'shared', repository: repo }),
      })
    const [a, b] = [open(repository), open(repository)]
    await Promise.all([a.initialize(), b.initialize()])
    await Promise.all([a.run('a first'), b.run('b first')])
    await b.run('b second')

    const fresh = open(repository)
    await fresh.initialize()
    expect(prompts(fresh.messages).sort()).toEqual(['a first', 'b first', 'b second'])
  })

  describe('on files', () => {
    for (const processes of [2, 3, 6]) {
      it(`${processes} writer processes whose agents send the whole conversation`, async () => {
        const store = { kind: 'file' as const, directory: await tempDirectory() }
        const restored = await writersThenFreshRestore(store, 'shared', processes, 'null', FILE_TURNS)
        const stored = await new FileSessionRepository({ directory: store.directory }).readMessages({
          sessionId: 'shared',
          agentId: 'default',
        })
        // The whole conversation is exactly what is stored, record for record.
        expect(restored).toEqual(stored.map((record) => record.message))
      })
    }

    it('3 writer processes with small sliding windows: the windows never hide history from a whole-history reader', async () => {
      const store = { kind: 'file' as const, directory: await tempDirectory() }
      await writersThenFreshRestore(store, 'shared', 3, 'window:6', FILE_TURNS)
    })
  })
})
