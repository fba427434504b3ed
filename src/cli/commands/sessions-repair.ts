import { z } from 'zod'
import type { Repair } from '../../session/plan-history-repair.ts'
import { repairSession } from '../../session/repair-session.ts'
import { UnsupportedSchemaVersionError } from '../../session/session-errors.ts'
import { defineCommand } from '../cli-command.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import {
  hasLeftovers,
  type RecordRepair,
  readSessionTolerant,
  rebuildSessionRecord,
  resetDamagedAgents,
} from '../recover-records.ts'
import { STORAGE_REPAIRS } from '../repair-kinds.ts'
import { sessionNotFound } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'
import { renderTable } from '../table.ts'

export const command = defineCommand({
  input: z.object({ id: sessionId, ...storeFlags, dryRun: z.boolean().default(false) }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    const records: RecordRepair[] = []
    // The session record first: every other step (and every other command) needs it readable.
    const found = await readSessionTolerant(store, input.id)
    const problem = found.problem
    if (problem instanceof UnsupportedSchemaVersionError) throw problem
    if (problem) {
      records.push(
        input.dryRun
          ? { record: 'session', detail: problem.reason, written: false }
          : await rebuildSessionRecord(store, input.id, problem),
      )
    } else if (found.record === null) {
      // Agents and messages without a session record: a creation cut short, or a delete that
      // raced a writer. Repair makes them a session again; `delete --force` removes them.
      if (!(await hasLeftovers(store, input.id))) throw sessionNotFound(store, input.id)
      records.push({
        record: 'session',
        detail: 'missing; rebuilt from the records stored under this ID',
        written: !input.dryRun,
      })
      if (!input.dryRun) await store.repository.createSession({ sessionId: input.id })
    }
    records.push(...(await resetDamagedAgents(store, input.id, input.dryRun)))
    const stillBlocked = input.dryRun && records.some((repair) => repair.record === 'agent')
    const reports = stillBlocked
      ? []
      : await repairSession({ repository: store.repository, sessionId: input.id, dryRun: input.dryRun })
    const agents = reports.map(({ agentId, repairs }) => ({ agentId, repairs }))
    return { data: { sessionId: input.id, store: store.label, dryRun: input.dryRun, records, agents } }
  },

  render({ sessionId, dryRun, records, agents }) {
    const recordRows = records.map((repair) => [
      repair.agentId ?? '-',
      '-',
      `damaged-${repair.record}-record`,
      dryRun ? 'would repair' : 'repaired',
      repair.detail,
    ])
    const rows = agents.flatMap(({ agentId, repairs }) =>
      repairs.map((repair) => [
        agentId,
        `#${repair.index}`,
        repair.kind,
        action(repair, dryRun),
        repair.detail,
      ]),
    )
    const fixes =
      records.length +
      agents.flatMap(({ repairs }) => repairs).filter((repair) => STORAGE_REPAIRS.has(repair.kind)).length
    const summary =
      fixes === 0
        ? `session ${sessionId}: nothing to repair`
        : `session ${sessionId}: ${dryRun ? 'would repair' : 'repaired'} ${fixes} problem${fixes === 1 ? '' : 's'}${dryRun ? ' (dry run: nothing written)' : ''}`
    const all = [...recordRows, ...rows]
    return all.length === 0
      ? [summary]
      : [...renderTable(['AGENT', 'MESSAGE', 'KIND', 'ACTION', 'DETAIL'], all), '', summary]
  },
})

function action(repair: Repair, dryRun: boolean): string {
  if (!STORAGE_REPAIRS.has(repair.kind)) return 'note'
  if (dryRun) return 'would repair'
  return repair.written ? 'repaired' : 'note'
}
