/**
 * S3 figures for `npm run bench`: requests and bytes per turn, per restore and per full listing,
 * counted at an HTTP proxy (what S3 would bill), in each layout and on each store: s3rver (no
 * conditional writes: the slot layout) and a one-node Ceph RGW on loopback (conditional writes:
 * the message layout by default; the slot layout when forced with `conditionalWrites: false`).
 * Loopback latency is far below S3's (~20-50 ms per request), so request counts carry over to S3
 * better than milliseconds do.
 */
import {
  Agent,
  type Message,
  RepositorySessionManager,
  type SessionRepository,
  SlidingWindowConversationManager,
} from '../src/index.ts'
import { S3SessionRepository } from '../src/storage/s3/index.ts'
import { ScriptedModel } from '../src/testing/index.ts'
import { cephUnavailable, useCephCluster } from '../tests/support/ceph-cluster.ts'
import { populateHistory } from '../tests/support/s3-history.ts'
import { type S3Proxy, startS3Proxy } from '../tests/support/s3-proxy.ts'
import { startS3Server } from '../tests/support/s3-server.ts'
import type { S3TestTarget } from '../tests/support/s3-targets.ts'
import type { BenchSection } from './bench-section.ts'

/** Turns measured per session: 32 turns are 64 messages, so sweeps (every 8 messages) and sealed
 * segments (every 8th message) fall in them at every alignment. */
const TURNS = 32
const RESTORES = 8
const SIZES = [100, 10_000] as const
/**
 * Added to every request at the proxy for the latency columns: about one S3 request's round trip
 * from a client in the same region. What a user waits for is then mostly the requests that
 * cannot go out together, which loopback hides.
 */
const ROUND_TRIP_MS = 25

interface Setup {
  store: string
  layout: string
  conditionalWrites: boolean | 'auto'
  start: () => Promise<Omit<S3TestTarget, 'credentials'>>
}

const SETUPS: Setup[] = [
  { store: 's3rver', layout: 'slots (fallback)', conditionalWrites: 'auto', start: startS3Server },
  {
    store: 'Ceph RGW',
    layout: 'messages (conditional writes)',
    conditionalWrites: 'auto',
    start: async () => ({ ...(await useCephCluster()), port: 0, stop: async () => undefined }),
  },
  {
    store: 'Ceph RGW',
    layout: 'slots (forced: conditionalWrites false)',
    conditionalWrites: false,
    start: async () => ({ ...(await useCephCluster()), port: 0, stop: async () => undefined }),
  },
]

interface Figures {
  setup: Setup
  turns: { count: number; mean: number; max: number; uploaded: number; ms: number; remoteMs: number }[]
  /** Turns that also write the agent record (the agent's state changes every turn). */
  stateTurns: { mean: number; max: number }
  restores: { count: number; median: number; max: number; ms: number; remoteMs: number }[]
  large: {
    largeUploaded: number
    smallUploaded: number
    smallMaxUploaded: number
    smallRequests: number
    smallMs: number
  }
  listing: { requests: number; ms: number; messages: number }
}

export async function benchS3(): Promise<BenchSection[]> {
  const measured: Figures[] = []
  const skipped: string[] = []
  for (const setup of SETUPS) {
    const reason = setup.store === 'Ceph RGW' ? cephUnavailable() : undefined
    if (reason !== undefined) {
      skipped.push(`${setup.store}, ${setup.layout}: did not run (${reason}).`)
      continue
    }
    measured.push(await benchSetup(setup))
  }
  return sections(measured, skipped)
}

async function benchSetup(setup: Setup): Promise<Figures> {
  const server = await setup.start()
  const port = Number(new URL(server.endpoint).port)
  const proxy = await startS3Proxy(port)
  try {
    const bucket = await server.createBucket()
    const repository = () =>
      new S3SessionRepository({
        bucket,
        prefix: 'bench/',
        conditionalWrites: setup.conditionalWrites,
        clientConfig: server.clientConfig(proxy.endpoint),
      })
    for (const count of SIZES) await populateHistory(repository(), `s${count}`, count)
    // Restores and the listing first: the turns below add messages.
    const restores = []
    for (const count of SIZES) {
      const counted = await restore(repository, proxy, `s${count}`, RESTORES)
      const remote = await withRoundTrip(proxy, () => restore(repository, proxy, `s${count}`, 3))
      restores.push({ count, ...counted, remoteMs: remote.ms })
    }
    const listing = await listAll(repository, proxy, 's10000')
    const turns = []
    for (const count of SIZES) {
      const counted = await perTurn(repository(), proxy, `s${count}`, TURNS)
      const remote = await withRoundTrip(proxy, () => perTurn(repository(), proxy, `s${count}`, 8))
      turns.push({ count, ...counted, remoteMs: remote.ms })
    }
    const stateTurns = await perTurn(repository(), proxy, 's100', TURNS, { changeState: true })
    return {
      setup,
      turns,
      stateTurns,
      restores,
      listing,
      large: await afterLargeMessage(repository(), proxy),
    }
  } finally {
    await proxy.stop()
    await server.stop()
  }
}

const agentOn = (sessionId: string, repository: SessionRepository) =>
  new Agent({
    model: new ScriptedModel({ fallback: { text: 'Noted: that is a fine question to ask.' } }),
    conversationManager: new SlidingWindowConversationManager({ windowSize: 40 }),
    sessionManager: new RepositorySessionManager({ sessionId, repository }),
  })

/** Runs `measure` with ROUND_TRIP_MS added to every request at the proxy. */
async function withRoundTrip<T>(proxy: S3Proxy, measure: () => Promise<T>): Promise<T> {
  proxy.setFaults(() => ({ kind: 'delay', ms: ROUND_TRIP_MS }))
  try {
    return await measure()
  } finally {
    proxy.setFaults(undefined)
  }
}

async function perTurn(
  repository: SessionRepository,
  proxy: S3Proxy,
  sessionId: string,
  turns: number,
  { changeState = false } = {},
) {
  const agent = agentOn(sessionId, repository)
  await agent.run('warm up')
  const requests: number[] = []
  let uploaded = 0
  const started = performance.now()
  for (let turn = 0; turn < turns; turn++) {
    if (changeState) agent.state.set('lastQuestion', turn)
    proxy.reset()
    await agent.run(`question ${turn}: what is ${turn} squared?`)
    requests.push(proxy.total())
    uploaded += proxy.uploaded()
  }
  return {
    mean: requests.reduce((sum, n) => sum + n, 0) / turns,
    max: Math.max(...requests),
    uploaded: uploaded / turns,
    ms: (performance.now() - started) / turns,
  }
}

/** Restores from a new repository object at RESTORES window positions (one message apart). */
async function restore(
  repository: () => S3SessionRepository,
  proxy: S3Proxy,
  sessionId: string,
  runs: number,
) {
  const reads: number[] = []
  const ms: number[] = []
  for (let run = 0; run < runs; run++) {
    const repo = repository()
    const agent = agentOn(sessionId, repo)
    proxy.reset()
    const started = performance.now()
    await agent.initialize()
    ms.push(performance.now() - started)
    // Reads only: the manager writes the agent record when the restore moved its window start.
    reads.push(proxy.total() - proxy.counts().PUT)
    const message: Message = { role: 'user', content: [{ type: 'text', text: `note ${run}` }] }
    await repo.appendMessage({ sessionId, agentId: 'default', message })
  }
  return { median: median(reads), max: Math.max(...reads), ms: median(ms) }
}

async function listAll(repository: () => S3SessionRepository, proxy: S3Proxy, sessionId: string) {
  proxy.reset()
  const started = performance.now()
  const all = await repository().readMessages({ sessionId, agentId: 'default' })
  if (all.length < 10_000) throw new Error(`listed ${all.length} messages, not 10,000 or more`)
  return { requests: proxy.total(), ms: performance.now() - started, messages: all.length }
}

/** One turn with a 5 MB prompt, then small turns: what each small turn uploads. */
async function afterLargeMessage(repository: SessionRepository, proxy: S3Proxy) {
  const agent = agentOn('large-message', repository)
  proxy.reset()
  await agent.run(`Please look at this: ${'x'.repeat(5_000_000)}`)
  const largeUploaded = proxy.uploaded()
  const smallUploads: number[] = []
  let smallRequests = 0
  const started = performance.now()
  for (let turn = 0; turn < TURNS; turn++) {
    proxy.reset()
    await agent.run(`small question ${turn}`)
    smallUploads.push(proxy.uploaded())
    smallRequests += proxy.total()
  }
  return {
    largeUploaded,
    smallUploaded: median(smallUploads),
    smallMaxUploaded: Math.max(...smallUploads),
    smallRequests: smallRequests / TURNS,
    smallMs: (performance.now() - started) / TURNS,
  }
}

function sections(measured: Figures[], skipped: string[]): BenchSection[] {
  const name = (f: Figures) => [f.setup.store, f.setup.layout]
  return [
    {
      title: 'S3: requests and bytes per turn',
      method: `A sliding-window agent (window 40) runs ${TURNS} turns (count at invocation start, prompt, reply, agent record when its window moved) on a session already holding N messages of ~50 bytes of text; requests and uploaded request-body bytes counted at a proxy on loopback.`,
      columns: [
        'store',
        'layout',
        'stored messages',
        'requests per turn (mean)',
        'requests per turn (max)',
        'uploaded per turn',
        'ms per turn',
        `ms per turn, ${ROUND_TRIP_MS} ms a request`,
      ],
      rows: measured.flatMap((f) =>
        f.turns.map((t) => [
          ...name(f),
          t.count.toLocaleString('en-US'),
          t.mean.toFixed(1),
          t.max,
          kib(t.uploaded),
          t.ms.toFixed(1),
          t.remoteMs.toFixed(0),
        ]),
      ),
      notes: [
        'Message layout: 1 LIST (count) + 1 PUT per message (If-None-Match) + 1 PUT of the agent record (If-Match) when it changed, + 1 pack PUT every 8 messages.',
        'Slot layout: 1 LIST (count) + per append 1 PUT (the accept carrying the batch of new messages: the winner of the slot before owns round 0 and needs no prepare) + 1 LIST + 1 PUT (decided key); every 8th message a sealed segment (1 PUT), and 4 messages later a sweep (1 DeleteObjects, from the LIST already made). An append by a handle that did not win the slot before also PUTs its own prepare and LISTs first.',
        ...measured.map(
          (f) =>
            `${f.setup.store}, ${f.setup.layout}: a turn that also writes the agent record (the agent's state changed; ${TURNS} turns at 100+ messages) costs ${f.stateTurns.mean.toFixed(1)} requests on average, ${f.stateTurns.max} at most.`,
        ),
        ...skipped,
      ],
    },
    {
      title: 'S3: restore through a 40-message window from a new repository object',
      method: `A new repository and a new sliding-window agent (window 40) initialize on a session of N messages, at ${RESTORES} window positions one message apart (the packs of 8 line up differently); reads counted at the proxy (the agent record the manager writes when the window moved is left out).`,
      columns: [
        'store',
        'layout',
        'stored messages',
        'reads (median)',
        'reads (max)',
        'ms (median)',
        `ms (median), ${ROUND_TRIP_MS} ms a request`,
      ],
      rows: measured.flatMap((f) =>
        f.restores.map((r) => [
          ...name(f),
          r.count.toLocaleString('en-US'),
          r.median,
          r.max,
          r.ms.toFixed(1),
          r.remoteMs.toFixed(0),
        ]),
      ),
      notes: [
        'Message layout: GET session, GET agent record and LIST (count; the same listing serves the read) together, then the window together: one GET per pack of 8 it overlaps and one GET per newer message not packed yet.',
        "Slot layout: GET session, GET agent record and LIST (count; the same listing names the decided keys of the slots since the last sealed segment) together, then together one GET per such slot's batch and one per segment of 8 the window overlaps.",
        `The last column adds ${ROUND_TRIP_MS} ms to every request at the proxy: a restore then takes about as many times ${ROUND_TRIP_MS} ms as it has steps that wait for one another (two).`,
      ],
    },
    {
      title: 'S3: small turns after a 5 MB message',
      method: `One turn whose prompt is 5,000,000 characters, then ${TURNS} small turns; uploaded bytes counted at the proxy.`,
      columns: [
        'store',
        'layout',
        'uploaded in the large turn',
        'uploaded per small turn (median)',
        'uploaded by the largest small turn',
        'requests per small turn',
        'ms per small turn',
      ],
      rows: measured.map((f) => [
        ...name(f),
        kib(f.large.largeUploaded),
        kib(f.large.smallUploaded),
        kib(f.large.smallMaxUploaded),
        f.large.smallRequests.toFixed(1),
        f.large.smallMs.toFixed(1),
      ]),
      notes: [
        'Message layout: the large message is uploaded once and never copied into a pack (over 16 KiB).',
        'Slot layout: the large message is uploaded once, in a blob of its own (over 16 KiB); its batch and the segment that seals it refer to it.',
      ],
    },
    {
      title: 'S3: full listing of a 10,000-message session',
      method:
        'readMessages of all the messages (10,000 plus the notes the restores appended) from a new repository object; requests counted at the proxy.',
      columns: ['store', 'layout', 'messages', 'requests', 'ms'],
      rows: measured.map((f) => [
        ...name(f),
        f.listing.messages.toLocaleString('en-US'),
        f.listing.requests,
        f.listing.ms.toFixed(1),
      ]),
    },
  ]
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0
const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const section of await benchS3()) console.log(JSON.stringify(section, null, 2))
}
