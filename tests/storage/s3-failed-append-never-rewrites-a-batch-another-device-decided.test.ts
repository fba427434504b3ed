import { describe, expect, it } from 'vitest'
import { type Message, StorageError } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { restoreInFreshProcess } from '../support/run-session-worker.ts'
import { S3_TARGETS, useS3Target, workerStoreAt } from '../support/s3-targets.ts'

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })
const textOf = (message: Message) => (message.content[0] as { text: string }).text

/**
 * The slot layout lets the winner of a slot accept at the next slot without a prepare (round 0 is
 * its alone). An append that fails after that accept reached the store may still be decided: any
 * device that comes next adopts the accepted batch. The writer must then never send a second
 * accept under the same ballot, whose key would be the same and whose batch would replace the
 * one that was decided. Until this test, a failed append left the round with its handle, and the
 * next append reused it: the decided message was overwritten and the new one told it had its index.
 */
for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 slot layout: an append that failed after its accept never rewrites that batch (${target.name})`,
    () => {
      const s3 = useS3Target(target, { proxy: true })

      it('another device decides the failed append; the next append lands after it, and a fresh process sees both', async () => {
        const prefix = 'failed-accept/'
        const ref = { sessionId: 'shared', agentId: 'default' }
        // Both handles write the slot layout (Ceph would pick the message layout by itself).
        const a = new S3SessionRepository({
          bucket: s3.bucket,
          prefix,
          conditionalWrites: false,
          retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 5_000 },
          clientConfig: s3.server.clientConfig(s3.proxy.endpoint),
        })
        const b = new S3SessionRepository({
          bucket: s3.bucket,
          prefix,
          conditionalWrites: false,
          clientConfig: s3.server.clientConfig(),
        })
        await a.createSession({ sessionId: ref.sessionId })
        await a.appendMessage({ ...ref, message: user('m1') })

        // Every LIST from A fails: its next append stores its accept, then cannot learn the outcome.
        s3.proxy.setFaults((request) =>
          request.operation === 'LIST' ? { kind: 'status', status: 503, code: 'SlowDown' } : undefined,
        )
        const failed = await a.appendMessage({ ...ref, message: assistant('m2') }).catch((error) => error)
        s3.proxy.setFaults(undefined)
        expect(failed).toBeInstanceOf(StorageError)
        expect(s3.proxy.injected()).toBeGreaterThan(0)

        // Another device appends: it finds A's accepted batch in the slot, decides it, then adds its own.
        const b1 = await b.appendMessage({ ...ref, message: user('b1') })
        expect(b1.index).toBe(2)
        // A appends again: its message must land after the others, not over A's decided one.
        const m3 = await a.appendMessage({ ...ref, message: assistant('m3') })
        expect(m3.index).toBe(3)

        const restored = await restoreInFreshProcess(
          workerStoreAt(s3.server, s3.bucket, prefix),
          ref.sessionId,
        )
        expect(restored.map(textOf)).toEqual(['m1', 'm2', 'b1', 'm3'])
      }, 60_000)
    },
  )
}
