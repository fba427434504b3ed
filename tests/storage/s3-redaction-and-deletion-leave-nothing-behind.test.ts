import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { populateHistory } from '../support/s3-history.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3 redaction and deletion leave nothing behind (${target.name})`,
    () => {
      const s3 = useS3Target(target, { proxy: true })

      const open = (segmentSize = 50) =>
        new S3SessionRepository({
          bucket: s3.bucket,
          prefix: 'r/',
          segmentSize,
          clientConfig: s3.server.clientConfig(s3.proxy.endpoint),
        })

      /** Every object under the session whose bytes contain `needle`. */
      async function objectsContaining(sessionId: string, needle: string): Promise<string[]> {
        const raw = rawBucket(s3.server.clientConfig(), s3.bucket)
        const keys = await raw.keys(`r/sessions/${sessionId}/`)
        const hits: string[] = []
        for (const key of keys) if ((await raw.get(key)).includes(needle)) hits.push(key)
        return hits
      }

      const cases = [
        { where: 'the tail', large: false },
        { where: 'a sealed segment', large: false },
        // Over 16 KiB: in the slot layout the message is stored once, in a blob of its own.
        { where: 'the tail', large: true },
        { where: 'a sealed segment', large: true },
      ] as const
      for (const { where, large } of cases) {
        it(`a redacted ${large ? 'large ' : ''}message in ${where} leaves no copy of the old text in any object`, async () => {
          const sessionId = `redact-${where === 'the tail' ? 'tail' : 'segment'}${large ? '-large' : ''}`
          const ref = { sessionId, agentId: 'default' }
          const repository = open(4)
          await repository.createSession({ sessionId })
          const before = where === 'the tail' ? 2 : 1
          for (let i = 0; i < before; i++)
            await repository.appendMessage({ ...ref, message: text(`hello ${i}`) })
          const secret = await repository.appendMessage({
            ...ref,
            message: text(`my card is 4111 1111 1111 1111${large ? ` ${'x'.repeat(20_000)}` : ''}`),
          })
          // Enough later messages to seal the secret's segment (size 4) in the second case.
          const after = where === 'the tail' ? 1 : 9
          for (let i = 0; i < after; i++)
            await repository.appendMessage({ ...ref, message: text(`later ${i}`) })
          expect((await objectsContaining(sessionId, '4111')).length).toBeGreaterThan(0)

          await open(4).updateMessage({ ...ref, index: secret.index, message: text('[redacted]') })
          expect(await objectsContaining(sessionId, '4111')).toEqual([])
          const stored = await open(4).readMessages(ref)
          expect(stored[secret.index]?.message).toEqual(text('[redacted]'))
          expect(stored[secret.index]?.revision).toBe(1)
          expect(stored).toHaveLength(before + 1 + after)
        })
      }

      it('deleting a session removes every object with paged LISTs and batched DeleteObjects', async () => {
        const writer = open(4)
        // Over 1,250 objects either way (the message layout keeps one per message, plus packs).
        await populateHistory(writer, 'big', target.conditionalWrites ? 1500 : 5000)
        await populateHistory(writer, 'neighbour', 10)
        const raw = rawBucket(s3.server.clientConfig(), s3.bucket)
        const objects = (await raw.keys('r/sessions/big/')).length
        expect(objects).toBeGreaterThan(1250)
        s3.proxy.reset()
        await open(4).deleteSession({ sessionId: 'big' })
        expect(s3.proxy.counts().LIST).toBeGreaterThanOrEqual(2)
        expect(s3.proxy.counts().DELETE).toBeGreaterThanOrEqual(2)
        // One DeleteObjects per listed page: a handful of requests for 1,250+ objects, not one each.
        // (s3rver answers a large DeleteObjects with a 500 now and then, racing its own directory
        // cleanup; the retry policy repeats it, so up to two per page.)
        expect(s3.proxy.counts().DELETE).toBeLessThanOrEqual(2 * s3.proxy.counts().LIST)
        // A LIST and a DeleteObjects per 1,000 keys (the S3 limits), plus the empty last page.
        expect(s3.proxy.total()).toBeLessThanOrEqual(2 * Math.ceil(objects / 1000) + 4)
        expect(await raw.keys('r/sessions/big/')).toEqual([])
        // Its activity marker (what orders the session list) goes too; the neighbour's stays.
        const markers = await raw.keys('r/activity/')
        expect(markers).not.toContain('r/activity/big')
        expect(markers).toContain('r/activity/neighbour')
        expect(await open(4).countMessages({ sessionId: 'neighbour', agentId: 'default' })).toBe(10)
      })
    },
  )
}
