import { DeleteObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runTether } from '../support/cli-run.ts'
import { seedChat } from '../support/cli-seed-sessions.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3RVER_CREDENTIALS, type S3TestServer, startS3Server } from '../support/s3-server.ts'

let server: S3TestServer
beforeAll(async () => {
  server = await startS3Server()
})
afterAll(() => server.stop())

describe('an S3 delete that raced a writer leaves nothing the CLI cannot remove', () => {
  it('leftovers without a session record are removed by delete, and a reused ID starts empty', async () => {
    const bucket = await server.createBucket()
    const repository = new S3SessionRepository({
      bucket,
      prefix: 'tether',
      clientConfig: server.clientConfig(),
    })
    await seedChat(repository, 'ghost', 2)
    // What a delete racing an append leaves: the session record gone, the agent's objects not.
    const raw = rawBucket(server.clientConfig(), bucket)
    const record = (await raw.keys('tether/')).find((key) => key.endsWith('/ghost/session.json'))
    expect(record).toBeDefined()
    const client = new S3Client({ ...server.clientConfig(), requestChecksumCalculation: 'WHEN_REQUIRED' })
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: record }))
    const leftovers = (await raw.keys('tether/')).filter((key) => key.includes('/ghost/'))
    expect(leftovers.length).toBeGreaterThan(0)

    const store = ['--store', `s3://${bucket}/tether`, '--endpoint', server.endpoint]
    const env = {
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
    }
    const show = await runTether(['sessions', 'show', 'ghost', ...store], { env })
    expect(show.code).toBe(1)
    const deleted = await runTether(['sessions', 'delete', 'ghost', ...store], { env })
    expect(deleted.code, deleted.stderr).toBe(0)
    expect(deleted.stdout).toContain('it had no session record; removed what was stored under the ID')
    expect((await raw.keys('tether/')).filter((key) => key.includes('/ghost/'))).toEqual([])

    // The ID reused: none of the old history comes back.
    await repository.createSession({ sessionId: 'ghost' })
    expect(await repository.countMessages({ sessionId: 'ghost', agentId: 'default' })).toBe(0)

    const absent = await runTether(['sessions', 'delete', 'never-was', ...store], { env })
    expect(absent.code).toBe(1)
    expect(absent.stderr).toContain('`tether sessions delete never-was --force` removes whatever is left')
  }, 60_000)
})
