import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, RepositorySessionManager } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { populateHistory } from '../support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

const KiB = 1024

/**
 * Issue 9 asked the fallback (stores without conditional writes: the slot layout) to upload about
 * each message's own size, with no re-upload of earlier messages. Counted at a proxy in front of
 * s3rver, which ignores conditional writes, so every log here is in the slot layout.
 */
describe('slot layout: an append uploads its own messages, not the ones before it', () => {
  let server: S3TestServer
  let proxy: S3Proxy
  let bucket: string
  const repository = () =>
    new S3SessionRepository({ bucket, prefix: 'upload/', clientConfig: server.clientConfig(proxy.endpoint) })

  beforeAll(async () => {
    server = await startS3Server()
    proxy = await startS3Proxy(server.port)
    bucket = await server.createBucket()
  })
  afterAll(async () => {
    await proxy.stop()
    await server.stop()
  })

  it('a 1 MB prompt is uploaded once; the small turns after it upload kilobytes', async () => {
    await populateHistory(repository(), 'big-prompt', 100)
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'noted' } }),
      sessionManager: new RepositorySessionManager({ sessionId: 'big-prompt', repository: repository() }),
    })
    await agent.initialize()
    proxy.reset()
    await agent.run(`Please keep this: ${'x'.repeat(1_000_000)}`)
    const largeTurn = proxy.uploaded()
    expect(largeTurn).toBeGreaterThan(1_000_000)
    expect(largeTurn).toBeLessThan(1_000_000 + 64 * KiB)
    const small: number[] = []
    for (let turn = 0; turn < 12; turn++) {
      proxy.reset()
      await agent.run(`small turn ${turn}`)
      small.push(proxy.uploaded())
    }
    // Twelve turns add 24 messages, so the segment holding the large prompt is sealed in one of
    // them: it refers to the prompt's blob instead of copying it. Each small turn uploads its two
    // short messages, their envelopes, the slot's keys and sealed segments. Before format 2, each
    // of them uploaded the 50-message tail, the large prompt included (1 MB a turn).
    expect(Math.max(...small)).toBeLessThan(8 * KiB)
    // And everything reads back: a fresh restore of the whole history.
    const all = await repository().readMessages({ sessionId: 'big-prompt', agentId: 'default' })
    expect(all.map((record) => record.index)).toEqual(all.map((_, i) => i))
    expect(all).toHaveLength(100 + 2 + 24)
    const prompt = all.find((record) => record.index === 100)?.message.content[0] as { text: string }
    expect(prompt.text).toHaveLength('Please keep this: '.length + 1_000_000)
  })

  it('a turn on a 2,000-message session uploads what a turn on a 20-message one does', async () => {
    const perTurn = async (sessionId: string, count: number) => {
      await populateHistory(repository(), sessionId, count)
      const agent = new Agent({
        model: new ScriptedModel({ fallback: { text: 'noted' } }),
        sessionManager: new RepositorySessionManager({ sessionId, repository: repository() }),
      })
      await agent.run('warm up')
      const uploads: number[] = []
      // 8 turns = 16 messages: two segments sealed whatever the alignment.
      for (let turn = 0; turn < 8; turn++) {
        proxy.reset()
        await agent.run(`turn ${turn}`)
        uploads.push(proxy.uploaded())
      }
      return uploads.reduce((sum, bytes) => sum + bytes, 0) / uploads.length
    }
    const short = await perTurn('short', 20)
    const long = await perTurn('long', 2000)
    expect(long / short).toBeLessThan(1.2)
    // Two messages of ~60 bytes of text each: their records, the slot's keys and a share of the
    // sealed segments. The 50-message tail of format 1 was ~25 KiB.
    expect(long).toBeLessThan(4 * KiB)
  })
})
