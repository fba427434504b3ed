import { z } from 'zod'
import type { Repair } from '../../session/plan-history-repair.ts'
import { repairSession } from '../../session/repair-session.ts'
import { defineCommand } from '../cli-command.ts'
import { sessionId, storeFlags } from '../cli-schemas.ts'
import { STORAGE_REPAIRS } from '../repair-kinds.ts'
import { requireSession } from '../session-reading.ts'
import { openStoreFlag } from '../store.ts'
import { renderTable } from '../table.ts'

export const command = defineCommand({
  input: z.object({ id: sessionId, ...storeFlags, dryRun: z.boolean().default(false) }),

  async run(input, context) {
    const store = await openStoreFlag(input, context, { mustExist: true })
    await requireSession(store, input.id)
    const reports = await repairSession({
      repository: store.repository,
      sessionId: input.id,
      dryRun: input.dryRun,
    })
    const agents = reports.map(({ agentId, repairs }) => ({ agentId, repairs }))
    return { data: { sessionId: input.id, store: store.label, dryRun: input.dryRun, agents } }
  },

  render({ sessionId, dryRun, agents }) {
    const rows = agents.flatMap(({ agentId, repairs }) =>
      repairs.map((repair) => [
        agentId,
        `#${repair.index}`,
        repair.kind,
        action(repair, dryRun),
        repair.detail,
      ]),
    )
    const fixes = agents
      .flatMap(({ repairs }) => repairs)
      .filter((repair) => STORAGE_REPAIRS.has(repair.kind)).length
    const summary =
      fixes === 0
        ? `session ${sessionId}: nothing to repair`
        : `session ${sessionId}: ${dryRun ? 'would repair' : 'repaired'} ${fixes} problem${fixes === 1 ? '' : 's'}${dryRun ? ' (dry run: nothing written)' : ''}`
    return rows.length === 0
      ? [summary]
      : [...renderTable(['AGENT', 'MESSAGE', 'KIND', 'ACTION', 'DETAIL'], rows), '', summary]
  },
})

function action(repair: Repair, dryRun: boolean): string {
  if (!STORAGE_REPAIRS.has(repair.kind)) return 'note'
  if (dryRun) return 'would repair'
  return repair.written ? 'repaired' : 'note'
}
