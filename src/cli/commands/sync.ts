import { join } from 'node:path'
import { z } from 'zod'
import { FileSyncStateStore } from '../../storage/file-sync-state-store.ts'
import { SyncError } from '../../sync/sync-errors.ts'
import type { SyncStatus } from '../../sync/sync-status.ts'
import { SyncedSessionRepository } from '../../sync/synced-session-repository.ts'
import { defineCommand } from '../cli-command.ts'
import { UsageError } from '../cli-errors.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { ExitCode } from '../exit-codes.ts'
import { listAllSessions } from '../session-reading.ts'
import { openStore, openStoreFlag, parseStore } from '../store.ts'

/** Where an app's SyncedSessionRepository keeps its bookkeeping beside file sessions (docs/sync.md). */
export const SYNC_STATE_DIRECTORY = '.sync'

export const command = defineCommand({
  input: z.object({
    id: sessionId.optional(),
    ...storeFlags,
    remote: z.string().min(1, 'expected file:DIR or s3://BUCKET/PREFIX').optional(),
    remoteEndpoint: z.url({ error: 'expected a URL such as http://127.0.0.1:9000' }).optional(),
    status: z.boolean().default(false),
    recheck: z.boolean().default(false),
  }),

  async run(input, context) {
    const local = await openStoreFlag(input, context)
    if (local.spec.kind !== 'file') {
      throw new UsageError(
        `--store is the local copy and must be a directory (file:DIR), not ${local.label}.`,
      )
    }
    const remoteText = input.remote ?? context.env.TETHER_REMOTE
    if (!input.status && remoteText === undefined) {
      throw new UsageError('Name the store to sync with: --remote s3://BUCKET/PREFIX (or $TETHER_REMOTE).')
    }
    const remote =
      remoteText === undefined
        ? undefined
        : await openStore(parseStore(remoteText, context, input.remoteEndpoint))
    const repository = new SyncedSessionRepository({
      local: local.repository,
      // Status alone never touches the network: a remote is not needed for it.
      remote: remote?.repository ?? local.repository,
      state: new FileSyncStateStore({ directory: join(local.spec.directory, SYNC_STATE_DIRECTORY) }),
      autoSync: false,
    })
    let failure: string | undefined
    if (!input.status) {
      try {
        await repository.sync(input.id === undefined ? undefined : { sessionId: input.id }, {
          recheck: input.recheck,
        })
      } catch (error) {
        // Reported with the status below (and as exit 1): the local copies are intact.
        if (!(error instanceof SyncError)) throw error
        failure = error.message
      }
    }
    const ids =
      input.id === undefined
        ? (await listAllSessions(local.repository)).sessions.map((session) => session.sessionId)
        : [input.id]
    const sessions: SyncStatus[] = []
    for (const id of ids) sessions.push(await repository.syncStatus({ sessionId: id }))
    return {
      data: {
        store: local.label,
        remote: remote?.label ?? null,
        synced: !input.status && failure === undefined,
        ...(failure === undefined ? {} : { error: failure }),
        sessions,
      },
      exitCode: failure === undefined ? ExitCode.ok : ExitCode.failure,
    }
  },

  *render({ store, remote, synced, error, sessions }) {
    if (synced) yield `synced ${store} with ${remote}`
    if (error !== undefined) yield `sync failed: ${error}`
    if (sessions.length === 0) yield '(no sessions)'
    for (const session of sessions) {
      const pending = session.deletionPending
        ? 'deletion pending'
        : `${session.pendingMessages} messages pending${session.pendingUpdates > 0 ? `, ${session.pendingUpdates} updates pending` : ''}`
      yield `${session.sessionId}: ${pending}; last sync ${session.lastSyncAt ?? 'never'}`
      if (session.lastError) yield `  last error (${session.lastError.at}): ${session.lastError.message}`
      for (const agent of session.agents) {
        if (agent.lastConflict) {
          yield `  agent ${agent.agentId}: state conflict at ${agent.lastConflict.at}, kept the ${agent.lastConflict.kept} record`
        }
      }
    }
  },
})
