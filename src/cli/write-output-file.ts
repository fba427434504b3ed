import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { UsageError } from './cli-errors.ts'

/**
 * Writes a file the user named (`export --output`), private to them (0600) like the store it came
 * from. The content goes to a new temporary file beside the target first (created exclusively,
 * so nothing already there is opened or followed), fsynced, then given the target's name:
 * - without `force`, by `link`, which fails if the name exists in any form, a symlink included:
 *   an existing file is never overwritten and a planted symlink never followed;
 * - with `force`, by `rename`, which replaces the name itself: a symlink there is replaced, its
 *   target (perhaps a store's own record) is left alone.
 * A crash leaves the old file or the new one, never a torn one.
 */
export async function writeOutputFile(path: string, text: string, force: boolean): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`)
  const handle = await open(temp, 'wx', 0o600)
  try {
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    if (force) {
      await rename(temp, path)
      return
    }
    try {
      await link(temp, path)
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      throw outputExists(path)
    }
  } finally {
    await unlink(temp).catch(() => {
      // Already renamed into place (force), or never created: nothing to clean up.
    })
  }
}

export function outputExists(path: string): UsageError {
  return new UsageError(
    `${path} already exists; nothing was written. Pass --force to replace it, or pick another --output.`,
  )
}
