import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'

/** The file-system calls durable writes make; tests substitute failing ones to prove each step. */
export interface FileOperations {
  open: typeof fs.open
  link: typeof fs.link
  rename: typeof fs.rename
  unlink: typeof fs.unlink
  mkdir: typeof fs.mkdir
}

export const nodeFileOperations: FileOperations = {
  open: fs.open,
  link: fs.link,
  rename: fs.rename,
  unlink: fs.unlink,
  mkdir: fs.mkdir,
}

let tempCounter = 0

/**
 * Crash-safe file writes, in the manner of write-file-atomic, plus an exclusive publish.
 * What each step guards against is said where it happens.
 */
export class DurableFiles {
  readonly ops: FileOperations

  constructor(ops: FileOperations = nodeFileOperations) {
    this.ops = ops
  }

  /**
   * Writes `data` to a new temporary file beside `target` and fsyncs it. The name is unique per
   * process and call (pid, counter, random): a fixed `.tmp` name lets two writers truncate each
   * other's half-written file. The dot prefix keeps readers and listings from ever seeing it.
   * On any failure the temporary file is removed before the error propagates.
   */
  async writeTemp(target: string, data: string | Uint8Array): Promise<string> {
    const temp = join(
      dirname(target),
      `.${basename(target)}.${process.pid}.${tempCounter++}.${randomBytes(4).toString('hex')}.tmp`,
    )
    let written = false
    try {
      // 'wx': never reuse an existing file, even if the unique name somehow collided.
      const handle = await this.ops.open(temp, 'wx', 0o600)
      try {
        await handle.writeFile(data)
        // The data must be on disk before any name points at it; otherwise a power loss after the
        // rename/link can leave a complete-looking name over empty or partial blocks.
        await handle.sync()
      } finally {
        await handle.close()
      }
      written = true
      return temp
    } finally {
      if (!written) await this.removeQuietly(temp)
    }
  }

  /**
   * Gives the fsynced temp file its final name only if that name is free (`link` fails with
   * EEXIST otherwise, atomically: two racing writers cannot both win). Returns false when taken,
   * leaving the temp file for the caller to retry or remove. Readers see the whole record or
   * nothing, never a torn write.
   */
  async publishExclusive(temp: string, target: string): Promise<boolean> {
    try {
      await this.ops.link(temp, target)
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return false
      // Any other failure ends this attempt: nothing was published, so the temp file must not stay.
      await this.removeQuietly(temp)
      throw error
    }
    await this.removeQuietly(temp)
    // Makes the new directory entry survive a power loss; without it the link may vanish.
    await this.syncDirectory(dirname(target))
    return true
  }

  /** Replaces `target` with the fsynced temp file in one atomic rename (readers see old or new). */
  async replace(temp: string, target: string): Promise<void> {
    try {
      await this.ops.rename(temp, target)
    } catch (error) {
      await this.removeQuietly(temp)
      throw error
    }
    await this.syncDirectory(dirname(target))
  }

  /** Writes `data` to `target`, replacing it atomically and durably. */
  async writeReplacing(target: string, data: string | Uint8Array): Promise<void> {
    await this.replace(await this.writeTemp(target, data), target)
  }

  /** Writes `data` to `target` only if `target` does not exist; returns false if it did. */
  async writeExclusive(target: string, data: string): Promise<boolean> {
    const temp = await this.writeTemp(target, data)
    const published = await this.publishExclusive(temp, target)
    if (!published) await this.removeQuietly(temp)
    return published
  }

  /**
   * Creates a directory if missing and makes its entry durable in the parent. Mode 0700: session
   * and agent directory names are IDs, and other local users must not even list them (files are
   * 0600, see writeTemp).
   */
  async ensureDirectory(path: string): Promise<void> {
    try {
      await this.ops.mkdir(path, { mode: 0o700 })
    } catch (error) {
      if (isErrno(error, 'EEXIST')) return
      if (isErrno(error, 'ENOENT')) {
        await this.ensureDirectory(dirname(path))
        return this.ensureDirectory(path)
      }
      throw error
    }
    await this.syncDirectory(dirname(path))
  }

  async syncDirectory(path: string): Promise<void> {
    // Windows cannot open a directory for fsync, and NTFS journals the entry itself.
    if (process.platform === 'win32') return
    const handle = await this.ops.open(path, 'r')
    try {
      await handle.sync()
    } finally {
      await handle.close()
    }
  }

  /** Cleanup after a failure: a missing file is fine, and a cleanup error must not hide the first one. */
  async removeQuietly(path: string): Promise<void> {
    try {
      await this.ops.unlink(path)
    } catch {
      // Intentionally ignored: this runs only on paths already failing or done; the temp name is
      // dot-prefixed, so a leftover is never read as data.
    }
  }
}

export function isErrno(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code
}
