import { z } from 'zod'
import { TetherError } from '../../errors/tether-error.ts'
import type { Repair } from '../../session/plan-history-repair.ts'
import { repairSession } from '../../session/repair-session.ts'
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
    try {
      for (const { sessionId } of records) {
        sessions.push(await verify(store.repository, sessionId))
        progress.advance()
      }
    } finally {
      progress.stop()
    }
    const bad = sessions.filter((session) => session.status !== 'ok').length
    return {
      data: { store: store.label, checked: sessions.length, bad, sessions },
      exitCode: bad > 0 ? ExitCode.damaged : ExitCode.ok,
    }
  },

  render({ store, checked, bad, sessions }) {
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
    if (bad === 0) return [summary]
    return [
      ...renderTable(['SESSION', 'STATUS', 'DETAIL'], rows),
      '',
      summary,
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
