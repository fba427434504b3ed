import { request } from 'node:http'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

let server: S3TestServer
beforeAll(async () => {
  server = await startS3Server()
})
afterAll(() => server?.stop())

// The S3 suites rely on what every real store guarantees: a PUT replaces an object whole or not
// at all. s3rver on its own wrote the body straight into the object's file, so an upload cut
// mid-body left the key torn (the sync chaos test's rare failure: an empty session.json). The test
// server makes PUTs whole (tests/support/s3-server-process.mjs); this checks that it does.
it('an upload cut mid-body leaves the object as it was (the s3rver test double, as real stores do)', async () => {
  const bucket = await server.createBucket()
  const client = new S3Client(server.clientConfig())
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: 'record.json', Body: '{"whole":true}\n' }))
  const { port } = new URL(server.endpoint)
  await new Promise<void>((resolve) => {
    const upload = request({
      host: '127.0.0.1',
      port: Number(port),
      method: 'PUT',
      path: `/${bucket}/record.json`,
      headers: { 'content-length': '1000', 'content-type': 'application/json' },
    })
    upload.on('error', () => resolve())
    upload.on('close', () => resolve())
    upload.write('{"torn":', () => setTimeout(() => upload.destroy(), 100))
  })
  await new Promise((resolve) => setTimeout(resolve, 100))
  const stored = await client.send(new GetObjectCommand({ Bucket: bucket, Key: 'record.json' }))
  expect(await stored.Body?.transformToString()).toBe('{"whole":true}\n')
})
