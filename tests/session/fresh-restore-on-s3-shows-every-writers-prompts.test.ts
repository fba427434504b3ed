import { afterAll, beforeAll, describe, it } from 'vitest'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'
import { writersThenFreshRestore } from './fresh-restore-proof.ts'

/**
 * Fewer turns than on files: each turn is several requests to a server on the same 2 cores, and six
 * devices contend for every slot. Two turns each (four appends a turn, with the tool call) still
 * put every writer's first append after another writer's.
 */
const S3_TURNS = 2

// The S3 half of fresh-restore-shows-every-writers-prompts.test.ts, in its own file so the two
// halves run side by side.
describe('a fresh restore shows every prompt any writer stored', () => {
  describe('on S3 (s3rver)', () => {
    let server: S3TestServer
    let bucket: string
    beforeAll(async () => {
      server = await startS3Server()
      bucket = await server.createBucket()
    })
    afterAll(async () => {
      await server?.stop()
    })
    const s3Store = (prefix: string) => ({ kind: 's3', endpoint: server.endpoint, bucket, prefix }) as const

    for (const processes of [2, 3, 6]) {
      it(`${processes} device processes whose agents send the whole conversation`, {
        timeout: 120_000,
      }, async () => {
        await writersThenFreshRestore(s3Store(`fresh-${processes}/`), 'shared', processes, 'null', S3_TURNS)
      })
    }

    it('3 device processes with small sliding windows', { timeout: 120_000 }, async () => {
      await writersThenFreshRestore(s3Store('fresh-window/'), 'shared', 3, 'window:6', S3_TURNS)
    })
  })
})
