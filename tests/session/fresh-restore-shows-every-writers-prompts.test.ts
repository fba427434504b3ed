import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Agent,
  FileSessionRepository,
  type Message,
  NullConversationManager,
  RepositorySessionManager,
  type SessionRepository,
} from '../../src/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { restoreInFreshProcess, runWorkersTogether, type WorkerStore } from '../support/run-session-worker.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel } from '../support/valid-history.ts'

/** Turns per writer: enough for every writer's first append to land after another's. */
const FILE_TURNS = 6
/**
 * Fewer on S3, where each turn is several requests to a server on the same 2 cores, and six
 * devices contend for every slot. Two turns each (four appends a turn, with the tool call) still
 * put every writer's first append after another writer's.
 */
const S3_TURNS = 2

/** The plain-text prompts of a context, in order ("P1 turn 3", …). */
function prompts(messages: Message[]): string[] {
  return messages.flatMap((message) =>
    message.role === 'user'
      ? message.content.flatMap((block) => (block.type === 'text' ? [block.text] : []))
      : [],
  )
}

/**
 * Runs writer processes together on one session, then opens it as a user would in a new process
 * with NullConversationManager (documented as the whole conversation) and checks that every prompt
 * whose `run` returned is there exactly once, in a history the model accepts.
 */
async function writersThenFreshRestore(
  store: WorkerStore,
  sessionId: string,
  processes: number,
  writerManager: string,
  turns: number,
) {
  const labels = Array.from({ length: processes }, (_, i) => `P${i}`)
  await runWorkersTogether(
    labels.map((label) => ({
      store,
      sessionId,
      label,
      turns,
      withTools: true,
      manager: writerManager,
    })),
  )
  const restored = await restoreInFreshProcess(store, sessionId, 'null')
  const acknowledged = labels.flatMap((label) =>
    Array.from({ length: turns }, (_, t) => `${label} turn ${t}`),
  )
  expect(prompts(restored).sort()).toEqual(acknowledged.sort())
  expectValidForModel(restored)
  return restored
}

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

  describe('on S3 (s3rver)', () => {
    let server: S3TestServer
    let bucket: string
    beforeAll(async () => {
      server = await startS3Server()
      bucket = await server.createBucket()
    })
    afterAll(async () => {
      await server?.stop()
    })
    const s3Store = (prefix: string) => ({ kind: 's3', endpoint: server.endpoint, bucket, prefix }) as const

    for (const processes of [2, 3, 6]) {
      it(`${processes} device processes whose agents send the whole conversation`, {
        timeout: 120_000,
      }, async () => {
        await writersThenFreshRestore(s3Store(`fresh-${processes}/`), 'shared', processes, 'null', S3_TURNS)
      })
    }

    it('3 device processes with small sliding windows', { timeout: 120_000 }, async () => {
      await writersThenFreshRestore(s3Store('fresh-window/'), 'shared', 3, 'window:6', S3_TURNS)
    })
  })
})
