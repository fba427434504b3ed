import { afterAll, beforeAll, describe, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { sessionRepositoryContract } from '../../src/testing/index.ts'
import { S3_TARGETS, type S3TestTarget, TARGET_START_TIMEOUT } from '../support/s3-targets.ts'

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3SessionRepository passes the SessionRepository contract (${target.name})`,
    () => {
      let server: S3TestTarget
      let bucket: string
      let cases = 0
      beforeAll(async () => {
        server = await target.start()
        bucket = await server.createBucket()
      }, TARGET_START_TIMEOUT)
      afterAll(() => server?.stop())

      // A fresh prefix per case is a fresh, empty store; every handle is a separate client, as two
      // devices would have. The default `conditionalWrites: 'auto'` picks the layout by probing.
      for (const contractCase of sessionRepositoryContract(() => {
        const prefix = `contract/case-${cases++}/`
        return () => new S3SessionRepository({ bucket, prefix, clientConfig: server.clientConfig() })
      })) {
        it(contractCase.name, contractCase.run)
      }
    },
  )
}
