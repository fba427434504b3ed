/**
 * Runs a one-node Ceph cluster (monitor, one memstore OSD, RADOS Gateway) on loopback for the
 * tests and the benchmark, from Debian's packages (radosgw ceph-mon ceph-osd ceph-common).
 * Usage: node ceph-cluster-process.mjs <directory> <pid to outlive>
 *
 * Writes <directory>/ready.json ({ endpoint, accessKeyId, secretAccessKey }) once the gateway
 * answers, or <directory>/failed.json ({ reason }). Stops the daemons and removes the cluster's
 * data when the watched process is gone or on SIGTERM/SIGINT: a crashed test run leaves no
 * daemon behind. Plain JavaScript, so any Node can start it.
 *
 * What makes a one-node cluster start in ~15 s (see issue 9): memstore OSD, no cephx, msgr v1
 * only, pool size 1, small PG counts with the autoscaler off, and the OSD added to the CRUSH map
 * by hand (its own crush update at start sends a zero fsid and fails).
 */
import { execFile, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, openSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)
const [directory, watchArgument] = process.argv.slice(2)
if (!directory) throw new Error('usage: ceph-cluster-process.mjs <directory> <pid>')
const watchPid = Number(watchArgument ?? process.ppid)
const ACCESS_KEY = 'TETHERTESTKEY0000000'
const SECRET_KEY = 'tether-test-secret-key-0000000000000000'
const data = join(directory, 'cluster')
const daemons = []
let stopping = false

function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      server.close(() => resolve(port))
    })
  })
}

/** A `ceph` command, repeated while the monitor is still starting (it then answers EPERM/ENOENT). */
async function cephCommand(command, args) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await run(command, args, { timeout: 60_000 })
    } catch (error) {
      if (attempt >= 20) throw error
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }
}

function daemon(command, args) {
  const log = openSync(join(data, 'log', `${command}.out`), 'a')
  const child = spawn(command, args, { stdio: ['ignore', log, log] })
  child.once('exit', (code, signal) => {
    if (!stopping) fail(`${command} exited (${signal ?? code}); see ${join(data, 'log')}`)
  })
  daemons.push(child)
  return child
}

function stop(code = 0) {
  if (stopping) return
  stopping = true
  for (const child of daemons) child.kill('SIGKILL')
  // memstore keeps the data in the OSD's memory: the directory holds only maps, logs and sockets.
  setTimeout(() => {
    rmSync(data, { recursive: true, force: true })
    process.exit(code)
  }, 200)
}

function fail(reason) {
  writeFileSync(join(directory, 'failed.json'), `${JSON.stringify({ reason })}\n`)
  stop(1)
}

async function start() {
  for (const sub of ['mon/ceph-a', 'osd/ceph-0', 'run', 'log', 'rgw'])
    mkdirSync(join(data, sub), { recursive: true })
  const fsid = randomUUID()
  const [monPort, rgwPort] = [await freePort(), await freePort()]
  const conf = join(data, 'ceph.conf')
  // tcp_nodelay on the gateway's sockets, as RGW deployments tune it: without it, beast writes an
  // answer's head and body apart and Nagle holds the second until the client's delayed ACK, so
  // about one request in four (every LIST) took 40 ms more on loopback, which the measured
  // latencies then showed instead of the store's and the client's own.
  writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon_host = v1:127.0.0.1:${monPort}
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_bind_msgr2 = false
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_warn_on_pool_no_redundancy = false
osd_objectstore = memstore
memstore_device_bytes = 2147483648
osd_crush_update_on_start = false
osd_class_update_on_start = false
run_dir = ${data}/run
admin_socket = ${data}/run/$name.asok
pid_file = ${data}/run/$name.pid
log_file = ${data}/log/$name.log
mon_data = ${data}/mon/$cluster-$id
osd_data = ${data}/osd/$cluster-$id
keyring = ${data}/keyring
[client.rgw]
rgw_frontends = beast endpoint=127.0.0.1:${rgwPort} tcp_nodelay=1
rgw_data = ${data}/rgw
`,
  )
  writeFileSync(join(data, 'keyring'), '')
  const c = ['-c', conf]
  await run('monmaptool', [
    '--create',
    '--fsid',
    fsid,
    '--addv',
    'a',
    `[v1:127.0.0.1:${monPort}]`,
    join(data, 'monmap'),
  ])
  await run('ceph-mon', [...c, '--mkfs', '-i', 'a', '--monmap', join(data, 'monmap')])
  daemon('ceph-mon', [...c, '-i', 'a', '-f'])
  const osdUuid = randomUUID()
  await cephCommand('ceph', [...c, 'osd', 'new', osdUuid])
  await run('ceph-osd', [...c, '-i', '0', '--mkfs', '--osd-uuid', osdUuid])
  daemon('ceph-osd', [...c, '-i', '0', '-f'])
  await cephCommand('ceph', [...c, 'osd', 'crush', 'add', 'osd.0', '1.0', 'root=default', 'host=localhost'])
  daemon('radosgw', [...c, '-n', 'client.rgw', '-f'])
  await cephCommand(
    'radosgw-admin',
    [
      ...c,
      'user',
      'create',
      '--uid',
      'tether',
      '--display-name',
      'tether tests',
      '--access-key',
      ACCESS_KEY,
      '--secret-key',
      SECRET_KEY,
    ],
    { timeout: 60_000 },
  )
  const endpoint = `http://127.0.0.1:${rgwPort}`
  for (let attempt = 0; ; attempt++) {
    try {
      if ((await fetch(endpoint)).status < 500) break
    } catch {
      // Not listening yet.
    }
    if (attempt > 300) throw new Error(`the gateway at ${endpoint} never answered`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  writeFileSync(
    join(directory, 'ready.json'),
    `${JSON.stringify({ endpoint, accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, pid: process.pid })}\n`,
  )
}

process.on('SIGTERM', () => stop())
process.on('SIGINT', () => stop())
setInterval(() => {
  try {
    process.kill(watchPid, 0)
  } catch {
    stop()
  }
}, 500)
start().catch((error) => fail(String(error?.stderr || error?.message || error)))
