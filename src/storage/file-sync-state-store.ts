import * as fs from 'node:fs/promises'
import { dirname, join, sep } from 'node:path'
import { StorageError } from '../session/session-errors.ts'
import type { SyncStateStore } from '../sync/sync-state-store.ts'
import { DurableFiles, isErrno } from './durable-files.ts'

export interface FileSyncStateStoreOptions {
  /**
   * Where the bookkeeping lives, e.g. `join(sessionsDirectory, '.sync')`: a dot-named directory
   * inside a `FileSessionRepository` directory is never listed as a session.
   */
  directory: string
}

/**
 * Sync bookkeeping as one JSON file per key (`<directory>/<key>.json`), each written to a fsynced
 * temporary file and renamed over the old one: a kill -9 or power loss leaves the old document or
 * the new one, never a torn one. Keys are made of `encodeStorageName` segments, so none leaves
 * `directory`. Files and directories get the same permissions as the file repository's.
 */
export class FileSyncStateStore implements SyncStateStore {
  readonly directory: string
  readonly #files = new DurableFiles()

  constructor(options: FileSyncStateStoreOptions) {
    this.directory = options.directory
  }

  async read(key: string): Promise<string | null> {
    const path = this.#path(key)
    try {
      return await fs.readFile(path, 'utf8')
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return null
      throw new StorageError('read sync state', path, { cause: error })
    }
  }

  async write(key: string, text: string): Promise<void> {
    const path = this.#path(key)
    try {
      await this.#files.ensureDirectory(dirname(path))
      await this.#files.writeReplacing(path, text)
    } catch (error) {
      throw new StorageError('write sync state', path, { cause: error })
    }
  }

  async list(prefix: string): Promise<string[]> {
    const directory = join(this.directory, ...prefix.split('/').filter((part) => part !== ''))
    try {
      const names = await fs.readdir(directory)
      return names
        .filter((name) => name.endsWith('.json') && !name.startsWith('.'))
        .map((name) => `${prefix}${name.slice(0, -'.json'.length)}`)
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return []
      throw new StorageError('list sync state', directory, { cause: error })
    }
  }

  async remove(key: string): Promise<void> {
    const path = this.#path(key)
    try {
      await fs.rm(path, { force: true })
    } catch (error) {
      throw new StorageError('remove sync state', path, { cause: error })
    }
  }

  #path(key: string): string {
    const parts = key.split('/')
    if (parts.some((part) => part === '' || part === '.' || part === '..' || part.includes(sep))) {
      throw new StorageError('address sync state', key)
    }
    return `${join(this.directory, ...parts)}.json`
  }
}
