import { describe, expect, it } from 'vitest'
import {
  Agent,
  type LogFields,
  type Logger,
  type Message,
  RepositorySessionManager,
  StorageError,
} from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import type { Fault } from '../support/s3-proxy.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })
const textOf = (message: Message) => (message.content[0] as { text: string }).text

/** A small seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let state = seed
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31
    return state / 2 ** 31
  }
}

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 faults: retried with backoff and jitter, never lost or duplicated (${target.name})`,
    () => {
      const s3 = useS3Target(target, { proxy: true })
      let prefixes = 0
      const retry = { maxAttempts: 10, baseDelayMs: 5, maxDelayMs: 100, attemptTimeoutMs: 400 }
      /** What the repositories behind the faulty proxy logged: each retry, at info. */
      const logged: { message: string; fields: LogFields | undefined }[] = []
      const logger: Logger = {
        debug() {},
        info: (message, fields) => logged.push({ message, fields }),
        warn() {},
        error() {},
      }
      const through = (prefix: string) =>
        new S3SessionRepository({
          bucket: s3.bucket,
          prefix,
          retry,
          logger,
          clientConfig: s3.server.clientConfig(s3.proxy.endpoint),
        })
      const direct = (prefix: string) =>
        new S3SessionRepository({ bucket: s3.bucket, prefix, clientConfig: s3.server.clientConfig() })

      /** Appends `count` messages from two handles at once; returns what a clean reader then sees. */
      async function appendThroughFaults(count: number) {
        const prefix = `faults-${prefixes++}/`
        const [a, b] = [through(prefix), through(prefix)]
        const ref = { sessionId: 'shared', agentId: 'default' }
        // Two devices, each appending one message after the other, at the same time.
        const device = async (repository: S3SessionRepository, parity: number) => {
          const records = []
          for (let i = parity; i < count; i += 2) {
            records.push(await repository.appendMessage({ ...ref, message: text(`m${i}`) }))
          }
          return records
        }
        const records = (await Promise.all([device(a, 0), device(b, 1)])).flat()
        s3.proxy.setFaults(undefined)
        const stored = await direct(prefix).readMessages(ref)
        return { records, stored }
      }

      const expectEachOnceInOneOrder = (
        result: Awaited<ReturnType<typeof appendThroughFaults>>,
        count: number,
      ) => {
        const { records, stored } = result
        expect(stored.map((record) => record.index)).toEqual(Array.from({ length: count }, (_, i) => i))
        expect(stored.map((record) => textOf(record.message)).sort()).toEqual(
          Array.from({ length: count }, (_, i) => `m${i}`).sort(),
        )
        // Each append was told the index it really has.
        for (const record of records)
          expect(textOf(stored[record.index]?.message as Message)).toBe(textOf(record.message))
      }

      it('5xx, SlowDown, dropped connections and timeouts on a fifth of all requests', async () => {
        const next = random(42)
        const kinds: Fault[] = [
          { kind: 'status', status: 503, code: 'SlowDown' },
          { kind: 'status', status: 500, code: 'InternalError' },
          { kind: 'drop-before' },
          { kind: 'drop-after' },
          { kind: 'delay', ms: 600 },
        ]
        const before = s3.proxy.injected()
        s3.proxy.setFaults(() => (next() < 0.2 ? kinds[Math.floor(next() * kinds.length)] : undefined))
        logged.length = 0
        expectEachOnceInOneOrder(await appendThroughFaults(30), 30)
        expect(s3.proxy.injected() - before).toBeGreaterThan(10)
        // Each retry was said, with where, which attempt and why (DEBUG=tether:storage prints them).
        const retries = logged.filter((line) => / failed; retrying$/.test(line.message))
        expect(retries.length).toBeGreaterThan(5)
        for (const { fields } of retries) {
          expect(fields?.location).toMatch(/^s3:\/\/tether-.*\/faults-/)
          expect(fields?.attempt).toBeGreaterThanOrEqual(1)
          expect(String(fields?.error)).not.toBe('')
        }
      })

      it('every PUT reaches the store but its answer is lost, so each is retried: still no duplicate', async () => {
        const answered = new Set<string>()
        s3.proxy.setFaults((request) => {
          if (request.operation !== 'PUT' || answered.has(request.key)) return undefined
          answered.add(request.key)
          return { kind: 'drop-after' }
        })
        expectEachOnceInOneOrder(await appendThroughFaults(12), 12)
        expect(answered.size).toBeGreaterThan(12)
      })

      it('an unreachable store fails the run with a StorageError and damages nothing stored', async () => {
        const repository = through('unreachable/')
        const agent = () =>
          new Agent({
            model: new ScriptedModel({ fallback: { text: 'ok' } }),
            sessionManager: new RepositorySessionManager({ sessionId: 'user-1', repository }),
          })
        await agent().run('before the outage')
        const ref = { sessionId: 'user-1', agentId: 'default' }
        const stored = await direct('unreachable/').readMessages(ref)

        s3.proxy.setFaults(() => ({ kind: 'drop-before' }))
        const started = Date.now()
        const failure = await agent()
          .run('during the outage')
          .then(
            () => undefined,
            (error: unknown) => error,
          )
        s3.proxy.setFaults(undefined)
        // The append fails, and so does the agent-record write at the end of the run: both reported.
        const errors = failure instanceof AggregateError ? failure.errors : [failure]
        for (const error of errors) expect(error).toBeInstanceOf(StorageError)
        expect((errors[0] as StorageError).message).toMatch(/^Could not \w+ s3:\/\/tether-.*\(10 attempts\)/)
        expect(Date.now() - started).toBeLessThan(5_000)

        expect(await direct('unreachable/').readMessages(ref)).toEqual(stored)
        await agent().run('after the outage')
        expect(
          (await direct('unreachable/').readMessages(ref)).map((record) => textOf(record.message)),
        ).toEqual(['before the outage', 'ok', 'after the outage', 'ok'])
      })
    },
  )
}
