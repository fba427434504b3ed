import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { seal } from '../../src/storage/sealed-row.ts'
import { encodeStorageName } from '../../src/storage/storage-name.ts'

/** A record inside a file session's database (format 2): an agent record or a message. */
export type StoredRow = { agent: string } | { agent: string; message: number }

function where(row: StoredRow): {
  table: string
  sql: string
  values: (string | number)[]
  kind: string
  key: string
} {
  if ('message' in row) {
    return {
      table: 'messages',
      sql: 'agent_id = ? AND idx = ?',
      values: [row.agent, row.message],
      kind: 'message',
      key: JSON.stringify([row.agent, row.message]),
    }
  }
  return { table: 'agents', sql: 'agent_id = ?', values: [row.agent], kind: 'agent', key: row.agent }
}

function withDatabase<T>(directory: string, sessionId: string, work: (db: DatabaseSync) => T): T {
  const db = new DatabaseSync(join(directory, encodeStorageName(sessionId), 'session.db'))
  try {
    return work(db)
  } finally {
    db.close()
  }
}

/** The stored bytes of a record, as text. */
export function readRow(directory: string, sessionId: string, row: StoredRow): string {
  const { table, sql, values } = where(row)
  return withDatabase(directory, sessionId, (db) => {
    const found = db.prepare(`SELECT record FROM ${table} WHERE ${sql}`).get(...values)
    if (!(found?.record instanceof Uint8Array)) throw new Error(`no ${table} row for ${JSON.stringify(row)}`)
    return Buffer.from(found.record).toString('utf8')
  })
}

/**
 * Writes a record's bytes behind the repository's back. `resealed` recomputes the row's SHA-256
 * (an unkeyed checksum anyone with write access can recompute, as an attacker would), so only
 * what lies above the file format (encryption) can refuse the bytes; without it the row is damage.
 */
export function writeRow(
  directory: string,
  sessionId: string,
  row: StoredRow,
  text: string,
  { resealed }: { resealed: boolean },
): void {
  const { table, sql, values, kind, key } = where(row)
  const bytes = Buffer.from(text, 'utf8')
  withDatabase(directory, sessionId, (db) => {
    const changed = resealed
      ? db
          .prepare(`UPDATE ${table} SET record = ?, checksum = ? WHERE ${sql}`)
          .run(bytes, seal(kind, key, bytes), ...values)
      : db.prepare(`UPDATE ${table} SET record = ? WHERE ${sql}`).run(bytes, ...values)
    if (changed.changes !== 1) throw new Error(`no ${table} row for ${JSON.stringify(row)}`)
  })
}
