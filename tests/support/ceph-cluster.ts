import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { CreateBucketCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3'

const script = fileURLToPath(new URL('./ceph-cluster-process.mjs', import.meta.url))
const BINARIES = ['ceph-mon', 'ceph-osd', 'ceph', 'monmaptool', 'radosgw', 'radosgw-admin']

/** Set by tests/support/ceph-global-setup.ts: one cluster per test run, shared by every file. */
export const CEPH_DIR_VARIABLE = 'TETHER_CEPH_DIR'
export const CEPH_WATCH_VARIABLE = 'TETHER_CEPH_WATCH_PID'

export interface CephCluster {
  endpoint: string
  credentials: { accessKeyId: string; secretAccessKey: string }
  clientConfig(endpoint?: string): S3ClientConfig
  createBucket(name?: string): Promise<string>
}

/**
 * Why Ceph suites cannot run here, or undefined when they can. Under vitest they run only with
 * TETHER_CEPH=1 (.ci/run sets it): they repeat the s3rver suites against a store that enforces
 * conditional writes, and add 30 to 45 s to `npm test` on a 2-core machine.
 */
export function cephUnavailable(): string | undefined {
  if (process.env.VITEST !== undefined && process.env.TETHER_CEPH !== '1') {
    return 'they run with TETHER_CEPH=1, as .ci/run does (`TETHER_CEPH=1 npm test`)'
  }
  const path = (process.env.PATH ?? '').split(delimiter).concat(['/usr/bin', '/usr/sbin'])
  const missing = BINARIES.filter((name) => !path.some((dir) => dir !== '' && existsSync(join(dir, name))))
  if (missing.length === 0) return undefined
  return `Ceph is not installed (${missing.join(', ')} not found); .ci/run installs radosgw ceph-mon ceph-osd ceph-common`
}

/** The suffix a Ceph suite's name carries, so a run without Ceph says plainly what it skipped. */
export function cephSkipNote(): string {
  const reason = cephUnavailable()
  if (reason === undefined) return ''
  return ` (did not run: ${reason})`
}

let shared: Promise<CephCluster> | undefined
let buckets = 0

/**
 * The run's Ceph cluster, started by the first caller of the run and reused by every other test
 * file (an exclusive lock file elects the starter; the others wait for its ready file). Outside
 * vitest (the benchmark) the cluster lives as long as this process.
 */
export function useCephCluster(): Promise<CephCluster> {
  shared ??= connect()
  return shared
}

async function connect(): Promise<CephCluster> {
  const reason = cephUnavailable()
  if (reason !== undefined) throw new Error(reason)
  const directory = process.env[CEPH_DIR_VARIABLE] ?? mkdtempSync(join(tmpdir(), 'tether-ceph-'))
  const watch = process.env[CEPH_WATCH_VARIABLE] ?? String(process.pid)
  try {
    const lock = await open(join(directory, 'lock'), 'wx')
    await lock.close()
    // Detached: the cluster outlives the test file that started it and stops with the run.
    const child = spawn(process.execPath, [script, directory, watch], { stdio: 'ignore', detached: true })
    child.unref()
    writeFileSync(join(directory, 'supervisor.pid'), `${child.pid}\n`)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
  }
  const ready = await waitForReady(directory)
  const config = (endpoint = ready.endpoint): S3ClientConfig => ({
    endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  })
  const admin = new S3Client(config())
  return {
    endpoint: ready.endpoint,
    credentials: { accessKeyId: ready.accessKeyId, secretAccessKey: ready.secretAccessKey },
    clientConfig: config,
    async createBucket(name = `tether-${process.pid}-${Date.now().toString(36)}-${buckets++}`) {
      await admin.send(new CreateBucketCommand({ Bucket: name }))
      return name
    },
  }
}

interface Ready {
  endpoint: string
  accessKeyId: string
  secretAccessKey: string
}

async function waitForReady(directory: string): Promise<Ready> {
  const deadline = Date.now() + 120_000
  for (;;) {
    const failed = join(directory, 'failed.json')
    if (existsSync(failed))
      throw new Error(`The Ceph test cluster did not start: ${readFileSync(failed, 'utf8')}`)
    const ready = join(directory, 'ready.json')
    if (existsSync(ready)) return JSON.parse(readFileSync(ready, 'utf8')) as Ready
    if (Date.now() > deadline)
      throw new Error(`The Ceph test cluster in ${directory} was not ready after 120 s`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}
