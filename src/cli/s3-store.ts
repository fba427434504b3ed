import { ConfigurationError } from '../errors/configuration-error.ts'
import type { SessionRepository } from '../session/session-repository.ts'
import type { StoreSpec } from './store.ts'

/** Placeholder until src/storage/s3 lands: the S3 repository is loaded from here, only for s3:// stores. */
export async function openS3Repository(spec: StoreSpec & { kind: 's3' }): Promise<SessionRepository> {
  throw new ConfigurationError(`s3://${spec.bucket} stores are not available in this build yet.`)
}
