import { beforeAll, describe, expect, it } from 'vitest'
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
import { cephSkipNote, cephUnavailable } from '../support/ceph-cluster.ts'
import { populateHistory } from '../support/s3-history.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT } from '../support/s3-targets.ts'

const ceph = S3_TARGETS.find((target) => target.conditionalWrites) as (typeof S3_TARGETS)[number]
const textOf = (message: Message) => (message.content[0] as { text: string }).text

describe.skipIf(cephUnavailable() !== undefined)(
  `damaged objects of a conditional-write log are reported by key and kept aside (Ceph RGW)${cephSkipNote()}`,
  () => {
    let server: S3TestTarget
    let bucket: string
    let sessions = 0
    beforeAll(async () => {
      server = await ceph.start()
      bucket = await server.createBucket()
    }, TARGET_START_TIMEOUT)

    async function setUp(count: number) {
      const sessionId = `damaged-${sessions++}`
      const ref = { sessionId, agentId: 'default' }
      const open = () =>
        new S3SessionRepository({ bucket, prefix: 'p/', clientConfig: server.clientConfig() })
      await populateHistory(open(), sessionId, count, { batch: 10 })
      const raw = rawBucket(server.clientConfig(), bucket)
      const keys = new KeyLayout('p/').agentLayout(ref)
      return { ref, open, raw, keys }
    }

    it('a garbage message object: the read names its key; a restore keeps the bytes, repairs from the pack copy', async () => {
      const { ref, open, raw, keys } = await setUp(100)
      await raw.put(keys.message(93), '{"schemaVersion":1,"trunc')
      await raw.put(keys.message(97), 'garbage')
      const error = (await open()
        .readMessages({ ...ref, offset: 90 })
        .catch((e: unknown) => e)) as DamagedRecordError
      expect(error).toBeInstanceOf(DamagedRecordError)
      expect(error.location).toBe(`s3://${bucket}/${keys.message(93)}`)
      expect(error.index).toBe(93)

      const manager = new RepositorySessionManager({ sessionId: ref.sessionId, repository: open() })
      const agent = new Agent({
        model: new ScriptedModel({ fallback: { text: 'ok' } }),
        sessionManager: manager,
      })
      await agent.initialize()
      expect(
        manager.lastRepairReport?.repairs.filter((r) => r.kind === 'damaged-record').map((r) => r.index),
      ).toEqual([93, 97])
      const kept = await raw.keys(keys.quarantine(''))
      expect((await Promise.all(kept.map((key) => raw.get(key)))).sort()).toEqual([
        'garbage',
        '{"schemaVersion":1,"trunc',
      ])
      const stored = await open().readMessages(ref)
      expect(stored).toHaveLength(100)
      // Index 93 has a good copy in the pack of 88..95: restored from it and marked; 97 is not
      // packed yet (96..99 close at 103), so it becomes the placeholder.
      expect(textOf(stored[93]?.message as Message)).toBe('answer 46: 94 comes next.')
      expect(stored[93]?.damaged?.keptAs).toContain('quarantine/message-93-')
      expect(stored[97]?.message).toEqual(DAMAGED_PLACEHOLDER)
      await agent.run('still works')
      expect(await open().countMessages(ref)).toBe(102)
      // A readable record is left untouched by a repair.
      expect(
        (await open().quarantineMessage({ ...ref, index: 10, placeholder: DAMAGED_PLACEHOLDER })).damaged,
      ).toBeUndefined()
    })

    it('a damaged pack is only a damaged copy: reads fall back to the message objects', async () => {
      const { ref, open, raw, keys } = await setUp(40)
      await raw.put(keys.pack(31), '{"kind":"pack"')
      const stored = await open().readMessages(ref)
      expect(stored.map((record) => record.index)).toEqual(Array.from({ length: 40 }, (_, i) => i))
    })

    it('a record from a newer format is refused, not misread, and left untouched', async () => {
      const { ref, open, raw, keys } = await setUp(10)
      const newer = (await raw.get(keys.message(9))).replace('"schemaVersion":1', '"schemaVersion":2')
      await raw.put(keys.message(9), newer)
      await expect(open().readMessages(ref)).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
      await expect(
        open().quarantineMessage({ ...ref, index: 9, placeholder: DAMAGED_PLACEHOLDER }),
      ).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
      expect(await raw.get(keys.message(9))).toBe(newer)
    })

    it('a log key of an unknown kind (a newer layout) stops appends instead of writing over it', async () => {
      const { ref, open, raw, keys } = await setUp(4)
      await raw.put(`${keys.log}m999999999990.zzz`, '-')
      await expect(
        open().appendMessage({ ...ref, message: { role: 'user', content: [{ type: 'text', text: 'x' }] } }),
      ).rejects.toBeInstanceOf(UnsupportedSchemaVersionError)
    })
  },
)
