import { describe, expect, it } from 'vitest'
import { Agent, RepositorySessionManager, SlidingWindowConversationManager } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { populateHistory } from '../support/s3-history.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

/**
 * On S3 every request is a round trip of tens of milliseconds, so what a user waits for at a
 * restore is the number of requests that must go one after another, not the total. A restore
 * reads the session record, the agent record and the log's listing together, then the whole
 * window together (packs and single messages; or batches and sealed segments). Each request is
 * held 100 ms at the proxy, so requests sent together overlap there however busy the machine is.
 */
const HELD_MS = 100

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `a restore through a 40-message window waits for two round trips (${target.name})`,
    () => {
      const s3 = useS3Target(target, { proxy: true })
      const repository = () =>
        new S3SessionRepository({
          bucket: s3.bucket,
          prefix: 'rounds/',
          clientConfig: s3.server.clientConfig(s3.proxy.endpoint),
        })
      const agentOn = (repo: S3SessionRepository) =>
        new Agent({
          model: new ScriptedModel({ fallback: { text: 'noted' } }),
          conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
          sessionManager: new RepositorySessionManager({ sessionId: 'long', repository: repo }),
        })

      it('at every alignment of the window with packs, batches and segments, with every message', async () => {
        await populateHistory(repository(), 'long', 100)
        const writer = agentOn(repository())
        const rounds: number[] = []
        // Eight turns of two messages, one slot each: the window ends at every offset from the
        // packs and segments of 8, and the slot layout's head holds 0 to 7 batches.
        for (let turn = 0; turn < 8; turn++) {
          await writer.run(`turn ${turn}`)
          const repo = repository()
          const restored = agentOn(repo)
          s3.proxy.setFaults(() => ({ kind: 'delay', ms: HELD_MS }))
          s3.proxy.reset()
          try {
            await restored.initialize()
          } finally {
            s3.proxy.setFaults(undefined)
          }
          // Reads only: the agent record the manager may write after the restore is not waited on
          // by the reads.
          rounds.push(
            s3.proxy.rounds((request) => request.operation === 'GET' || request.operation === 'LIST'),
          )
          // The window is the newest stored messages, whole.
          const ref = { sessionId: 'long', agentId: 'default' }
          const count = await repo.countMessages(ref)
          expect(count).toBe(102 + 2 * turn)
          const stored = await repo.readMessages({ ...ref, offset: count - restored.messages.length })
          expect(restored.messages.length).toBeGreaterThanOrEqual(38)
          expect(restored.messages).toEqual(stored.map((record) => record.message))
        }
        expect(rounds).toEqual(rounds.map(() => 2))
      }, 60_000)
    },
  )
}
