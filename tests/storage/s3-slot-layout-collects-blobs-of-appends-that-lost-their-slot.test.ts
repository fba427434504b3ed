import { describe, expect, it } from 'vitest'
import { type Message, StorageError } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { KeyLayout } from '../../src/storage/s3/s3-key-layout.ts'
import { restoreInFreshProcess } from '../support/run-session-worker.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target, workerStoreAt } from '../support/s3-targets.ts'

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })
const textOf = (message: Message) => (message.content[0] as { text: string }).text
/** Over the 16 KiB blob threshold: stored once, in a blob of its own. */
const large = (label: string) => `${label}:${'x'.repeat(100_000)}`

/**
 * A large message's blob is stored before its append is proposed. If the append then loses its
 * slot for good (a failure, a killed writer), nothing refers to the blob: the next full sweep
 * (every 512 messages, and after every redaction) deletes it, however long ago it was left. An
 * append retried at another slot copies its blob on the store's side instead of uploading it again.
 * Every large message that was stored stays readable, in a fresh process.
 */
for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 slot layout: blobs of appends that lost their slot are collected (${target.name})`,
    () => {
      const s3 = useS3Target(target, { proxy: true })
      const open = (prefix: string, throughProxy = false) =>
        new S3SessionRepository({
          bucket: s3.bucket,
          prefix,
          conditionalWrites: false,
          retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20, attemptTimeoutMs: 10_000 },
          clientConfig: s3.server.clientConfig(throughProxy ? s3.proxy.endpoint : undefined),
        })
      const blobsOf = async (prefix: string, ref: { sessionId: string; agentId: string }) =>
        rawBucket(s3.server.clientConfig(), s3.bucket).keys(new KeyLayout(prefix).agentLayout(ref).blobs)
      const storeAt = (prefix: string) => workerStoreAt(s3.server, s3.bucket, prefix)
      const ref = { sessionId: 'chat', agentId: 'default' }
      /** A session on `prefix` holding `first`, and two devices on it: through the proxy, and direct. */
      async function twoDevices(prefix: string, first: Message[]) {
        const proxied = open(prefix, true)
        await proxied.createSession({ sessionId: ref.sessionId })
        for (const message of first) await proxied.appendMessage({ ...ref, message })
        return { proxied, direct: open(prefix) }
      }

      it('a failed append leaves a blob; the next redaction sweeps it and keeps the stored ones', async () => {
        const prefix = 'orphan/'
        const failing = open(prefix, true)
        const other = open(prefix)
        await other.createSession({ sessionId: ref.sessionId })
        await other.appendMessage({ ...ref, message: user('q0') })
        await other.appendMessage({ ...ref, message: assistant(large('kept-0')) })

        // The failing device stores its blob, then every accept it sends is refused.
        s3.proxy.setFaults((request) =>
          request.operation === 'PUT' && request.key.includes('/a~')
            ? { kind: 'status', status: 400, code: 'InvalidRequest' }
            : undefined,
        )
        const failed = await failing.appendMessage({ ...ref, message: user(large('lost')) }).catch((e) => e)
        s3.proxy.setFaults(undefined)
        expect(failed).toBeInstanceOf(StorageError)
        expect(await blobsOf(prefix, ref)).toHaveLength(2)

        await other.appendMessage({ ...ref, message: user('q1') })
        await other.appendMessage({ ...ref, message: assistant(large('kept-1')) })
        expect(await blobsOf(prefix, ref)).toHaveLength(3)
        // A redaction runs a full sweep.
        await other.updateMessage({ ...ref, index: 2, message: user('q1, edited') })
        expect(await blobsOf(prefix, ref)).toHaveLength(2)

        const restored = await restoreInFreshProcess(storeAt(prefix), ref.sessionId)
        expect(restored.map(textOf)).toEqual(['q0', large('kept-0'), 'q1, edited', large('kept-1')])
      }, 60_000)

      it('an append that lost its slot copies its blob to the next slot on the store side, and the copy left behind is swept', async () => {
        const prefix = 'retried/'
        const { proxied: slow, direct: fast } = await twoDevices(prefix, [user('q0')])
        // Another device appends: the slow device's head is now one slot behind.
        await fast.appendMessage({ ...ref, message: assistant('a0') })

        s3.proxy.reset()
        const record = await slow.appendMessage({ ...ref, message: user(large('retried')) })
        expect(record.index).toBe(2)
        // The blob went up once (its body is 100 KB); the retry at the next slot copied it.
        expect(s3.proxy.uploaded()).toBeLessThan(150_000)
        expect(await blobsOf(prefix, ref)).toHaveLength(2)

        await fast.appendMessage({ ...ref, message: assistant('a1') })
        await fast.updateMessage({ ...ref, index: 3, message: assistant('a1, edited') })
        expect(await blobsOf(prefix, ref)).toHaveLength(1)
        const restored = await restoreInFreshProcess(storeAt(prefix), ref.sessionId)
        expect(restored.map(textOf)).toEqual(['q0', 'a0', large('retried'), 'a1, edited'])
      }, 60_000)

      it('a sweep keeps the blob of a proposal whose slot is not decided yet (an append running meanwhile)', async () => {
        const prefix = 'in-flight/'
        const { proxied: sweeper, direct: writer } = await twoDevices(prefix, [user('q0'), assistant('a0')])
        await writer.countMessages(ref)

        // The redaction's full sweep lists blobs/ late: by then the writer has stored a blob
        // for the slot after the redaction's and is proposing there.
        let listing: () => void = () => {}
        const listed = new Promise<void>((resolve) => {
          listing = resolve
        })
        s3.proxy.setFaults((request) => {
          if (request.operation !== 'LIST' || !request.key.endsWith('/blobs/')) return undefined
          listing()
          return { kind: 'delay', ms: 1_500 }
        })
        const redaction = sweeper.updateMessage({ ...ref, index: 1, message: assistant('a0, edited') })
        // The sweep must list blobs/ (else there is nothing to hold, and nothing this test proves).
        expect(await Promise.race([listed.then(() => 'listed'), redaction.then(() => 'done')])).toBe('listed')
        const appended = await writer.appendMessage({ ...ref, message: user(large('meanwhile')) })
        await redaction
        s3.proxy.setFaults(undefined)
        expect(appended.index).toBe(2)

        const restored = await restoreInFreshProcess(storeAt(prefix), ref.sessionId)
        expect(restored.map(textOf)).toEqual(['q0', 'a0, edited', large('meanwhile')])
      }, 60_000)
    },
  )
}
