import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { acknowledged, runDevice, runDeviceOk } from '../support/run-sync-device.ts'
import { rawBucket } from '../support/s3-raw.ts'
import { S3_TARGETS } from '../support/s3-targets.ts'
import { expectEveryoneSeesTheRemoteHistory, sessionId, useSyncNetwork } from './sync-proof.ts'

/**
 * Two rounds by default: each device is killed once, once during its turns or final sync. More
 * rounds: SYNC_CHAOS_ROUNDS=20 (and SYNC_CHAOS_SEED to replay a run).
 */
const ROUNDS = Number(process.env.SYNC_CHAOS_ROUNDS ?? 2)
const TIMEOUT_MS = 60_000 * ROUNDS + 120_000

/** mulberry32: a seeded generator, so a failing run can be replayed from the seed it prints. */
function seeded(seed: number): () => number {
  let state = seed
  return () => {
    state = (state + 0x6d2b79f5) | 0
    let t = Math.imul(state ^ (state >>> 15), 1 | state)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

for (const target of S3_TARGETS) {
  describe.skipIf(target.unavailable !== undefined)(
    `sync through ${target.name} under a network cut at random moments and kill -9 in the middle of syncs`,
    () => {
      const network = useSyncNetwork(target)

      it(
        'loses no acknowledged prompt, duplicates none on the remote, and every device converges',
        async () => {
          const { server, proxy, root } = network()
          const seed = Number(process.env.SYNC_CHAOS_SEED ?? Date.now() % 1_000_000)
          // Printed first, so a failing run can be replayed with SYNC_CHAOS_SEED.
          console.log(`sync chaos seed ${seed} (${target.name})`)
          const random = seeded(seed)
          const bucket = await server.createBucket()
          const devices = ['phone', 'laptop'].map((label) => ({
            label,
            directory: join(root, label),
            nextTurn: 0,
          }))
          const done: string[] = []
          let killedMidSync = 0
          let kills = 0

          for (let round = 0; round < ROUNDS; round++) {
            let running = true
            const chaos = (async () => {
              while (running) {
                await new Promise((resolve) => setTimeout(resolve, 30 + random() * 300))
                if (proxy.isCut) proxy.restore()
                else proxy.cut()
              }
            })()
            const outcomes = await Promise.all(
              devices.map((device, position) => {
                const turns = 2
                const firstTurn = device.nextTurn
                device.nextTurn += turns
                // Each round one device is killed: a random few ms after its final sync started, or
                // during its turns (a background sync pushing the first turn is then likely in flight).
                const victim = round % 2 === position
                const delay = Math.floor(random() * 80)
                const marker = random() < 0.5 ? 'syncing\n' : `done ${device.label} ${firstTurn}\n`
                return runDevice(
                  {
                    directory: device.directory,
                    endpoint: proxy.endpoint,
                    credentials: server.credentials,
                    bucket,
                    sessionId,
                    label: device.label,
                    firstTurn,
                    turns,
                    sync: true,
                    syncAttempts: 30,
                    autoSync: true,
                  },
                  { killWhen: (stdout) => (victim && stdout.includes(marker) ? delay : undefined) },
                )
              }),
            )
            running = false
            await chaos
            for (const outcome of outcomes) {
              done.push(...acknowledged(outcome.stdout))
              if (outcome.signal === 'SIGKILL') {
                kills++
                if (/^syncing$/m.test(outcome.stdout) && !outcome.stdout.includes('synced')) killedMidSync++
              } else if (outcome.code !== 0)
                throw new Error(`device failed (seed ${seed}): ${outcome.stderr}`)
            }
          }

          proxy.restore()
          // What each final sync did: printed only if the check below fails, with the remote's keys.
          const report: string[] = []
          // Each device starts once more (its restore repairs a tool call a kill interrupted) and syncs.
          for (const device of [...devices, ...devices]) {
            const final = await runDeviceOk({
              ...device,
              endpoint: proxy.endpoint,
              credentials: server.credentials,
              bucket,
              sessionId,
              sync: true,
              syncAttempts: 5,
            })
            const lines = final.stdout.split('\n').filter((line) => /^(synced|sync-failed)/.test(line))
            report.push(`${device.label}: ${lines.join(' | ')}`)
          }
          let truth: Awaited<ReturnType<typeof expectEveryoneSeesTheRemoteHistory>>
          try {
            truth = await expectEveryoneSeesTheRemoteHistory({
              server,
              bucket,
              endpoint: proxy.endpoint,
              devices: devices.map((device) => device.directory),
              fresh: join(root, 'fresh'),
              acknowledged: done,
            })
          } catch (error) {
            const keys = await rawBucket(server.clientConfig(), bucket).keys('sync/')
            console.log(`seed ${seed}: final syncs\n${report.join('\n')}\nremote keys:\n${keys.join('\n')}`)
            throw error
          }
          console.log(
            `seed ${seed}: ${kills} kills (${killedMidSync} during the final sync), ${done.length} acknowledged turns, ${truth.length} messages on the remote`,
          )
          expect(kills, `seed ${seed}`).toBe(ROUNDS)
          expect(done.length, `seed ${seed}`).toBeGreaterThanOrEqual(ROUNDS * 2 * 2 - ROUNDS * 2)
        },
        TIMEOUT_MS,
      )
    },
  )
}
