import { afterAll, beforeAll, describe, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { sessionRepositoryContract } from '../../src/testing/index.ts'
import { type S3TestServer, startS3Server } from '../support/s3-server.ts'

describe('S3SessionRepository passes the SessionRepository contract (s3rver on loopback)', () => {
  let server: S3TestServer
  let bucket: string
  let cases = 0
  beforeAll(async () => {
    server = await startS3Server()
    bucket = await server.createBucket()
  })
  afterAll(() => server.stop())

  // A fresh prefix per case is a fresh, empty store; every handle is a separate client, as two
  // devices would have.
  for (const contractCase of sessionRepositoryContract(() => {
    const prefix = `contract/case-${cases++}/`
    return () => new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
  })) {
    it(contractCase.name, contractCase.run)
  }
})
