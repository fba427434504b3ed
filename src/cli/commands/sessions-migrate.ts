import { z } from 'zod'
import { FileSessionRepository } from '../../storage/file-session-repository.ts'
import { defineCommand } from '../cli-command.ts'
import { UsageError } from '../cli-errors.ts'
import { storeFlags } from '../cli-schemas.ts'
import { listAllSessions } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'

/**
 * `tether sessions migrate`: moves every file session still in format 1 (a JSON file per record)
 * to format 2 (one database per session). Safe to repeat and to interrupt: each session is copied
 * aside, fsynced and published in one exclusive step before its old files are removed.
 */
export const command = defineCommand({
  input: z.object({ ...storeFlags }),

  async run(input, context) {
    const store = await openStoreFlag(input, context)
    if (store.spec.kind !== 'file') {
      throw new UsageError(
        `${store.label} is not a file store; only file stores have an older format to migrate.`,
      )
    }
    // The file repository itself, also under --key-file: migration moves records as they are
    // (sealed or not) and opens none of them.
    const repository = new FileSessionRepository({ directory: store.spec.directory })
    const { sessions, unreadable } = await listAllSessions(repository)
    let migrated = 0
    for (const { sessionId } of sessions) {
      if ((await repository.migrateSession({ sessionId })) === 'migrated') migrated++
    }
    return {
      data: {
        store: store.label,
        migrated,
        alreadyCurrent: sessions.length - migrated,
        unreadable: unreadable.map(({ location, reason }) => ({ location, reason })),
      },
    }
  },

  render: ({ store, migrated, alreadyCurrent, unreadable }) => [
    `${store}: migrated ${migrated} session(s); ${alreadyCurrent} already current`,
    ...unreadable.map(({ location, reason }) => `not migrated (unreadable): ${location}: ${reason}`),
  ],
})
