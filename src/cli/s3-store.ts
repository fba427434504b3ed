import { ConfigurationError } from '../errors/configuration-error.ts'
import type { SessionRepository } from '../session/session-repository.ts'
import type { StoreSpec } from './store.ts'

/**
 * Opens an `s3://` store. Its own module, imported only for S3 stores, so the CLI (and every file
 * store command) runs without the AWS SDK installed.
 */
export async function openS3Repository(spec: StoreSpec & { kind: 's3' }): Promise<SessionRepository> {
  let S3SessionRepository: typeof import('../storage/s3/index.ts').S3SessionRepository
  try {
    ;({ S3SessionRepository } = await import('../storage/s3/index.ts'))
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') {
      throw new ConfigurationError('s3:// stores need the AWS SDK for S3: npm install @aws-sdk/client-s3', {
        cause: error,
      })
    }
    throw error
  }
  return new S3SessionRepository({
    bucket: spec.bucket,
    ...(spec.prefix === '' ? {} : { prefix: spec.prefix }),
    // S3-compatible servers (MinIO, s3rver, Ceph) address buckets by path, not by host name.
    ...(spec.endpoint === undefined
      ? {}
      : { clientConfig: { endpoint: spec.endpoint, forcePathStyle: true } }),
  })
}
