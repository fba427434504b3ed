import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `many writers contending for one S3 log (${target.name})`,
    () => {
      const s3 = useS3Target(target)

      it('four handles appending one message after another: each stored once, indexes as returned', async () => {
        const ref = { sessionId: 'contended', agentId: 'default' }
        const open = () =>
          new S3SessionRepository({
            bucket: s3.bucket,
            prefix: 'many/',
            clientConfig: s3.server.clientConfig(),
          })
        const PER_WRITER = 12
        const writer = async (label: string) => {
          const repository = open()
          const records = []
          for (let i = 0; i < PER_WRITER; i++) {
            records.push(await repository.appendMessage({ ...ref, message: text(`${label}${i}`) }))
          }
          return records
        }
        const returned = (await Promise.all(['a', 'b', 'c', 'd'].map(writer))).flat()
        const stored = await open().readMessages(ref)
        expect(stored.map((record) => record.index)).toEqual(
          Array.from({ length: 4 * PER_WRITER }, (_, i) => i),
        )
        // Every append's returned index holds exactly its message; nothing else is stored.
        for (const record of returned) expect(stored[record.index]?.message).toEqual(record.message)
        expect(new Set(returned.map((record) => record.index)).size).toBe(4 * PER_WRITER)
        // Each writer's own messages keep its order.
        for (const label of ['a', 'b', 'c', 'd']) {
          const mine = stored.filter((record) =>
            (record.message.content[0] as { text: string }).text.startsWith(label),
          )
          expect(mine.map((record) => (record.message.content[0] as { text: string }).text)).toEqual(
            Array.from({ length: PER_WRITER }, (_, i) => `${label}${i}`),
          )
        }
      }, 60_000)
    },
  )
}
