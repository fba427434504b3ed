import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Agent, RepositorySessionManager, type SessionRepository } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { populateHistory } from '../support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../support/s3-proxy.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

/** Requests are counted at an HTTP proxy between the client and s3rver: what S3 would bill. */
describe('S3 request economy, counted at the wire', () => {
  let server: S3TestServer
  let proxy: S3Proxy
  let bucket: string
  const repository = (): S3SessionRepository =>
    new S3SessionRepository({ bucket, prefix: 'economy/', clientConfig: server.clientConfig(proxy.endpoint) })

  beforeAll(async () => {
    server = await startS3Server()
    proxy = await startS3Proxy(server.port)
    bucket = await server.createBucket()
    const writer = repository()
    await populateHistory(writer, 'small', 100)
    await populateHistory(writer, 'large', 10_000)
  }, 120_000)
  afterAll(async () => {
    await proxy.stop()
    await server.stop()
  })

  const agentOn = (sessionId: string, repo: SessionRepository = repository()) =>
    new Agent({
      model: new ScriptedModel({ fallback: { text: 'noted' } }),
      sessionManager: new RepositorySessionManager({ sessionId, repository: repo }),
    })

  /**
   * Requests for each of `turns` agent turns (prompt + reply appended, count at invocation start;
   * with `changeState`, the agent's state changes every turn, so the turn also writes its record).
   */
  async function perTurn(sessionId: string, turns: number, changeState = false) {
    const agent = agentOn(sessionId)
    await agent.run('warm up')
    const requests: number[] = []
    const bytes: number[] = []
    for (let turn = 0; turn < turns; turn++) {
      proxy.reset()
      if (changeState) agent.state.set('turn', turn)
      await agent.run(`turn ${turn}`)
      requests.push(proxy.total())
      bytes.push(proxy.bytes())
    }
    return { requests, bytes }
  }

  it('a turn costs the same requests at 100 and at 10,000 messages', async () => {
    // 8 turns = 16 slots: two sweeps (every 8th slot) at either size, whatever the alignment.
    const small = await perTurn('small', 8)
    const large = await perTurn('large', 8)
    const sum = (values: number[]) => values.reduce((total, n) => total + n, 0)
    expect(sum(large.requests)).toBe(sum(small.requests))
    // Count LIST, then per append an accept carrying the batch, a LIST and the decided key (the
    // winner of a slot owns round 0 of the next: no prepare): 7; a segment PUT every 8th message
    // and a DeleteObjects 4 messages later never fall in one turn: 8.
    expect(Math.max(...small.requests, ...large.requests)).toBeLessThanOrEqual(8)
    // Bytes too: an append uploads its own batch, and every 8th message a segment, either way.
    expect(sum(large.bytes) / sum(small.bytes)).toBeLessThan(1.1)
  })

  it("a turn whose agent state changed writes the record too and stays within issue 9's 10 requests", async () => {
    // The record's stored revision is read (GET) before the PUT: nothing enforces If-Match here.
    // 8 turns = 16 slots: a seal and two sweeps at either size.
    const small = await perTurn('small', 8, true)
    const large = await perTurn('large', 8, true)
    expect(Math.max(...small.requests, ...large.requests)).toBeLessThanOrEqual(10)
    const stored = await repository().readAgent({ sessionId: 'large', agentId: 'default' })
    expect(stored?.state).toMatchObject({ turn: 7 })
  })

  it('a turn stays within 8 requests however seals and sweeps line up, also after a redaction', async () => {
    // Sessions of 1 to 8 messages put every later slot at a different offset from the segment
    // boundaries (every 8 messages); a redaction shifts it once more (an update adds a slot and
    // no message). 12 turns each: 24 slots, three seals and three sweeps, wherever they fall.
    const maxima: number[] = []
    for (let size = 1; size <= 8; size++) {
      for (const redacted of [false, true]) {
        const sessionId = `aligned-${size}-${redacted}`
        const repo = repository()
        const ref = { sessionId, agentId: 'default' }
        await repo.createSession({ sessionId })
        await repo.importMessages(
          ref,
          Array.from({ length: size }, (_, i) => ({
            role: 'user',
            content: [{ type: 'text', text: `m${i}` }],
          })),
        )
        if (redacted) {
          await repo.updateMessage({
            ...ref,
            index: 0,
            message: { role: 'user', content: [{ type: 'text', text: '-' }] },
          })
        }
        const agent = agentOn(sessionId)
        await agent.run('warm up')
        for (let turn = 0; turn < 12; turn++) {
          proxy.reset()
          await agent.run(`turn ${turn}`)
          maxima.push(proxy.total())
        }
      }
    }
    expect(Math.max(...maxima)).toBeLessThanOrEqual(8)
  })

  it('one append plus one count is four requests at any length, once a handle has appended', async () => {
    for (const sessionId of ['small', 'large']) {
      const repo = repository()
      const ref = { sessionId, agentId: 'raw' }
      await repo.appendMessage({ ...ref, message: { role: 'user', content: [{ type: 'text', text: 'hi' }] } })
      proxy.reset()
      await repo.countMessages(ref)
      await repo.appendMessage({
        ...ref,
        message: { role: 'user', content: [{ type: 'text', text: 'again' }] },
      })
      // The first append won its slot, so it owns round 0 of the next: this one is accept, LIST,
      // decided (2 PUT, 1 LIST), after the count's LIST.
      expect(proxy.counts()).toEqual({ GET: 0, PUT: 2, LIST: 2, DELETE: 0, OTHER: 0 })
    }
  })

  it('restoring a 10,000-message session with a 40-message window reads at most 18 requests', async () => {
    // Everything the restore reads: session, agent record, count, the window. The agent record
    // the manager writes at the end of its first initialization is counted apart.
    let agentWrites = 0
    const inner = repository()
    const writeAgent: SessionRepository['writeAgent'] = async (write) => {
      const before = proxy.total()
      const record = await inner.writeAgent(write)
      agentWrites += proxy.total() - before
      return record
    }
    const counted = new Proxy(inner, {
      get: (target, name) => {
        if (name === 'writeAgent') return writeAgent
        const value: unknown = Reflect.get(target, name, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const agent = agentOn('large', counted)
    proxy.reset()
    await agent.initialize()
    // GET session, GET agent record, LIST (the count; the read starts from the same listing, which
    // names the decided keys of the slots since the last sealed segment), a GET per such slot's
    // batch (at most 8) and per segment of 8 the window overlaps (at most 6).
    const budget = 3 + 8 + 6
    expect(proxy.total() - agentWrites).toBeLessThanOrEqual(budget)
    // Restoring a session that already has its agent record writes nothing back.
    proxy.reset()
    await agentOn('large', repository()).initialize()
    expect(proxy.total()).toBeLessThanOrEqual(budget)
    expect(proxy.counts().PUT).toBe(0)
    expect(agent.messages.length).toBeGreaterThanOrEqual(40)
  })

  it('listing the full 10,000-message history pages through segments, not messages', async () => {
    const repo = repository()
    proxy.reset()
    const count = await repo.countMessages({ sessionId: 'large', agentId: 'default' })
    const all = await repo.readMessages({ sessionId: 'large', agentId: 'default' })
    expect(all.map((record) => record.index)).toEqual(Array.from({ length: count }, (_, i) => i))
    // One LIST for the count, at most one more for the read (none if it follows within a second),
    // the batches since the last sealed segment (at most 8), then one GET per 8-message segment.
    expect(proxy.total()).toBeLessThanOrEqual(2 + 8 + Math.ceil(count / 8))
  })
})
