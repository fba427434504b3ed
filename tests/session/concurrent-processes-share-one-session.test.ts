import { describe, expect, it } from 'vitest'
import { FileSessionRepository } from '../../src/index.ts'
import { restoreInFreshProcess, runWorkersTogether } from '../support/run-session-worker.ts'
import { useTempDirectories } from '../support/temp-directory.ts'
import { expectValidForModel, isInterruptedRepairAppend } from '../support/valid-history.ts'

const TURNS = 15

describe('processes sharing one file session', () => {
  const tempDirectory = useTempDirectories()

  for (const processes of [2, 3, 4]) {
    it(`${processes} processes running turns at once: every message stored exactly once, one order`, async () => {
      const directory = await tempDirectory()
      const labels = Array.from({ length: processes }, (_, i) => `P${i}`)
      const store = { kind: 'file' as const, directory }
      const added = (
        await runWorkersTogether(
          labels.map((label) => ({ store, sessionId: 'shared', label, turns: TURNS, withTools: true })),
        )
      ).flat()

      const ref = { sessionId: 'shared', agentId: 'default' }
      const first = await new FileSessionRepository({ directory }).readMessages(ref)
      const second = await new FileSessionRepository({ directory }).readMessages(ref)
      // One order: two independent readers agree record for record, and indexes have no gaps.
      expect(second).toEqual(first)
      expect(first.map((record) => record.index)).toEqual(first.map((_, i) => i))

      // Exactly the messages the processes added, each once; the only extra records are results a
      // restoring process appended for another process's tool call that was still running.
      const stored = first
        .map((record) => record.message)
        .filter((message) => !isInterruptedRepairAppend(message))
      expect(stored.map((message) => JSON.stringify(message)).sort()).toEqual([...added].sort())
      expect(added.length).toBeGreaterThanOrEqual(processes * TURNS * 2)
      for (const label of labels) {
        for (let turn = 0; turn < TURNS; turn++) {
          expect(added.filter((json) => json.includes(`"reply to ${label} turn ${turn}"`))).toHaveLength(1)
        }
      }
      expectValidForModel(first.map((record) => record.message))
      // What a user opening the session sees: a fresh agent in a fresh process, whole history.
      const restored = await restoreInFreshProcess(store, 'shared', 'null')
      expect(restored).toEqual(first.map((record) => record.message))
      // The processes really ran at once: their messages interleave in the stored order.
      const writers = first.flatMap(
        (record) => JSON.stringify(record.message).match(/P\d(?= turn)/)?.[0] ?? [],
      )
      const switches = writers.filter((writer, i) => i > 0 && writer !== writers[i - 1]).length
      expect(switches).toBeGreaterThan(processes)
    })
  }
})
