/**
 * S3 figures for `npm run bench`: requests and bytes per turn, restore and full listing, counted
 * at an HTTP proxy in front of s3rver on 127.0.0.1 (what S3 would bill). Loopback latency is far
 * below S3's (~20-50 ms per request), so request counts, not milliseconds, carry over to S3.
 */
import { Agent, RepositorySessionManager, type SessionRepository } from '../src/index.ts'
import { S3SessionRepository } from '../src/storage/s3/index.ts'
import { ScriptedModel } from '../src/testing/index.ts'
import { populateHistory } from '../tests/support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../tests/support/s3-proxy.ts'
import { startS3Server } from '../tests/support/s3-server.ts'
import type { BenchSection } from './bench-section.ts'

const TURNS = 8
const RUNS = 5

export async function benchS3(): Promise<BenchSection[]> {
  const server = await startS3Server()
  const proxy = await startS3Proxy(server.port)
  try {
    const bucket = await server.createBucket()
    const repository = () =>
      new S3SessionRepository({ bucket, prefix: 'bench/', clientConfig: server.clientConfig(proxy.endpoint) })
    for (const [sessionId, count] of [
      ['small', 100],
      ['large', 10_000],
    ] as const) {
      await populateHistory(repository(), sessionId, count)
    }
    // Restore and list first: the turns below add messages to the sessions.
    const restore = await restoreAndList(repository, proxy)
    return [await perTurn(repository, proxy), restore]
  } finally {
    await proxy.stop()
    await server.stop()
  }
}

const agentOn = (sessionId: string, repository: SessionRepository) =>
  new Agent({
    model: new ScriptedModel({ fallback: { text: 'Noted: that is a fine question to ask.' } }),
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })

async function perTurn(repository: () => S3SessionRepository, proxy: S3Proxy): Promise<BenchSection> {
  const rows: (string | number)[][] = []
  for (const [sessionId, count] of [
    ['small', 100],
    ['large', 10_000],
  ] as const) {
    const agent = agentOn(sessionId, repository())
    await agent.run('warm up')
    let requests = 0
    let bytes = 0
    let maxRequests = 0
    const started = performance.now()
    for (let turn = 0; turn < TURNS; turn++) {
      proxy.reset()
      await agent.run(`question ${turn}: what is ${turn} squared?`)
      requests += proxy.total()
      bytes += proxy.bytes()
      maxRequests = Math.max(maxRequests, proxy.total())
    }
    const ms = (performance.now() - started) / TURNS
    rows.push([
      count.toLocaleString('en-US'),
      (requests / TURNS).toFixed(1),
      maxRequests,
      kib(bytes / TURNS),
      ms.toFixed(1),
    ])
  }
  return {
    title: 'S3: requests and bytes per turn',
    method: `A sliding-window agent (window 40) runs ${TURNS} turns (prompt + reply) on a session already holding N messages; requests and request+response body bytes counted at a proxy in front of s3rver on loopback. ${TURNS} turns = 16 slots, so each row includes the same two sweeps.`,
    columns: [
      'stored messages',
      'requests per turn (mean)',
      'requests per turn (max)',
      'bytes per turn',
      'ms per turn (loopback)',
    ],
    rows,
    notes: [
      'A turn: 1 LIST (count at invocation start) + per append 3 PUT + 2 LIST (prepare, list, accept, list, decided) + the agent record (GET + PUT) when the window moved; every 8th slot also sweeps old slots (1 LIST + 1 DeleteObjects).',
      'Bytes per append are the tail (the last 50 messages) written once, independent of history length.',
    ],
  }
}

async function restoreAndList(repository: () => S3SessionRepository, proxy: S3Proxy): Promise<BenchSection> {
  const restores: { reads: number; writes: number; ms: number }[] = []
  for (let run = 0; run < RUNS; run++) {
    const inner = repository()
    let writes = 0
    const counted = new Proxy(inner, {
      get: (target, name) => {
        if (name === 'writeAgent') {
          return async (write: Parameters<SessionRepository['writeAgent']>[0]) => {
            const before = proxy.total()
            const record = await target.writeAgent(write)
            writes += proxy.total() - before
            return record
          }
        }
        const value: unknown = Reflect.get(target, name, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const agent = agentOn('large', counted)
    proxy.reset()
    const started = performance.now()
    await agent.initialize()
    restores.push({ reads: proxy.total() - writes, writes, ms: performance.now() - started })
  }
  const lists: { requests: number; ms: number }[] = []
  for (let run = 0; run < RUNS; run++) {
    const repo = repository()
    proxy.reset()
    const started = performance.now()
    const all = await repo.readMessages({ sessionId: 'large', agentId: 'default' })
    if (all.length !== 10_000) throw new Error(`listed ${all.length} messages, not 10,000`)
    lists.push({ requests: proxy.total(), ms: performance.now() - started })
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
  return {
    title: 'S3: restore and full listing of a 10,000-message session',
    method: `Median of ${RUNS} runs, each with a new repository (nothing cached). Restore: a new Agent with a RepositorySessionManager initializes on the session (40-message window). Listing: readMessages of all 10,000 messages. Requests counted at a proxy in front of s3rver on loopback.`,
    columns: ['operation', 'requests', 'ms (loopback)'],
    rows: [
      [
        'restore: reads (session, agent record, count, window)',
        median(restores.map((r) => r.reads)),
        median(restores.map((r) => r.ms)).toFixed(1),
      ],
      [
        'restore: agent record written at the end of initialization',
        median(restores.map((r) => r.writes)),
        '-',
      ],
      [
        'list all 10,000 messages',
        median(lists.map((r) => r.requests)),
        median(lists.map((r) => r.ms)).toFixed(1),
      ],
    ],
    notes: [
      'Restore reads: GET session, GET agent record, LIST (count), LIST + GET tail (the last 50 messages in one object).',
      'Listing: 1 LIST + 1 GET of the tail + 1 GET per 50-message segment, 8 in parallel.',
    ],
  }
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const section of await benchS3()) console.log(JSON.stringify(section, null, 2))
}
