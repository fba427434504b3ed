import type { SessionRecord } from './session-records.ts'
import type { SessionRef, SessionRepository } from './session-repository.ts'

/**
 * A repository that can rebuild its own damaged session record (the file and S3 repositories):
 * the damaged bytes are kept aside first, then a fresh record (no title or metadata, creation time
 * now) replaces it. Agents and messages are untouched. `keptAs` is absent when the record read
 * intact and nothing was replaced.
 */
export interface SessionRecordRecovery {
  recoverSessionRecord(ref: SessionRef): Promise<{ record: SessionRecord; keptAs?: string }>
}

export function canRecoverSessionRecord(
  repository: SessionRepository | object,
): repository is SessionRecordRecovery {
  return typeof (repository as Partial<SessionRecordRecovery>).recoverSessionRecord === 'function'
}
