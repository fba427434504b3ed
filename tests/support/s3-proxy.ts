import {
  createServer,
  request as forward,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http'
import type { AddressInfo } from 'node:net'

export type S3Operation = 'GET' | 'PUT' | 'LIST' | 'DELETE' | 'OTHER'

export interface ProxiedRequest {
  operation: S3Operation
  method: string
  /** Object key (or the bucket's listing prefix), URL-decoded. */
  key: string
}

/** What the proxy does to one request. */
export type Fault =
  | { kind: 'status'; status: number; code: string }
  /** Close the connection without forwarding: the store never sees the request. */
  | { kind: 'drop-before' }
  /** Forward, let the store answer, then close the connection: the write happened, the client can't know. */
  | { kind: 'drop-after' }
  /** Hold the request this long, then forward it (the client may have given up and retried). */
  | { kind: 'delay'; ms: number }
  /** Forward, let the store apply it, then answer with this error instead: a store that lies. */
  | { kind: 'status-after'; status: number; code: string }

export interface S3Proxy {
  endpoint: string
  /** Requests that reached the proxy, by operation, since the last `reset`. */
  counts(): Record<S3Operation, number>
  total(): number
  /** Request plus response body bytes since the last `reset`. */
  bytes(): number
  /** Request body bytes alone (what the client uploaded) since the last `reset`. */
  uploaded(): number
  reset(): void
  /**
   * Round trips the requests since the last `reset` waited for, in sequence: a request that
   * started after another had been answered comes one round after it (only those `include`
   * accepts count). Run with a delay on every request, so that requests the client sends
   * together overlap at the proxy however the machine schedules them.
   */
  rounds(include?: (request: ProxiedRequest) => boolean): number
  /** Decides a fault per request; return undefined to pass it through. */
  setFaults(decide: ((request: ProxiedRequest) => Fault | undefined) | undefined): void
  injected(): number
  stop(): Promise<void>
}

/** An HTTP proxy on 127.0.0.1 in front of an S3-compatible server: counts requests, injects faults. */
export async function startS3Proxy(targetPort: number): Promise<S3Proxy> {
  const empty = (): Record<S3Operation, number> => ({ GET: 0, PUT: 0, LIST: 0, DELETE: 0, OTHER: 0 })
  let counts = empty()
  let bytes = 0
  let uploaded = 0
  let injected = 0
  let decide: ((request: ProxiedRequest) => Fault | undefined) | undefined
  let timeline: { request: ProxiedRequest; start: number; end: number }[] = []

  const server: Server = createServer(async (req, res) => {
    // A client that gives up (a timeout test) resets its socket: that ends this request, never the run.
    req.on('error', () => req.socket.destroy())
    res.on('error', () => req.socket.destroy())
    let body: Buffer
    try {
      body = await readBody(req)
    } catch {
      req.socket.destroy()
      return
    }
    const info = describe(req)
    counts[info.operation]++
    const span = { request: info, start: performance.now(), end: Number.POSITIVE_INFINITY }
    timeline.push(span)
    res.on('close', () => {
      span.end = performance.now()
    })
    bytes += body.length
    uploaded += body.length
    const fault = decide?.(info)
    if (fault) injected++
    if (fault?.kind === 'status') {
      answerWithError(res, fault)
      return
    }
    if (fault?.kind === 'drop-before') {
      req.socket.destroy()
      return
    }
    if (fault?.kind === 'delay') await new Promise((resolve) => setTimeout(resolve, fault.ms))
    const upstream = forward(
      { host: '127.0.0.1', port: targetPort, method: req.method, path: req.url, headers: req.headers },
      async (answer) => {
        let payload: Buffer
        try {
          payload = await readBody(answer)
        } catch {
          // The store reset the connection mid-answer: the client sees a dropped connection.
          req.socket.destroy()
          return
        }
        bytes += payload.length
        if (fault?.kind === 'drop-after') {
          req.socket.destroy()
          return
        }
        if (res.destroyed) return
        if (fault?.kind === 'status-after') {
          answerWithError(res, fault)
          return
        }
        res.writeHead(answer.statusCode ?? 502, answer.headers)
        res.end(payload)
      },
    )
    upstream.on('error', () => req.socket.destroy())
    upstream.end(body)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    counts: () => ({ ...counts }),
    total: () => Object.values(counts).reduce((sum, n) => sum + n, 0),
    bytes: () => bytes,
    uploaded: () => uploaded,
    rounds(include = () => true) {
      const spans = timeline.filter((span) => include(span.request)).sort((a, b) => a.start - b.start)
      const depth: number[] = []
      for (const [i, span] of spans.entries()) {
        let before = 0
        for (let j = 0; j < i; j++)
          if ((spans[j]?.end ?? 0) <= span.start) before = Math.max(before, depth[j] ?? 0)
        depth.push(before + 1)
      }
      return Math.max(0, ...depth)
    },
    reset() {
      timeline = []
      counts = empty()
      bytes = 0
      uploaded = 0
    },
    setFaults(next) {
      decide = next
    },
    injected: () => injected,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}

function describe(req: IncomingMessage): ProxiedRequest {
  const url = new URL(req.url ?? '/', 'http://proxy')
  const [, , ...rest] = url.pathname.split('/')
  const key = decodeURIComponent(rest.join('/'))
  const method = req.method ?? 'GET'
  let operation: S3Operation = 'OTHER'
  if (method === 'GET' && (url.searchParams.has('list-type') || key === '')) operation = 'LIST'
  else if (method === 'GET') operation = 'GET'
  else if (method === 'PUT' && key !== '') operation = 'PUT'
  else if (method === 'POST' && url.searchParams.has('delete')) operation = 'DELETE'
  const prefix = url.searchParams.get('prefix')
  return { operation, method, key: operation === 'LIST' && prefix !== null ? prefix : key }
}

function readBody(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    stream.on('data', (chunk: Buffer) => chunks.push(chunk))
    stream.on('end', () => resolve(Buffer.concat(chunks)))
    stream.on('error', reject)
  })
}

/** An S3 error answer, as the store would write it. */
function answerWithError(res: ServerResponse, fault: { status: number; code: string }): void {
  res.writeHead(fault.status, { 'content-type': 'application/xml' })
  res.end(`<?xml version="1.0"?><Error><Code>${fault.code}</Code><Message>injected</Message></Error>`)
}
