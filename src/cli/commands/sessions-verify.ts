import { z } from 'zod'
import { TetherError } from '../../errors/tether-error.ts'
import type { Repair } from '../../session/plan-history-repair.ts'
import { repairSession } from '../../session/repair-session.ts'
import type { SessionRepository } from '../../session/session-repository.ts'
import { SEALED_PREFIX } from '../../storage/sealed-envelope.ts'
import { defineCommand } from '../cli-command.ts'
import { storeFlags } from '../cli-schemas.ts'
import { ExitCode } from '../exit-codes.ts'
import { startProgress } from '../progress.ts'
import { findLeftoverSessions } from '../recover-records.ts'
import { STORAGE_REPAIRS } from '../repair-kinds.ts'
import { listAllSessions } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'
import { renderTable } from '../table.ts'

export interface VerifiedSession {
  sessionId: string
  /**
   * `damaged`: `repair` would change it; `unreadable`: a record this tether cannot read (damaged,
   * newer, or failing decryption); `leftover`: records stored under an ID with no session record.
   */
  status: 'ok' | 'damaged' | 'unreadable' | 'leftover'
  /** Everything the dry-run repair found, notes included. */
  findings: (Repair & { agentId: string })[]
  problem?: string
}

export const command = defineCommand({
  input: z.object({ ...storeFlags }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    const { sessions: records, unreadable } = await listAllSessions(store.repository)
    const progress = await startProgress(context, 'Verifying sessions', records.length)
    const sessions: VerifiedSession[] = unreadable.map(({ location, reason }) => ({
      sessionId: location,
      status: 'unreadable',
      findings: [],
      problem: reason,
    }))
    for (const leftover of await findLeftoverSessions(store)) {
      sessions.push({
        sessionId: leftover.sessionId,
        status: 'leftover',
        findings: [],
        problem: leftover.problem,
      })
    }
    // Without keys, sealed records can be checked for structure only: say so instead of a bare "ok".
    const spotter = store.keyFile === undefined ? spotSealedRecords(store.repository) : undefined
    const sealedUnchecked: string[] = []
    try {
      for (const { sessionId } of records) {
        sessions.push(await verify(spotter?.repository ?? store.repository, sessionId))
        if (spotter?.take()) sealedUnchecked.push(sessionId)
        progress.advance()
      }
    } finally {
      progress.stop()
    }
    const bad = sessions.filter((session) => session.status !== 'ok').length
    return {
      data: { store: store.label, checked: sessions.length, bad, sessions, sealedUnchecked },
      exitCode: bad > 0 ? ExitCode.damaged : ExitCode.ok,
    }
  },

  render({ store, checked, bad, sessions, sealedUnchecked }) {
    const rows = sessions
      .filter((session) => session.status !== 'ok')
      .map((session) => [
        session.sessionId,
        session.status,
        session.problem ??
          session.findings
            .filter((finding) => STORAGE_REPAIRS.has(finding.kind))
            .map((finding) => `#${finding.index} ${finding.kind}`)
            .join(', '),
      ])
    const summary = `checked ${checked} session${checked === 1 ? '' : 's'} in ${store}: ${checked - bad} ok, ${bad} damaged`
    const sealed =
      sealedUnchecked.length === 0
        ? []
        : [
            `${sealedUnchecked.length} session${sealedUnchecked.length === 1 ? ' holds' : 's hold'} sealed records, checked for structure only: pass --key-file to decrypt what verify checks`,
          ]
    if (bad === 0) return [summary, ...sealed]
    return [
      ...renderTable(['SESSION', 'STATUS', 'DETAIL'], rows),
      '',
      summary,
      ...sealed,
      'run `tether sessions repair ID` for each damaged session (`--dry-run` first to see what it would do)',
    ]
  },
})

async function verify(
  repository: Parameters<typeof repairSession>[0]['repository'],
  sessionId: string,
): Promise<VerifiedSession> {
  try {
    const reports = await repairSession({ repository, sessionId, dryRun: true })
    const findings = reports.flatMap(({ agentId, repairs }) =>
      repairs.map((repair) => ({ ...repair, agentId })),
    )
    const damaged = findings.some((finding) => STORAGE_REPAIRS.has(finding.kind))
    return { sessionId, status: damaged ? 'damaged' : 'ok', findings }
  } catch (error) {
    // A damaged agent record or a record from a newer tether: this session cannot be vouched for.
    if (!TetherError.isInstance(error) || error.code === 'storage') throw error
    return { sessionId, status: 'unreadable', findings: [], problem: error.message }
  }
}

/** The repository, watched: `take()` says whether a sealed record was read since the last call. */
function spotSealedRecords(repository: SessionRepository) {
  let seen = false
  const watched = new Proxy(repository, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver)
      if (property !== 'readMessages' || typeof value !== 'function') {
        return typeof value === 'function' ? value.bind(target) : value
      }
      return async (input: Parameters<SessionRepository['readMessages']>[0]) => {
        const records = await target.readMessages(input)
        seen ||= records.some((record) =>
          record.message.content.some(
            (block) => block.type === 'text' && block.text.startsWith(SEALED_PREFIX),
          ),
        )
        return records
      }
    },
  })
  return {
    repository: watched,
    take() {
      const was = seen
      seen = false
      return was
    },
  }
}
