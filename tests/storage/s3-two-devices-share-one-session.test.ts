import { describe, expect, it } from 'vitest'
import { S3SessionRepository } from '../../src/storage/s3/index.ts'
import { runWorkersTogether } from '../support/run-session-worker.ts'
import { S3_TARGETS, useS3Target } from '../support/s3-targets.ts'
import { expectValidForModel, isInterruptedRepairAppend } from '../support/valid-history.ts'

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `two processes as two devices on one S3 session (${target.name})`,
    () => {
      // Turns take milliseconds: enough of them that the two devices' turns overlap in time.
      const TURNS = 30
      const s3 = useS3Target(target)

      it('concurrent turns with tools: every message stored exactly once, one order for every reader', async () => {
        const prefix = 'devices/'
        const labels = ['A', 'B']
        const store = {
          kind: 's3' as const,
          endpoint: s3.server.endpoint,
          bucket: s3.bucket,
          prefix,
          credentials: s3.server.credentials,
        }
        const added = (
          await runWorkersTogether(
            labels.map((label) => ({ store, sessionId: 'shared', label, turns: TURNS, withTools: true })),
          )
        ).flat()

        const ref = { sessionId: 'shared', agentId: 'default' }
        const reader = () =>
          new S3SessionRepository({ bucket: s3.bucket, prefix, clientConfig: s3.server.clientConfig() })
        const first = await reader().readMessages(ref)
        const second = await reader().readMessages(ref)
        // One order: two independent readers agree record for record; indexes have no gaps.
        expect(second).toEqual(first)
        expect(first.map((record) => record.index)).toEqual(first.map((_, i) => i))

        const stored = first
          .map((record) => record.message)
          .filter((message) => !isInterruptedRepairAppend(message))
        expect(stored.map((message) => JSON.stringify(message)).sort()).toEqual([...added].sort())
        expect(added.length).toBeGreaterThanOrEqual(labels.length * TURNS * 2)
        for (const label of labels) {
          for (let turn = 0; turn < TURNS; turn++) {
            expect(added.filter((json) => json.includes(`"reply to ${label} turn ${turn}"`))).toHaveLength(1)
          }
        }
        expectValidForModel(first.map((record) => record.message))
        // The devices really wrote at the same time: their messages interleave in the stored order.
        const writers = first.flatMap(
          (record) => JSON.stringify(record.message).match(/[AB](?= turn)/)?.[0] ?? [],
        )
        const switches = writers.filter((writer, i) => i > 0 && writer !== writers[i - 1]).length
        expect(switches).toBeGreaterThan(2)
      }, 60_000)
    },
  )
}
