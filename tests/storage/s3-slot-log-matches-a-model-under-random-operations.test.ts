import { describe, expect, it } from 'vitest'
import type { Message } from '../../src/index.ts'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { KeyLayout } from '../../src/storage/s3/s3-key-layout.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

/** One message in eight is over 16 KiB: stored in a blob of its own, referred to by batches and segments. */
const text = (value: string): Message => {
  const large = Number(value.slice(1)) % 8 === 5
  return { role: 'user', content: [{ type: 'text', text: large ? `${value} ${'x'.repeat(17_000)}` : value }] }
}
const textOf = (message: Message) => (message.content[0] as { text: string }).text.split(' ')[0] as string

/** A small deterministic generator (mulberry32), so a failure names a seed that reproduces it. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * The slot layout's format 2 keeps a log's messages in batches, sealed segments, update batches
 * and segment revisions, and sweeps what no reader needs. Three handles (each with its own cached
 * head and round 0 of the slot after the one it last won) run random appends, bulk imports, updates (in segments and after them),
 * alone and two at once, with 4-message segments so seals and sweeps come often; one message in
 * eight is large (a blob). After every step
 * a handle that has cached nothing reads the whole log and a window, and must see exactly the
 * model: every message at the index its append returned, every update applied.
 */
for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `slot layout format 2 matches a model under random appends, imports and updates (${target.name})`,
    () => {
      const s3 = useS3Target(target)
      // Ceph answers a LIST in tens of milliseconds: fewer steps there. S3_MODEL_SEEDS=50 runs more
      // seeds (each is about 8 s of steps on s3rver).
      const steps = target.conditionalWrites ? 40 : 100
      const seeds = Array.from(
        { length: Number(process.env.S3_MODEL_SEEDS ?? (target.conditionalWrites ? 1 : 2)) },
        (_, i) => i + 1,
      )
      for (const seed of seeds) {
        it(`seed ${seed}: ${steps} steps`, async () => {
          const prefix = `model-${seed}/`
          // On Ceph, which enforces conditional writes, the slot layout is forced: the fallback's
          // protocol checked against a real store.
          const open = () =>
            new S3SessionRepository({
              bucket: s3.bucket,
              prefix,
              segmentSize: 4,
              conditionalWrites: false,
              clientConfig: s3.server.clientConfig(),
            })
          const handles = [open(), open(), open()]
          const ref = { sessionId: 'model', agentId: 'default' }
          const next = random(seed)
          const pick = <T>(items: T[]): T => items[Math.floor(next() * items.length)] as T
          const model: string[] = []
          let serial = 0

          const append = async (repository: S3SessionRepository) => {
            const value = `m${serial++}`
            const record = await repository.appendMessage({ ...ref, message: text(value) })
            model[record.index] = value
          }
          const importSome = async (repository: S3SessionRepository) => {
            const values = Array.from({ length: 1 + Math.floor(next() * 6) }, () => `i${serial++}`)
            const records = await repository.importMessages(ref, values.map(text))
            for (const [i, record] of records.entries()) model[record.index] = values[i] as string
          }
          const update = async (repository: S3SessionRepository) => {
            if (model.length === 0) return append(repository)
            const index = Math.floor(next() * model.length)
            const value = `u${serial++}`
            await repository.updateMessage({ ...ref, index, message: text(value) })
            model[index] = value
          }
          const operations = [append, append, append, importSome, update]

          for (let step = 0; step < steps; step++) {
            if (next() < 0.25) {
              // Two handles at once, appending or importing: they contend for the same slot.
              const [a, b] = [pick(handles), pick(handles)]
              await Promise.all([pick([append, importSome])(a), pick([append, importSome])(b)])
            } else {
              await pick(operations)(pick(handles))
            }
            const fresh = open()
            const all = await fresh.readMessages(ref)
            expect(
              all.map((record) => record.index),
              `step ${step}`,
            ).toEqual(model.map((_, i) => i))
            expect(
              all.map((record) => textOf(record.message)),
              `step ${step}`,
            ).toEqual(model)
            const offset = Math.floor(next() * model.length)
            const window = await open().readMessages({ ...ref, offset, limit: 7 })
            expect(window.map((record) => textOf(record.message))).toEqual(model.slice(offset, offset + 7))
            // A handle that has written (its head, and the segment revisions it guesses from, may be
            // behind another handle's redaction) counts, then reads from the count's listing, as a
            // restore or a sync does.
            const writer = pick(handles)
            const count = await writer.countMessages(ref)
            expect(count, `step ${step}`).toBe(model.length)
            const from = Math.max(0, count - 1 - Math.floor(next() * 20))
            const newest = await writer.readMessages({ ...ref, offset: from })
            expect(newest.map((record) => textOf(record.message))).toEqual(model.slice(from))
          }

          // Updated text is gone from storage: no object holds a value the model replaced.
          const raw = rawBucket(s3.server.clientConfig(), s3.bucket)
          const keys = await raw.keys(new KeyLayout(prefix).agentLayout(ref).dir)
          const stored = (await Promise.all(keys.map((key) => raw.get(key)))).join('\n')
          const replaced = Array.from({ length: serial }, (_, i) => i)
            .flatMap((i) => [`m${i}`, `i${i}`, `u${i}`])
            .filter(
              (value) =>
                !model.includes(value) && (stored.includes(`"${value}"`) || stored.includes(`"${value} `)),
            )
          expect(replaced).toEqual([])
        }, 120_000)
      }
    },
  )
}
