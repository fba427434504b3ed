/**
 * `tether-agents/s3`: sessions in S3 or any S3-compatible store. Needs `@aws-sdk/client-s3` (an
 * optional peer dependency), which is why it lives behind its own subpath.
 */

export { DEFAULT_RETRY_POLICY, type RetryPolicy } from './s3-retry-policy.ts'
export { S3SessionRepository, type S3SessionRepositoryOptions } from './s3-session-repository.ts'
