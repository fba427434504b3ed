import type { Logger } from '../../logging/logger.ts'
import { StorageError } from '../../session/session-errors.ts'
import { encodeStorageName } from '../storage-name.ts'
import type { S3ObjectStore } from './s3-object-store.ts'

/**
 * When each session was last active, for `updatedAt` and newest-first listing on S3.
 *
 * S3 can list keys in name order only, and a session's own objects are spread over its folder, so
 * finding the most recently active sessions would mean reading every session's record. Instead
 * each session has one empty object, `<prefix>activity/<session>`, written again whenever the
 * session is active: LIST `activity/` returns every session's last activity (the store's
 * LastModified, its own clock) 1,000 sessions a request.
 *
 * Cost: creating and updating a session write it once more (in parallel with the record). An
 * append writes it only if this repository object has not done so for that session within
 * `interval` ms, so a turn adds at most one PUT, and a busy session one PUT a minute per process.
 * `updatedAt` on S3 is therefore exact to `interval`, and to the second (a HEAD's Last-Modified is
 * an HTTP date, which has no finer unit).
 */
export class S3SessionActivity {
  readonly #store: S3ObjectStore
  readonly #root: string
  readonly #interval: number
  readonly #logger: Logger
  /** When this object last wrote each session's activity (ms since epoch), oldest first. */
  readonly #touched = new Map<string, number>()

  constructor(store: S3ObjectStore, prefix: string, interval: number, logger: Logger) {
    this.#store = store
    this.#root = `${prefix}activity/`
    this.#interval = interval
    this.#logger = logger
  }

  key(sessionId: string): string {
    return `${this.#root}${encodeStorageName(sessionId, 'session ID')}`
  }

  /** Marks the session active now (creation, title or metadata update). Failures are thrown. */
  async mark(sessionId: string): Promise<void> {
    await this.#store.put(this.key(sessionId), '-\n')
  }

  /**
   * Marks the session active after an append, unless this object did so within the interval. A
   * failed write is logged and tried again at the next append, not thrown: the message itself was
   * stored (or failed on its own), and the append must not be reported failed for a timestamp.
   */
  async afterAppend(sessionId: string): Promise<void> {
    const last = this.#touched.get(sessionId)
    const now = Date.now()
    if (last !== undefined && now - last < this.#interval) return
    this.#touched.delete(sessionId)
    this.#touched.set(sessionId, now)
    // Bounded: a process that touches many sessions forgets the oldest (which then costs one PUT more).
    const oldest = this.#touched.keys().next().value
    if (this.#touched.size > 10_000 && oldest !== undefined) this.#touched.delete(oldest)
    try {
      await this.mark(sessionId)
    } catch (error) {
      if (!(error instanceof StorageError)) throw error
      this.#touched.delete(sessionId)
      this.#logger.warn('could not record session activity; tried again at the next append', {
        sessionId,
        error: error.message,
      })
    }
  }

  /** When the session was last marked active, or null if never (a session written before 0.2). */
  lastActive(sessionId: string): Promise<Date | null> {
    return this.#store.lastModified(this.key(sessionId))
  }

  /** Every session's last activity, by folder name: one LIST per 1,000 sessions. */
  async all(): Promise<Map<string, Date>> {
    const activity = new Map<string, Date>()
    let startAfter: string | undefined
    for (;;) {
      const page = await this.#store.list(this.#root, startAfter === undefined ? {} : { startAfter })
      for (const [i, key] of page.keys.entries()) {
        activity.set(key.slice(this.#root.length), page.modified[i] ?? new Date(0))
      }
      startAfter = page.keys.at(-1)
      if (!page.truncated || startAfter === undefined) return activity
    }
  }

  /** After a delete: the next append marks the session again. */
  forget(sessionId: string): void {
    this.#touched.delete(sessionId)
  }
}
