import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  Agent,
  DamagedRecordError,
  type Message,
  RepositorySessionManager,
  UnsupportedSchemaVersionError,
} from '../../src/index.ts'
import { DAMAGED_PLACEHOLDER } from '../../src/session/load-repaired-history.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { KeyLayout } from '../../src/storage/s3/s3-key-layout.ts'
import { ScriptedModel } from '../../src/testing/index.ts'
import { populateHistory } from '../support/s3-history.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

const textOf = (message: Message) => (message.content[0] as { text: string }).text

describe('damaged S3 objects are reported by key and kept aside', () => {
  let server: S3TestServer
  let bucket: string
  let sessions = 0
  beforeAll(async () => {
    server = await startS3Server()
    bucket = await server.createBucket()
  })
  afterAll(() => server.stop())

  async function setUp(count: number, batch = 10) {
    const sessionId = `damaged-${sessions++}`
    const ref = { sessionId, agentId: 'default' }
    const open = () => new S3SessionRepository({ bucket, prefix: 'p/', clientConfig: server.clientConfig() })
    await populateHistory(open(), sessionId, count, { batch })
    // A handle that has cached nothing, as another device would be.
    const repository = open()
    const raw = rawBucket(server.clientConfig(), bucket)
    const keys = new KeyLayout('p/').agentLayout(ref)
    // Each slot decided a batch: the messages from the count of the slot below to its own.
    const decided = (await raw.keys(keys.log))
      .map((key) => keys.parse(key))
      .flatMap((key) => (key.kind === 'decided' ? [key] : []))
      .sort((a, b) => a.slot - b.slot)
    const batchHolding = (index: number) => {
      const at = decided.findIndex((key) => key.count > index)
      const slot = decided[at] as (typeof decided)[number]
      return {
        key: keys.proposal(slot.slot, slot.value),
        start: at === 0 ? 0 : (decided[at - 1]?.count ?? 0),
      }
    }
    return { ref, repository, raw, keys, batchHolding, open }
  }

  it('a listing names a session whose record is damaged and still lists the others', async () => {
    const prefix = `listing-${sessions++}/`
    const repository = new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
    await repository.createSession({ sessionId: 'fine' })
    await repository.createSession({ sessionId: 'broken' })
    const raw = rawBucket(server.clientConfig(), bucket)
    const record = (await raw.keys(prefix)).find(
      (key) => key.includes('broken') && key.endsWith('session.json'),
    )
    await raw.put(record as string, 'null')
    const page = await repository.listSessions()
    expect(page.sessions.map((session) => session.sessionId)).toEqual(['fine'])
    expect(page.unreadable).toHaveLength(1)
    expect(page.unreadable?.[0]?.location).toContain(record)
    expect(page.unreadable?.[0]?.reason).toContain('Damaged session record')
  })

  it('a damaged agent record does not block the session: state resets, messages restore, bytes kept aside', async () => {
    const prefix = `agent-record-${sessions++}/`
    const open = () => new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
    const ref = { sessionId: 'a', agentId: 'default' }
    const writer = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      sessionManager: new RepositorySessionManager({ sessionId: 'a', repository: open() }),
    })
    await writer.run('one')
    await writer.run('two')
    const raw = rawBucket(server.clientConfig(), bucket)
    const layout = new KeyLayout(prefix)
    await raw.put(layout.agentRecord(ref), '{"schemaVersion":1,"revis')

    const manager = new RepositorySessionManager({ sessionId: 'a', repository: open() })
    const agent = new Agent({ model: new ScriptedModel(), sessionManager: manager })
    await agent.initialize()
    expect(agent.messages).toHaveLength(4)
    expect(manager.lastRepairReport?.repairs.map((repair) => repair.kind)).toEqual(['damaged-agent-record'])
    const kept = await raw.keys(layout.agentLayout(ref).quarantine('agent.json'))
    expect(kept).toHaveLength(1)
    expect(await raw.get(kept[0] as string)).toBe('{"schemaVersion":1,"revis')
    expect((await open().readAgent(ref))?.revision).toBe(0)
  })

  it('a garbage batch: DamagedRecordError names its key; a restore keeps the bytes and goes on', async () => {
    // Batches of 3: 120..122 and 123..124 are unsealed (segments of 8 end at 120), each in its
    // own slot's batch. The older of the two is garbage; the newer must survive the repair.
    const { ref, repository, raw, keys, batchHolding } = await setUp(125, 3)
    const tailKey = batchHolding(121).key
    expect(batchHolding(123).key).not.toBe(tailKey)
    await raw.put(tailKey, '{"schemaVersion":1,"kind":"tail","records":[{"trunc')
    const error = await repository.readMessages(ref).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect((error as DamagedRecordError).location).toContain(tailKey)

    const manager = new RepositorySessionManager({ sessionId: ref.sessionId, repository })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      sessionManager: manager,
    })
    await agent.initialize()
    expect(manager.lastRepairReport?.repairs.map((repair) => repair.kind)).toContain('damaged-record')
    const [kept] = await raw.keys(keys.quarantine(''))
    expect(await raw.get(kept as string)).toBe('{"schemaVersion":1,"kind":"tail","records":[{"trunc')
    // Sealed messages are restored from their segments, and the other batch's from it; only
    // what the garbage batch alone held became placeholders.
    const stored = await repository.readMessages(ref)
    expect(stored).toHaveLength(125)
    expect(stored.filter((record) => record.damaged).map((record) => record.index)).toEqual([120, 121, 122])
    expect(textOf(stored[119]?.message as Message)).toBe('answer 59: 120 comes next.')
    expect(textOf(stored[124]?.message as Message)).toBe('question 62: what comes after 124?')
    await agent.run('still works')
    expect(await repository.countMessages(ref)).toBe(127)
  })

  it('a garbage blob (a large message stored alone): named in the error; a restore keeps its bytes and replaces only that message', async () => {
    const { ref, raw, keys, open } = await setUp(20, 3)
    const writer = open()
    const large = await writer.appendMessage({
      ...ref,
      message: { role: 'user', content: [{ type: 'text', text: `big ${'x'.repeat(20_000)}` }] },
    })
    for (let i = 0; i < 10; i++) {
      await writer.appendMessage({
        ...ref,
        message: { role: 'user', content: [{ type: 'text', text: `after ${i}` }] },
      })
    }
    // Ten more messages seal the large one's segment: the segment refers to the blob, not a copy.
    const [blobKey, ...others] = await raw.keys(`${keys.dir}blobs/`)
    expect(others).toEqual([])
    await raw.put(blobKey as string, '{"role":"user","content":[{"type":"te')
    const error = (await open()
      .readMessages(ref)
      .catch((e: unknown) => e)) as DamagedRecordError
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect(error.location).toContain(blobKey)
    expect(error.index).toBe(large.index)

    const manager = new RepositorySessionManager({ sessionId: ref.sessionId, repository: open() })
    const agent = new Agent({
      model: new ScriptedModel({ fallback: { text: 'ok' } }),
      sessionManager: manager,
    })
    await agent.initialize()
    expect(manager.lastRepairReport?.repairs.map((repair) => repair.kind)).toContain('damaged-record')
    const kept = await raw.keys(keys.quarantine('blob-'))
    expect(await Promise.all(kept.map((key) => raw.get(key)))).toContain(
      '{"role":"user","content":[{"type":"te',
    )
    const stored = await open().readMessages(ref)
    expect(stored).toHaveLength(31)
    expect(stored.filter((record) => record.damaged).map((record) => record.index)).toEqual([large.index])
    // The damaged blob is gone; its bytes live in quarantine only.
    expect(await raw.keys(`${keys.dir}blobs/`)).toEqual([])
  })

  it('one wrong-shaped record in a segment: only that index becomes a placeholder', async () => {
    const { ref, repository, raw, keys } = await setUp(120)
    const segmentKey = keys.segment(0, 0)
    const segment = JSON.parse(await raw.get(segmentKey)) as { records: unknown[] }
    segment.records[3] = { bogus: true }
    await raw.put(segmentKey, JSON.stringify(segment))
    const error = (await repository.readMessages(ref).catch((e: unknown) => e)) as DamagedRecordError
    expect(error).toBeInstanceOf(DamagedRecordError)
    expect(error.location).toBe(`s3://${bucket}/${segmentKey}#3`)
    expect(error.index).toBe(3)

    const record = await repository.quarantineMessage({ ...ref, index: 3, placeholder: DAMAGED_PLACEHOLDER })
    expect(record.damaged?.keptAs).toMatch(/quarantine\/segment-0-/)
    const stored = await repository.readMessages(ref)
    expect(stored.map((r) => r.index)).toEqual(Array.from({ length: 120 }, (_, i) => i))
    expect(stored.filter((r) => r.damaged).map((r) => r.index)).toEqual([3])
    // The damaged revision is gone from the segment folder; its bytes live in quarantine only.
    expect(await raw.keys(`${keys.segments}000000000000/`)).toHaveLength(1)
    // A record that is not damaged is left as it is.
    const fine = await repository.quarantineMessage({ ...ref, index: 4, placeholder: DAMAGED_PLACEHOLDER })
    expect(fine.damaged).toBeUndefined()
  })

  it('a record from a newer format is refused, not misread, and left untouched', async () => {
    const { ref, repository, raw, batchHolding } = await setUp(10)
    const { key: tailKey, start } = batchHolding(9)
    const tail = JSON.parse(await raw.get(tailKey)) as { records: { schemaVersion: number }[] }
    ;(tail.records[9 - start] as { schemaVersion: number }).schemaVersion = 2
    const newer = JSON.stringify(tail)
    await raw.put(tailKey, newer)
    await expect(repository.readMessages(ref)).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
    await raw.put(tailKey, JSON.stringify({ ...tail, schemaVersion: 2 }))
    await expect(repository.readMessages(ref)).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
    expect(JSON.parse(await raw.get(tailKey)).schemaVersion).toBe(2)
  })

  it('a log key of an unknown kind (a newer layout) stops appends instead of writing over it', async () => {
    const { ref, repository, raw, keys } = await setUp(4)
    await raw.put(`${keys.slotDir(99)}z~something-new`, '-')
    await expect(
      repository.appendMessage({ ...ref, message: { role: 'user', content: [{ type: 'text', text: 'x' }] } }),
    ).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
  })
})
