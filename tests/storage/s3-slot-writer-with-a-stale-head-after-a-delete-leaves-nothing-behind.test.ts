import { describe, expect, it } from 'vitest'
import { Agent, type Message, RepositorySessionManager } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { KeyLayout } from '../../src/storage/s3/s3-key-layout.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { restoreInFreshProcess } from '../support/run-session-worker.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target, workerStoreAt } from '../support/s3-targets.ts'

const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const textOf = (message: Message) => (message.content[0] as { text: string }).text

/**
 * A device deletes a session and starts it again while another device's repository object still
 * holds the old log's head (and round 0 of the slot after it, which it won). That device's next
 * append goes straight to an accept built on a log that is gone. It must find out, remove what it
 * wrote there, and append to the new log; nothing of the old log may stay above the new one's
 * head, where every later proposal would stop on it (and one at that slot would adopt its batch).
 */
for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 slot layout: a writer whose head predates a delete leaves nothing above the new log (${target.name})`,
    () => {
      const s3 = useS3Target(target)

      const openAt = (prefix: string) =>
        new S3SessionRepository({
          bucket: s3.bucket,
          prefix,
          conditionalWrites: false,
          clientConfig: s3.server.clientConfig(),
        })

      it("a device's next turn after another device deleted and started the session again: a fresh process sees both devices' turns", async () => {
        const prefix = 'stale-agent/'
        const agentOn = (repository: S3SessionRepository) =>
          new Agent({
            model: new ScriptedModel({ fallback: { text: 'noted' } }),
            sessionManager: new RepositorySessionManager({ sessionId: 'restarted', repository }),
          })
        const laptop = agentOn(openAt(prefix))
        await laptop.run('laptop 0')
        await laptop.run('laptop 1')
        const phone = openAt(prefix)
        await phone.deleteSession({ sessionId: 'restarted' })
        await agentOn(phone).run('phone 0')
        await laptop.run('laptop 2')
        const restored = await restoreInFreshProcess(workerStoreAt(s3.server, s3.bucket, prefix), 'restarted')
        expect(restored.map(textOf)).toEqual(['phone 0', 'noted', 'laptop 2', 'noted'])
      }, 60_000)

      it('the stale writer appends to the new log, and the other device keeps appending after it', async () => {
        const prefix = 'stale-head/'
        const ref = { sessionId: 'restarted', agentId: 'default' }
        const open = () => openAt(prefix)
        const [stale, other] = [open(), open()]
        await stale.createSession({ sessionId: ref.sessionId })
        for (const text of ['old-0', 'old-1', 'old-2'])
          await stale.appendMessage({ ...ref, message: user(text) })

        await other.deleteSession({ sessionId: ref.sessionId })
        await other.createSession({ sessionId: ref.sessionId })
        const first = await other.appendMessage({ ...ref, message: user('new-0') })
        expect(first.index).toBe(0)

        const late = await stale.appendMessage({ ...ref, message: user('late') })
        expect(late.index).toBe(1)
        // Every key under the log belongs to a slot at or below the new head (slot 1).
        const log = new KeyLayout(prefix).agentLayout(ref).log
        const keys = await rawBucket(s3.server.clientConfig(), s3.bucket).keys(log)
        const slots = keys.map((key) => new KeyLayout(prefix).agentLayout(ref).parse(key).slot)
        expect(Math.max(...slots)).toBe(1)

        const next = await other.appendMessage({ ...ref, message: user('new-1') })
        expect(next.index).toBe(2)
        const fresh = await open().readMessages(ref)
        expect(fresh.map((record) => textOf(record.message))).toEqual(['new-0', 'late', 'new-1'])
      }, 60_000)

      it('keys a killed stale writer left above the head are removed by the next append, never adopted', async () => {
        const prefix = 'left-above/'
        const ref = { sessionId: 'restarted', agentId: 'default' }
        const writer = openAt(prefix)
        await writer.createSession({ sessionId: ref.sessionId })
        for (const text of ['m0', 'm1', 'm2']) await writer.appendMessage({ ...ref, message: user(text) })
        // What a writer killed mid-proposal on a log that was then deleted and started again
        // leaves: its prepare and its accept (carrying a batch built on the old log) above the head.
        const keys = new KeyLayout(prefix).agentLayout(ref)
        const raw = rawBucket(s3.server.clientConfig(), s3.bucket)
        const [someBatch] = (await raw.keys(keys.slotDir(0))).filter((key) => key.includes('/a~'))
        const body = await raw.get(someBatch as string)
        const ghost = { round: 1, writer: 'deadbeefdeadbeef' }
        await raw.put(keys.prepare(4, ghost, 2), '-\n')
        await raw.put(keys.accept(5, ghost, 'v000000000001.deadbeefdeadbeef'), body)

        const other = openAt(prefix)
        for (let i = 3; i < 8; i++) {
          const record = await other.appendMessage({ ...ref, message: user(`m${i}`) })
          expect(record.index).toBe(i)
        }
        expect((await raw.keys(keys.log)).some((key) => key.includes('deadbeef'))).toBe(false)
        const fresh = await openAt(prefix).readMessages(ref)
        expect(fresh.map((record) => textOf(record.message))).toEqual(
          Array.from({ length: 8 }, (_, i) => `m${i}`),
        )
      }, 60_000)
    },
  )
}
