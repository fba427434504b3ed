import { TetherError, type TetherErrorOptions } from '../errors/tether-error.ts'

/**
 * Another writer got there first: the message index the caller expected to append at is taken.
 * Nothing was written by the call that threw. Re-read the session and try again.
 */
export class SessionConflictError extends TetherError {
  readonly sessionId: string
  readonly agentId: string
  readonly expectedIndex: number
  constructor(sessionId: string, agentId: string, expectedIndex: number) {
    super(
      'session-conflict',
      `Session "${sessionId}" (agent "${agentId}") moved on: message ${expectedIndex} was written by another writer. Re-read the session and retry.`,
    )
    this.sessionId = sessionId
    this.agentId = agentId
    this.expectedIndex = expectedIndex
  }
}

/** Which record a `DamagedRecordError` is about: it decides what a repair does with it. */
export type RecordKind = 'session' | 'agent' | 'message'

const REPAIR_ADVICE: Record<RecordKind, string> = {
  message:
    'Run repairSession() or `tether sessions repair SESSION` to keep it aside and put a placeholder in its place',
  agent:
    'A restore, repairSession() or `tether sessions repair SESSION` keeps it aside and resets the agent record; the messages stay',
  session: '`tether sessions repair SESSION` keeps it aside and rebuilds it; the messages stay',
}

/** Without a `kind`: a message when an index is known, else told by the record's file or key name. */
function guessKind(location: string, index: number | undefined): RecordKind {
  if (index !== undefined) return 'message'
  if (/agent\.json$/.test(location)) return 'agent'
  if (/session\.json$/.test(location)) return 'session'
  return 'message'
}

/**
 * A stored record could not be read back as valid data (truncated, garbage bytes, wrong shape).
 * `location` names the file or object, `kind` which record it is (a message when `index` is set).
 * A repair keeps the bytes aside and replaces the record, so the rest of the session stays usable.
 */
export class DamagedRecordError extends TetherError {
  readonly location: string
  readonly index: number | undefined
  readonly reason: string
  readonly kind: RecordKind
  constructor(
    location: string,
    reason: string,
    index?: number,
    options?: TetherErrorOptions & { kind?: RecordKind },
  ) {
    const kind = options?.kind ?? guessKind(location, index)
    super(
      'damaged-record',
      `Damaged ${kind} record at ${location}: ${reason}. ${REPAIR_ADVICE[kind]}.`,
      options,
    )
    this.location = location
    this.reason = reason
    this.index = index
    this.kind = kind
  }
}

/** A record was written by a newer version of tether-agents than this one. Nothing was changed. */
export class UnsupportedSchemaVersionError extends TetherError {
  readonly location: string
  readonly found: number
  readonly supported: readonly number[]
  constructor(location: string, found: number, supported: readonly number[]) {
    super(
      'unsupported-schema-version',
      `${location} has schemaVersion ${found}; this tether-agents reads ${supported.join(', ')}. Upgrade tether-agents to read it.`,
    )
    this.location = location
    this.found = found
    this.supported = supported
  }
}

/** The storage itself failed (permission, disk full, network). `operation` and `location` say where. */
export class StorageError extends TetherError {
  readonly operation: string
  readonly location: string
  constructor(operation: string, location: string, options?: TetherErrorOptions) {
    const detail = options?.cause instanceof Error ? `: ${options.cause.message}` : ''
    super('storage', `Could not ${operation} ${location}${detail}`, options)
    this.operation = operation
    this.location = location
  }
}

/** The record an update named does not exist. */
export class RecordNotFoundError extends TetherError {
  readonly location: string
  constructor(location: string) {
    super('record-not-found', `No record at ${location}.`)
    this.location = location
  }
}
