import { beforeAll, describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { cephSkipNote, cephUnavailable } from '../support/ceph-cluster.ts'
import { restoreInFreshProcess } from '../support/run-session-worker.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT, workerStoreAt } from '../support/s3-targets.ts'

const ceph = S3_TARGETS.find((target) => target.conditionalWrites) as (typeof S3_TARGETS)[number]
const user = (text: string): Message => ({ role: 'user', content: [{ type: 'text', text }] })
const assistant = (text: string): Message => ({ role: 'assistant', content: [{ type: 'text', text }] })
const textOf = (message: Message) => (message.content[0] as { text: string }).text
const SECRET = 'my card is 4111 1111 1111 1111'

/**
 * In the message layout, the writer that claims every 8th message also writes a pack: copies of
 * the 8 records, from what it wrote and read. A device that redacts one of them while another
 * device still holds the old text in memory must not have that device put the old text back at
 * rest when it seals the group later, nor leave it in a pack sealed before.
 */
describe.skipIf(cephUnavailable() !== undefined)(
  `S3 conditional writes: a redaction leaves no old text in any pack, whichever order the pack comes in (Ceph RGW)${cephSkipNote()}`,
  () => {
    let server: S3TestTarget
    let bucket: string
    beforeAll(async () => {
      server = await ceph.start()
      bucket = await server.createBucket()
    }, TARGET_START_TIMEOUT)

    const open = (prefix: string) =>
      new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
    /** Every object under the prefix whose bytes contain `needle`. */
    async function objectsContaining(prefix: string, needle: string): Promise<string[]> {
      const raw = rawBucket(server.clientConfig(), bucket)
      const hits: string[] = []
      for (const key of await raw.keys(prefix)) if ((await raw.get(key)).includes(needle)) hits.push(key)
      return hits
    }
    const restore = (prefix: string) => restoreInFreshProcess(workerStoreAt(server, bucket, prefix), 'chat')
    const ref = { sessionId: 'chat', agentId: 'default' }
    const conversation = (count: number) =>
      Array.from({ length: count }, (_, i) =>
        i === 3 ? user(SECRET) : i % 2 === 0 ? user(`q${i}`) : assistant(`a${i}`),
      )
    const expected = (count: number) =>
      conversation(count).map((message, i) => (i === 3 ? '[redacted]' : textOf(message)))

    it('the group is sealed after the redaction, by a device that read the old text before it', async () => {
      const prefix = 'late-pack/'
      const sealer = open(prefix)
      await sealer.createSession({ sessionId: ref.sessionId })
      const messages = conversation(8)
      for (const message of messages.slice(0, 7)) await sealer.appendMessage({ ...ref, message })
      await open(prefix).updateMessage({ ...ref, index: 3, message: user('[redacted]') })
      // The sealer still holds message 3's old text: its 8th append seals the group from it.
      await sealer.appendMessage({ ...ref, message: messages[7] as Message })
      expect(await objectsContaining(prefix, '4111')).toEqual([])
      expect((await restore(prefix)).map(textOf)).toEqual(expected(8))
    }, 60_000)

    it('the group was sealed before the redaction: its pack is rewritten, and still serves the restore', async () => {
      const prefix = 'early-pack/'
      const writer = open(prefix)
      await writer.createSession({ sessionId: ref.sessionId })
      for (const message of conversation(10)) await writer.appendMessage({ ...ref, message })
      expect((await objectsContaining(prefix, '4111')).length).toBe(2) // the message and the pack
      await open(prefix).updateMessage({ ...ref, index: 3, message: user('[redacted]') })
      expect(await objectsContaining(prefix, '4111')).toEqual([])
      const fresh = open(prefix)
      expect((await fresh.readMessages(ref)).map((record) => textOf(record.message))).toEqual(expected(10))
      expect((await restore(prefix)).map(textOf)).toEqual(expected(10))
    }, 60_000)
  },
)
