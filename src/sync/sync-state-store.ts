/**
 * Where a `SyncedSessionRepository` keeps its bookkeeping: small JSON documents under string keys
 * (`agents/<session>/<agent>`, `deletions/<session>`). Each write replaces one document whole and
 * atomically: a reader sees the old or the new text, never a mix. `FileSyncStateStore` keeps them
 * as files beside the local sessions; `MemorySyncStateStore` keeps them for the process only.
 *
 * The bookkeeping is a hint that only ever errs on the safe side (see docs/sync.md): losing it
 * costs one full comparison of local and remote histories at the next sync, never a message.
 */
export interface SyncStateStore {
  read(key: string): Promise<string | null>
  /** Replaces the document at `key` atomically and durably (it survives a crash once resolved). */
  write(key: string, text: string): Promise<void>
  /** The keys directly under `prefix` (a key ending in `/`), in any order. */
  list(prefix: string): Promise<string[]>
  /** Removes the document; an absent one is a no-op. */
  remove(key: string): Promise<void>
}

/** Bookkeeping for the life of the process: after a restart, the first sync compares whole histories. */
export class MemorySyncStateStore implements SyncStateStore {
  readonly #documents = new Map<string, string>()

  async read(key: string): Promise<string | null> {
    return this.#documents.get(key) ?? null
  }

  async write(key: string, text: string): Promise<void> {
    this.#documents.set(key, text)
  }

  async list(prefix: string): Promise<string[]> {
    return [...this.#documents.keys()].filter(
      (key) => key.startsWith(prefix) && !key.slice(prefix.length).includes('/'),
    )
  }

  async remove(key: string): Promise<void> {
    this.#documents.delete(key)
  }
}
