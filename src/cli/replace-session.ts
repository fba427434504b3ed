import { mkdtemp, open, rename, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeStorageName } from '../storage/storage-name.ts'
import { ReplaceFailedError } from './cli-errors.ts'
import type { Progress } from './progress.ts'
import { standInRecord } from './recover-records.ts'
import { exportAsJson, type SessionExport } from './session-export.ts'
import { type OpenStore, openStore } from './store.ts'
import { readSessionExport, writeSessionInto } from './transfer-session.ts'
import { writeOutputFile } from './write-output-file.ts'

type Written = { agents: number; messages: number }

/**
 * `--replace`: the destination changes only once the new copy is complete.
 *
 * File stores: the new copy is written whole into a hidden staging folder of the same store (same
 * file system), then swapped in by two renames; the old copy is renamed aside first and removed
 * only after the new one holds the name. A failure or crash while writing (a full disk, a kill)
 * leaves the original untouched. A crash between the two renames leaves both copies, the old one
 * under `.replaced-<name>-…` in the store: `mv` it back by hand (docs/cli.md).
 *
 * Other stores (S3) cannot rename a session: the current copy is first saved as an export file
 * (0600, path printed by the error), then replaced; if writing the new copy fails, the saved copy
 * is written back. The saved file is removed only after success.
 */
export async function replaceSession(
  store: OpenStore,
  data: SessionExport,
  progress?: Progress,
): Promise<Written> {
  return store.spec.kind === 'file'
    ? replaceInDirectory(store, store.spec.directory, data, progress)
    : replaceWithSavedCopy(store, data, progress)
}

async function replaceInDirectory(
  store: OpenStore,
  root: string,
  data: SessionExport,
  progress?: Progress,
): Promise<Written> {
  const name = encodeStorageName(data.session.sessionId, 'session ID')
  // mkdtemp: a fresh 0700 folder; the dot keeps listings (and other commands) from seeing it.
  const staging = await mkdtemp(join(root, `.staging-${name.slice(0, 40)}-`))
  try {
    const staged = await openStore(
      { kind: 'file', directory: staging },
      store.keyFile === undefined ? {} : { keyFile: store.keyFile },
    )
    const written = await writeSessionInto(staged.repository, data, progress)
    const target = join(root, name)
    const old = join(root, `.replaced-${name}-${process.pid}-${Date.now()}`)
    await rename(target, old)
    try {
      await rename(join(staging, name), target)
    } catch (error) {
      await rename(old, target)
      throw error
    }
    // Both renames must survive a power loss before the old copy goes.
    await syncDirectory(root)
    await rm(old, { recursive: true, force: true })
    return written
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function replaceWithSavedCopy(
  store: OpenStore,
  data: SessionExport,
  progress?: Progress,
): Promise<Written> {
  const { sessionId } = data.session
  const current = (await store.repository.readSession({ sessionId })) ?? standInRecord(sessionId)
  const saved = await readSessionExport(store.repository, current)
  const path = join(
    tmpdir(),
    `tether-replaced-${encodeStorageName(sessionId).slice(0, 40)}-${Date.now()}.json`,
  )
  await writeOutputFile(path, `${exportAsJson(saved).join('\n')}\n`, false)
  await store.repository.deleteSession({ sessionId })
  let written: Written
  try {
    written = await writeSessionInto(store.repository, data, progress)
  } catch (error) {
    const restore = `tether sessions import ${path} --replace --store ${store.label}`
    try {
      await store.repository.deleteSession({ sessionId })
      await writeSessionInto(store.repository, saved)
    } catch {
      throw new ReplaceFailedError(
        `Replacing session "${sessionId}" failed and the original could not be written back; it is saved at ${path}: ${restore}`,
        { cause: error },
      )
    }
    throw new ReplaceFailedError(
      `Replacing session "${sessionId}" failed; the original was written back (a copy stays at ${path}).`,
      { cause: error },
    )
  }
  await rm(path, { force: true })
  return written
}

async function syncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
