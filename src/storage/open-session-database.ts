import { ConfigurationError } from '../errors/configuration-error.ts'
import { SessionDatabase } from './session-database.ts'

type Sqlite = typeof import('node:sqlite')
let sqlite: Promise<Sqlite> | undefined

/**
 * Opens an existing session database file. `node:sqlite` is loaded on first use, so importing
 * tether-agents never needs it; a Node.js without it gets a ConfigurationError saying what to do.
 */
export async function openSessionDatabase(path: string): Promise<SessionDatabase> {
  sqlite ??= import('node:sqlite').catch((error: unknown) => {
    sqlite = undefined
    throw new ConfigurationError(
      'FileSessionRepository needs the built-in node:sqlite module (Node.js 22.13 or later, or 23.4 or later). Upgrade Node.js.',
      { cause: error },
    )
  })
  const { DatabaseSync } = await sqlite
  // timeout 0: a locked database fails at once with SQLITE_BUSY and the repository retries after
  // an asynchronous pause, instead of SQLite sleeping on (and blocking) the event loop.
  const db = new DatabaseSync(path, { timeout: 0 })
  try {
    // Per connection: FULL makes every commit fsync the WAL (durable when it returns);
    // secure_delete zeroes the space a replaced or deleted record occupied; checkpoints every 256
    // pages keep the WAL under about 1 MB, which a new connection reads whole to check it.
    db.exec('PRAGMA synchronous=FULL; PRAGMA secure_delete=ON; PRAGMA wal_autocheckpoint=256')
    // macOS fsync does not flush the drive's cache; F_FULLFSYNC does.
    if (process.platform === 'darwin') db.exec('PRAGMA fullfsync=ON; PRAGMA checkpoint_fullfsync=ON')
  } catch (error) {
    db.close()
    throw error
  }
  return new SessionDatabase(db, path)
}
