/**
 * Sync figures for `npm run bench`: requests and bytes per pushed message, and the time for a
 * fresh device to catch up on 1,000 messages. Devices are a FileSessionRepository in a temp
 * directory synced with an S3SessionRepository on s3rver, through a counting proxy on loopback
 * (what S3 would bill). Loopback latency is far below S3's, so request counts carry over, not ms.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Agent,
  FileSessionRepository,
  FileSyncStateStore,
  RepositorySessionManager,
  SyncedSessionRepository,
} from '../src/index.ts'
import { S3SessionRepository } from '../src/storage/s3/index.ts'
import { ScriptedModel } from '../src/testing/index.ts'
import { turnMessage } from '../tests/support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../tests/support/s3-proxy.ts'
import { startS3Server } from '../tests/support/s3-server.ts'
import type { BenchSection } from './bench-section.ts'

const TURNS = 10
const CATCH_UP = 1_000
const RUNS = 3

export async function benchSync(): Promise<BenchSection[]> {
  const server = await startS3Server()
  const proxy = await startS3Proxy(server.port)
  const root = await mkdtemp(join(tmpdir(), 'tether-sync-bench-'))
  let devices = 0
  try {
    const bucket = await server.createBucket()
    const device = (
      remote = new S3SessionRepository({
        bucket,
        prefix: 'bench/',
        clientConfig: server.clientConfig(proxy.endpoint),
      }),
    ) => {
      const directory = join(root, `device-${devices++}`)
      return new SyncedSessionRepository({
        local: new FileSessionRepository({ directory }),
        remote,
        state: new FileSyncStateStore({ directory: join(directory, '.sync') }),
        autoSync: false,
      })
    }
    const push = await pushCosts(device, proxy)
    const catchUp = await catchUpCosts(device, proxy)
    return [push, catchUp]
  } finally {
    await proxy.stop()
    await server.stop()
    await rm(root, { recursive: true, force: true })
  }
}

type DeviceFactory = () => SyncedSessionRepository

async function measure(proxy: S3Proxy, work: () => Promise<unknown>) {
  proxy.reset()
  const started = performance.now()
  await work()
  return { requests: proxy.total(), bytes: proxy.bytes(), ms: performance.now() - started }
}

async function pushCosts(device: DeviceFactory, proxy: S3Proxy): Promise<BenchSection> {
  const rows: (string | number)[][] = []
  // A turn, then a sync: what background sync does on a device that is online.
  const online = device()
  const agent = new Agent({
    model: new ScriptedModel({ fallback: { text: 'Noted: that is a fine question to ask.' } }),
    sessionManager: new RepositorySessionManager({ sessionId: 'per-turn', repository: online }),
  })
  await agent.run('warm up')
  await online.sync({ sessionId: 'per-turn' })
  let requests = 0
  let bytes = 0
  for (let turn = 0; turn < TURNS; turn++) {
    await agent.run(`question ${turn}: what is ${turn} squared?`)
    const cost = await measure(proxy, () => online.sync({ sessionId: 'per-turn' }))
    requests += cost.requests
    bytes += cost.bytes
  }
  rows.push([
    'a sync after each turn (2 messages)',
    (requests / (TURNS * 2)).toFixed(1),
    kib(bytes / (TURNS * 2)),
  ])

  // Messages written offline, pushed by one sync.
  for (const count of [100, CATCH_UP]) {
    const offline = device()
    const ref = { sessionId: `offline-${count}`, agentId: 'default' }
    await offline.createSession(ref)
    await offline.writeAgent({ ...ref, state: {}, conversationManagerState: null, windowStart: 0 })
    for (let i = 0; i < count; i++) await offline.appendMessage({ ...ref, message: turnMessage(i) })
    const cost = await measure(proxy, () => offline.sync(ref))
    rows.push([
      `one sync of ${count.toLocaleString('en-US')} messages written offline`,
      (cost.requests / count).toFixed(1),
      kib(cost.bytes / count),
    ])
  }
  const idle = await measure(proxy, () => online.sync({ sessionId: 'per-turn' }))
  return {
    title: 'Sync: requests and bytes per pushed message',
    method: `A FileSessionRepository device synced with S3 (s3rver) through a counting proxy on loopback: ${TURNS} agent turns each followed by sync(), and messages written offline then pushed by one sync(). Requests and request+response body bytes of the whole sync (reads included), divided by the messages pushed.`,
    columns: ['pattern', 'requests per pushed message', 'bytes per pushed message'],
    rows,
    notes: [
      `A sync with nothing to push or pull: ${idle.requests} requests (session record, agent lists, history tail from the synced prefix, agent records).`,
      'Each push is one compare-and-append on the remote (expectedIndex), so its cost is the S3 repository’s append (see the S3 tables); the sync adds the reads in the note above once per sync.',
    ],
  }
}

async function catchUpCosts(device: DeviceFactory, proxy: S3Proxy): Promise<BenchSection> {
  // The remote already holds `offline-1000` (pushed above): a fresh device pulls it.
  const runs: { requests: number; bytes: number; ms: number }[] = []
  for (let run = 0; run < RUNS; run++) {
    const fresh = device()
    const cost = await measure(proxy, () => fresh.sync({ sessionId: `offline-${CATCH_UP}` }))
    const count = await fresh.countMessages({ sessionId: `offline-${CATCH_UP}`, agentId: 'default' })
    if (count !== CATCH_UP) throw new Error(`caught up on ${count} messages, not ${CATCH_UP}`)
    runs.push(cost)
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
  return {
    title: `Sync: a new device catching up on ${CATCH_UP.toLocaleString('en-US')} messages`,
    method: `Median of ${RUNS} runs: a device with an empty local directory runs sync() on a session whose remote history holds ${CATCH_UP.toLocaleString('en-US')} messages; every message is written to its local FileSessionRepository (one fsynced file each).`,
    columns: ['requests', 'bytes', 'ms (loopback)'],
    rows: [
      [
        median(runs.map((r) => r.requests)),
        kib(median(runs.map((r) => r.bytes))),
        median(runs.map((r) => r.ms)).toFixed(0),
      ],
    ],
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const section of await benchSync()) console.log(JSON.stringify(section, null, 2))
}
