import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { acknowledged, runDeviceOk, syncedLine } from '../support/run-sync-device.ts'
import {
  expectEveryoneSeesTheRemoteHistory,
  promptsOf,
  remoteHistory,
  sessionId,
  useSyncNetwork,
} from './sync-proof.ts'

const network = useSyncNetwork()

describe('two device processes with their own local directories and one S3 behind a cuttable network', () => {
  it('work online; each started while offline restores its local history and runs turns; after reconnecting every device restores the same history', async () => {
    const { server, proxy, root } = network()
    const bucket = await server.createBucket()
    const [phone, laptop, fresh] = ['phone', 'laptop', 'fresh'].map((name) =>
      join(root, `${bucket}-${name}`),
    ) as [string, string, string]
    const common = { endpoint: proxy.endpoint, bucket, sessionId }
    const done: string[] = []
    const run = async (directory: string, label: string, firstTurn: number, turns: number, sync: boolean) => {
      const outcome = await runDeviceOk({ ...common, directory, label, firstTurn, turns, sync })
      done.push(...acknowledged(outcome.stdout))
      return outcome
    }

    await run(phone, 'phone', 0, 2, true)
    await run(laptop, 'laptop', 0, 2, true)
    await run(phone, 'phone', 2, 0, true)
    expect(promptsOf(await remoteHistory(server, bucket))).toEqual([
      'phone turn 0',
      'phone turn 1',
      'laptop turn 0',
      'laptop turn 1',
    ])

    proxy.cut()
    // Each a new process started while offline: it restores the local history and runs turns.
    const phoneApart = await run(phone, 'phone', 2, 3, true)
    expect(phoneApart.stdout).toMatch(/^restored 16$/m)
    expect(phoneApart.stdout).toMatch(/^sync-failed /m)
    expect(phoneApart.stdout).toMatch(/"pendingMessages":12/)
    const laptopApart = await run(laptop, 'laptop', 2, 4, true)
    expect(laptopApart.stdout).toMatch(/^restored 16$/m)
    expect(laptopApart.stdout).toMatch(/^sync-failed /m)

    proxy.restore()
    const merged = await run(phone, 'phone', 5, 0, true)
    expect(syncedLine(merged.stdout)).toBe(
      JSON.stringify([{ pushed: 12, pulled: 0, rewritten: 0, remoteCount: 28 }]),
    )
    const rewritten = await run(laptop, 'laptop', 6, 0, true)
    // The laptop synced second: its 16 offline messages go after the phone's; its copy is rewritten.
    expect(syncedLine(rewritten.stdout)).toBe(
      JSON.stringify([{ pushed: 16, pulled: 12, rewritten: 16, remoteCount: 44 }]),
    )
    await run(phone, 'phone', 5, 0, true)

    const truth = await expectEveryoneSeesTheRemoteHistory({
      server,
      bucket,
      endpoint: proxy.endpoint,
      devices: [phone, laptop],
      fresh,
      acknowledged: done,
    })
    expect(done).toHaveLength(11)
    expect(promptsOf(truth)).toEqual([
      'phone turn 0',
      'phone turn 1',
      'laptop turn 0',
      'laptop turn 1',
      'phone turn 2',
      'phone turn 3',
      'phone turn 4',
      'laptop turn 2',
      'laptop turn 3',
      'laptop turn 4',
      'laptop turn 5',
    ])
  }, 120_000)
})
