import { z } from 'zod'
import { TetherError } from '../../errors/tether-error.ts'
import { DamagedRecordError } from '../../session/session-errors.ts'
import type { SessionRecord } from '../../session/session-records.ts'
import type { UnreadableSession } from '../../session/session-repository.ts'
import { defineCommand } from '../cli-command.ts'
import { UsageError } from '../cli-errors.ts'
import { httpUrl, sessionId, storeFlags } from '../cli-schemas.ts'
import { sessionIdFromLocation } from '../decode-storage-name.ts'
import { ExitCode } from '../exit-codes.ts'
import { startProgress } from '../progress.ts'
import { readSessionTolerant, standInRecord } from '../recover-records.ts'
import { listAllSessions, sessionNotFound } from '../session-reading.ts'
import { type OpenStore, openStoreFlag } from '../store.ts'
import { countSessionMessages, readSessionExport, writeSessionExport } from '../transfer-session.ts'

export const command = defineCommand({
  input: z.object({
    id: sessionId.optional(),
    all: z.boolean().default(false),
    ...storeFlags,
    to: z.string({ error: 'the destination store is required, e.g. --to s3://BUCKET/PREFIX' }).min(1),
    toEndpoint: httpUrl('http://127.0.0.1:9000').optional(),
    replace: z.boolean().default(false),
  }),

  async run(input, context) {
    if ((input.id === undefined) === !input.all) {
      throw new UsageError('Name one session to copy, or pass --all: tether sessions copy ID --to STORE')
    }
    const source = await openStoreFlag(input, context, { mustExist: true })
    // With --key-file both sides use the keys: decrypted data never lands in a plaintext store.
    // Without, sealed records are copied as they are (still bound to the same session and index).
    const destination = await openStoreFlag(
      { store: input.to, endpoint: input.toEndpoint, keyFile: input.keyFile },
      context,
    )
    if (source.label === destination.label) {
      throw new UsageError(`--to names the store the sessions are in (${source.label}); pick another.`)
    }
    const listing =
      input.id === undefined
        ? await listAllSessions(source.repository)
        : { sessions: [await readForCopy(source, input.id)], unreadable: [] }
    const sessions: SessionRecord[] = listing.sessions
    // A session whose own record is damaged is still copied (a backup must not leave it out): its
    // ID is known from where the record lives, and the copy gets a new record.
    const standIns = new Set<string>()
    const unreadable: UnreadableSession[] = []
    for (const entry of listing.unreadable) {
      const id = sessionIdFromLocation(entry.location)
      const found = id === undefined ? undefined : await readSessionTolerant(source, id)
      if (id !== undefined && found?.problem instanceof DamagedRecordError) {
        sessions.push(standInRecord(id))
        standIns.add(id)
      } else unreadable.push(entry)
    }
    // One session: progress in messages, as they are written. Many: in sessions (counting every
    // message first would read everything twice).
    const perMessage = input.id !== undefined
    const progress = perMessage
      ? await startProgress(
          context,
          'Copying messages',
          await countSessionMessages(source.repository, input.id ?? ''),
        )
      : await startProgress(context, 'Copying sessions', sessions.length)
    const copied: { sessionId: string; agents: number; messages: number; note?: string }[] = []
    // A session whose record cannot be read cannot be copied: reported with the others that failed.
    const failed: { sessionId: string; problem: string }[] = unreadable.map(({ location, reason }) => ({
      sessionId: location,
      problem: reason,
    }))
    try {
      for (const session of sessions) {
        try {
          const document = await readSessionExport(source.repository, session)
          const written = await writeSessionExport(destination, document, {
            replace: input.replace,
            ...(perMessage ? { progress } : {}),
          })
          copied.push({
            sessionId: session.sessionId,
            ...written,
            ...(standIns.has(session.sessionId)
              ? { note: 'its session record was damaged; copied with a new one' }
              : {}),
          })
        } catch (error) {
          // With --all, one bad session is reported and the rest still copied; alone, it is the error.
          if (input.id !== undefined || !TetherError.isInstance(error)) throw error
          failed.push({ sessionId: session.sessionId, problem: error.message })
        }
        if (!perMessage) progress.advance()
      }
    } finally {
      progress.stop()
    }
    return {
      data: { from: source.label, to: destination.label, copied, failed },
      exitCode: failed.length > 0 ? ExitCode.failure : ExitCode.ok,
    }
  },

  render({ from, to, copied, failed }) {
    const messages = copied.reduce((sum, session) => sum + session.messages, 0)
    const lines = [
      `copied ${copied.length} session${copied.length === 1 ? '' : 's'} (${messages} messages) from ${from} to ${to}`,
    ]
    for (const session of copied) if (session.note) lines.push(`copied ${session.sessionId}: ${session.note}`)
    for (const failure of failed) lines.push(`not copied: ${failure.sessionId}: ${failure.problem}`)
    return lines
  },
})

/** One session to copy: a damaged session record stands in as a new one (copy only reads). */
async function readForCopy(store: OpenStore, sessionId: string): Promise<SessionRecord> {
  const found = await readSessionTolerant(store, sessionId)
  if (found.record) return found.record
  if (found.problem instanceof DamagedRecordError) return standInRecord(sessionId)
  if (found.problem) throw found.problem
  throw sessionNotFound(store, sessionId)
}
