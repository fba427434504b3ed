import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, type Message, RepositorySessionManager } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import {
  acknowledgedPrompts,
  restoreInFreshProcess,
  runSessionWorker,
  runWorkersTogether,
  type WorkerStore,
} from '../support/run-session-worker.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT } from '../support/s3-targets.ts'
import { expectValidForModel } from '../support/valid-history.ts'

/**
 * SIGKILL trials per store, each followed by a restore that must succeed. Issue 9 asks for 0
 * failures in 60: `S3_KILL_TRIALS=60 npx vitest run <this file>` runs that many; npm test runs 15
 * per store to stay within its time budget (each trial starts a process).
 */
const KILL_TRIALS = Number(process.env.S3_KILL_TRIALS ?? 15)
const LANES = 3
const TURNS = 4

const prompts = (messages: Message[]): string[] =>
  messages.flatMap((message) =>
    message.role === 'user'
      ? message.content.flatMap((block) => (block.type === 'text' ? [block.text] : []))
      : [],
  )

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 sessions written by several processes, or by processes killed mid-turn, restore whole in a fresh process (${target.name})`,
    () => {
      let server: S3TestTarget
      let bucket: string
      const storeAt = (prefix: string): WorkerStore => ({
        kind: 's3',
        endpoint: server.endpoint,
        bucket,
        prefix,
        credentials: server.credentials,
      })
      beforeAll(async () => {
        server = await target.start()
        bucket = await server.createBucket()
      }, TARGET_START_TIMEOUT)
      afterAll(() => server?.stop())

      it('4 processes running turns with tools at once: a fresh process sees every prompt once', async () => {
        const store = storeAt('four/')
        const labels = ['P0', 'P1', 'P2', 'P3']
        await runWorkersTogether(
          labels.map((label) => ({ store, sessionId: 'shared', label, turns: TURNS, withTools: true })),
        )
        const restored = await restoreInFreshProcess(store, 'shared', 'null')
        const acknowledged = labels.flatMap((label) =>
          Array.from({ length: TURNS }, (_, t) => `${label} turn ${t}`),
        )
        expect(prompts(restored).sort()).toEqual(acknowledged.sort())
        expectValidForModel(restored)
      }, 90_000)

      it(`${KILL_TRIALS} processes killed at random points: every restore succeeds and keeps every finished turn`, {
        timeout: 240_000,
      }, async () => {
        const failures: string[] = []
        let finishedTurns = 0
        const lane = async (laneNumber: number) => {
          const sessionId = `crash-lane-${laneNumber}`
          const store = storeAt('crash/')
          const finished: string[] = []
          for (let trial = laneNumber; trial < KILL_TRIALS; trial += LANES) {
            const kill =
              trial % 4 === 0
                ? { killAfterMs: Math.random() * 300 }
                : { killAfterReadyMs: Math.random() * 700 }
            const outcome = await runSessionWorker(
              { store, sessionId, label: `T${trial}`, turns: 100_000, withTools: true },
              kill,
            )
            if (outcome.signal !== 'SIGKILL')
              failures.push(`T${trial} exited ${outcome.code}: ${outcome.stderr}`)
            const done = acknowledgedPrompts(outcome.stdout)
            finishedTurns += done.length
            finished.push(...done)
            // The next device: a fresh repository and agent restore (and repair) before any model call.
            const agent = new Agent({
              model: new ScriptedModel(),
              sessionManager: new RepositorySessionManager({
                sessionId,
                repository: new S3SessionRepository({
                  bucket,
                  prefix: 'crash/',
                  clientConfig: server.clientConfig(),
                }),
              }),
            })
            try {
              await agent.initialize()
              expectValidForModel(agent.messages)
            } catch (error) {
              failures.push(`restore after T${trial}: ${String(error)}`)
            }
          }
          const restored = await restoreInFreshProcess(store, sessionId, 'null')
          expectValidForModel(restored)
          const seen = new Set(prompts(restored).flatMap((text) => text.split('\n')))
          for (const turn of finished) expect(seen, `prompt of ${turn}`).toContain(turn)
        }
        await Promise.all(Array.from({ length: LANES }, (_, laneNumber) => lane(laneNumber)))
        expect(failures).toEqual([])
        expect(finishedTurns).toBeGreaterThan(0)
      })
    },
  )
}
