import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { beforeAll, describe, expect, it } from 'vitest'
import { cephSkipNote, cephUnavailable, useCephCluster } from '../support/ceph-cluster.ts'

const statusOf = (error: unknown): number | undefined =>
  (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode

// The premise of the conditional-write mode, checked on the store the suites run against.
describe.skipIf(cephUnavailable() !== undefined)(
  `the test Ceph RGW enforces conditional writes${cephSkipNote()}`,
  () => {
    let client: S3Client
    let bucket: string
    beforeAll(async () => {
      const cluster = await useCephCluster()
      client = new S3Client(cluster.clientConfig())
      bucket = await cluster.createBucket()
    }, 150_000)

    it('If-None-Match: * refuses an existing key with 412; of 8 racers exactly one wins', async () => {
      const put = (key: string, body: string) =>
        client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, IfNoneMatch: '*' })).then(
          () => 'won',
          (error: unknown) => statusOf(error),
        )
      expect(await put('once', 'first')).toBe('won')
      expect(await put('once', 'second')).toBe(412)
      const outcomes = await Promise.all(Array.from({ length: 8 }, (_, i) => put('race', `racer ${i}`)))
      expect(outcomes.filter((outcome) => outcome === 'won')).toHaveLength(1)
      expect(outcomes.filter((outcome) => outcome === 412)).toHaveLength(7)
      const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'once' }))
      expect(await stored.Body?.transformToString()).toBe('first')
    })

    it('If-Match replaces only the version it names (ETag sent without quotes, as Ceph 16 needs)', async () => {
      const first = await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v1' }))
      const etag = (first.ETag ?? '').replaceAll('"', '')
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v2', IfMatch: etag }))
      const stale = await client
        .send(new PutObjectCommand({ Bucket: bucket, Key: 'cas', Body: 'v3', IfMatch: etag }))
        .then(() => 'written', statusOf)
      expect(stale).toBe(412)
      const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'cas' }))
      expect(await stored.Body?.transformToString()).toBe('v2')
    })
  },
)
