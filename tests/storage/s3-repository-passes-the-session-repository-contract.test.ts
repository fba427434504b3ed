import { describe, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { sessionListingContract, sessionRepositoryContract } from '../../src/testing/index.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `S3SessionRepository passes the SessionRepository contract (${target.name})`,
    () => {
      const s3 = useS3Target(target)
      let cases = 0

      // A fresh prefix per case is a fresh, empty store; every handle is a separate client, as two
      // devices would have. The default `conditionalWrites: 'auto'` picks the layout by probing.
      const fresh = () => {
        const prefix = `contract/case-${cases++}/`
        return () =>
          new S3SessionRepository({ bucket: s3.bucket, prefix, clientConfig: s3.server.clientConfig() })
      }
      for (const contractCase of sessionRepositoryContract(fresh)) it(contractCase.name, contractCase.run)
      // The store's LastModified orders activity, and S3 stamps it to the second.
      for (const contractCase of sessionListingContract(fresh, { clockResolutionMs: 1000 })) {
        it.concurrent(contractCase.name, contractCase.run)
      }
    },
  )
}
