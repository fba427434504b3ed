import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Agent,
  type Message,
  RepositorySessionManager,
  SlidingWindowConversationManager,
} from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { cephSkipNote, cephUnavailable } from '../support/ceph-cluster.ts'
import { populateHistory } from '../support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT } from '../support/s3-targets.ts'

const ceph = S3_TARGETS.find((target) => target.conditionalWrites) as (typeof S3_TARGETS)[number]
const text = (value: string): Message => ({ role: 'user', content: [{ type: 'text', text: value }] })

/** Requests and bytes counted at an HTTP proxy in front of Ceph RGW: what S3 would bill. */
describe.skipIf(cephUnavailable() !== undefined)(
  `conditional writes on Ceph RGW: an append is one request and uploads the message once${cephSkipNote()}`,
  () => {
    let server: S3TestTarget
    let proxy: S3Proxy
    let bucket: string
    const repository = (): S3SessionRepository =>
      new S3SessionRepository({
        bucket,
        prefix: 'economy/',
        clientConfig: server.clientConfig(proxy.endpoint),
      })

    beforeAll(async () => {
      server = await ceph.start()
      proxy = await startS3Proxy(server.port)
      bucket = await server.createBucket()
      const writer = repository()
      await populateHistory(writer, 'small', 100)
      await populateHistory(writer, 'large', 1_000)
    }, TARGET_START_TIMEOUT)
    afterAll(() => proxy?.stop())

    it('the log is one object per message (no slot keys): the probe found the store enforcing', async () => {
      const keys = await rawBucket(server.clientConfig(), bucket).keys(
        'economy/sessions/small/agents/default/log/',
      )
      expect(keys.filter((key) => /\/log\/m\d{12}$/.test(key))).toHaveLength(100)
      expect(keys.filter((key) => key.endsWith('.pack'))).toHaveLength(12)
      expect(keys.filter((key) => !/\/log\/m\d{12}(\.pack)?$/.test(key))).toEqual([])
    })

    it('count + append: one LIST and one PUT, and the PUT carries about the message alone', async () => {
      for (const sessionId of ['small', 'large']) {
        const repo = repository()
        const ref = { sessionId, agentId: 'default' }
        await repo.countMessages(ref)
        proxy.reset()
        await repo.countMessages(ref)
        await repo.appendMessage({ ...ref, message: text('x'.repeat(1000)) })
        const counts = proxy.counts()
        expect(counts.LIST + counts.PUT + counts.GET + counts.DELETE + counts.OTHER).toBeLessThanOrEqual(3)
        expect(counts.LIST).toBe(1)
        expect(counts.PUT).toBeGreaterThanOrEqual(1)
        proxy.reset()
        await repo.appendMessage({ ...ref, message: text('y'.repeat(50_000)) })
        // The record around the message is a few hundred bytes; the LIST answer is not counted here.
        expect(proxy.bytes()).toBeGreaterThan(50_000)
        expect(proxy.bytes()).toBeLessThan(50_000 + 1_500)
        expect(proxy.total()).toBe(1)
      }
    })

    it('after a 5 MB message, each small turn uploads a few KB, not the large one again', async () => {
      const repo = repository()
      const agent = new Agent({
        model: new ScriptedModel({ fallback: { text: 'noted' } }),
        sessionManager: new RepositorySessionManager({ sessionId: 'big-then-small', repository: repo }),
      })
      proxy.reset()
      await agent.run(`look at this: ${'z'.repeat(5_000_000)}`)
      const largeTurn = proxy.bytes()
      expect(largeTurn).toBeGreaterThan(5_000_000)
      expect(largeTurn).toBeLessThan(5_020_000)
      for (let turn = 0; turn < 8; turn++) {
        proxy.reset()
        await agent.run(`small turn ${turn}`)
        // Uploaded (requests) plus downloaded (LIST answers): kilobytes, whatever came before.
        expect(proxy.bytes()).toBeLessThan(20_000)
      }
    })

    it('a turn costs at most 5 requests at 100 and at 1,000 messages', async () => {
      for (const sessionId of ['small', 'large']) {
        const agent = new Agent({
          model: new ScriptedModel({ fallback: { text: 'noted' } }),
          conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
          sessionManager: new RepositorySessionManager({ sessionId, repository: repository() }),
        })
        await agent.run('warm up')
        const requests: number[] = []
        for (let turn = 0; turn < 8; turn++) {
          proxy.reset()
          await agent.run(`turn ${turn}`)
          requests.push(proxy.total())
        }
        expect(Math.max(...requests)).toBeLessThanOrEqual(5)
      }
    })

    it('a restore through a 40-message window from a new repository object', async () => {
      const counts: number[] = []
      for (let extra = 0; extra < 8; extra++) {
        proxy.reset()
        const repo = repository()
        const agent = new Agent({
          model: new ScriptedModel(),
          conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
          sessionManager: new RepositorySessionManager({ sessionId: 'large', repository: repo }),
        })
        await agent.initialize()
        // Reads only: the manager writes the agent record when the restore moved its window start.
        counts.push(proxy.total() - proxy.counts().PUT)
        expect(proxy.counts().PUT).toBeLessThanOrEqual(1)
        expect(agent.messages.length).toBeGreaterThanOrEqual(38)
        // The next message, from the restored handle: it knows the window, so it writes packs.
        await repo.appendMessage({ sessionId: 'large', agentId: 'default', message: text(`m${extra}`) })
      }
      // session + agent record + LIST + at most 6 packs + at most 7 messages not yet packed
      expect(Math.max(...counts)).toBeLessThanOrEqual(16)
      expect(Math.min(...counts)).toBeGreaterThanOrEqual(3)
      process.stdout.write(`restore requests over 8 window positions: ${counts.join(', ')}\n`)
    })

    it('reading back every message of 1,000 costs about one GET per 8 messages', async () => {
      const repo = repository()
      proxy.reset()
      const all = await repo.readMessages({ sessionId: 'large', agentId: 'default' })
      expect(all.map((record) => record.index)).toEqual(Array.from({ length: all.length }, (_, i) => i))
      expect(proxy.total()).toBeLessThanOrEqual(
        Math.ceil(all.length / 8) + Math.ceil((all.length * 2) / 1000) + 20,
      )
    })
  },
)
