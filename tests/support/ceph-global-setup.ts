import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { CEPH_DIR_VARIABLE, CEPH_WATCH_VARIABLE, cephUnavailable } from './ceph-cluster.ts'
import { fastTempRoot } from './fast-temp-root.ts'

/**
 * vitest globalSetup: gives the run one directory where the first Ceph suite starts the shared
 * cluster (tests/support/ceph-cluster.ts). Nothing starts unless a Ceph suite runs; the cluster
 * stops at teardown, or by itself when this process dies.
 */
export function setup(): () => Promise<void> {
  // Said plainly on every run without Ceph (before the summary, whose line closes the output): its
  // suites are skipped, not passed.
  const missing = cephUnavailable()
  if (missing !== undefined) process.stdout.write(`The Ceph RGW suites will not run: ${missing}.\n`)
  // In memory where there is room: the monitor's store syncs every commit to its disk.
  const directory = mkdtempSync(join(fastTempRoot(), 'tether-ceph-run-'))
  process.env[CEPH_DIR_VARIABLE] = directory
  process.env[CEPH_WATCH_VARIABLE] = String(process.pid)
  return async () => {
    const pidFile = join(directory, 'supervisor.pid')
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'))
      try {
        process.kill(pid, 'SIGTERM')
        // The supervisor kills its daemons and removes their data, then exits.
        for (let i = 0; i < 50; i++) {
          process.kill(pid, 0)
          await new Promise((resolve) => setTimeout(resolve, 100))
        }
      } catch {
        // Already gone.
      }
    }
    rmSync(directory, { recursive: true, force: true })
  }
}
