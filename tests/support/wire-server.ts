import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http'
import { createServer as createHttp2Server, type Http2ServerRequest, type Http2Session } from 'node:http2'
import type { AddressInfo, Server } from 'node:net'

export interface RecordedRequest {
  method: string
  /** Path and query, e.g. `/v1/chat/completions`. */
  path: string
  headers: IncomingHttpHeaders
  /** The body parsed as JSON (every provider here sends JSON), or the raw text if it is not. */
  body: unknown
}

/** One HTTP response. `chunks` are written one `write` at a time, as a streaming server would. */
export interface WireResponse {
  status?: number
  headers?: Record<string, string>
  body?: string | Uint8Array
  chunks?: (string | Uint8Array)[]
  /** A pause before each chunk, so a test can act while the response is still streaming. */
  chunkDelayMs?: number
}

export type Responder = WireResponse | ((request: RecordedRequest) => WireResponse)

/** What the handler needs of an HTTP/1.1 or HTTP/2 response. */
interface ResponseWriter {
  writeHead(status: number, headers: Record<string, string>): unknown
  write(chunk: string | Uint8Array): unknown
  end(body: string | Uint8Array): unknown
}

export interface WireServerOptions {
  /**
   * `h2c` serves HTTP/2 without TLS: the Bedrock Runtime client talks HTTP/2 by default (as the
   * real endpoint does), and refuses an HTTP/1.1 server. Default `http1`.
   */
  protocol?: 'http1' | 'h2c'
}

/**
 * A real HTTP server on 127.0.0.1 that answers from a queue of scripted responses and records
 * every request, so a test can check exactly what a provider SDK put on the wire.
 */
export class WireServer {
  readonly requests: RecordedRequest[] = []
  readonly #queue: Responder[] = []
  readonly #server: Server
  readonly #dropConnections: () => void
  readonly url: string

  private constructor(server: Server, url: string, dropConnections: () => void) {
    this.#server = server
    this.url = url
    this.#dropConnections = dropConnections
  }

  static async start(options: WireServerOptions = {}): Promise<WireServer> {
    let instance: WireServer | undefined
    let closed = false
    const handle = (request: IncomingMessage | Http2ServerRequest, response: ResponseWriter) => {
      const parts: Buffer[] = []
      request.on('data', (part: Buffer) => parts.push(part))
      request.on('end', async () => {
        const text = Buffer.concat(parts).toString('utf8')
        let body: unknown = text
        try {
          body = text === '' ? undefined : JSON.parse(text)
        } catch {
          // not JSON: keep the text
        }
        const recorded: RecordedRequest = {
          method: request.method ?? '',
          path: request.url ?? '',
          headers: request.headers,
          body,
        }
        instance?.requests.push(recorded)
        const next = instance?.nextResponder()
        const reply: WireResponse =
          next === undefined
            ? { status: 599, body: `no scripted response for request ${instance?.requests.length}` }
            : typeof next === 'function'
              ? next(recorded)
              : next
        response.writeHead(reply.status ?? 200, reply.headers ?? {})
        for (const chunk of reply.chunks ?? []) {
          if (reply.chunkDelayMs) await new Promise((resolve) => setTimeout(resolve, reply.chunkDelayMs))
          if (closed) return
          response.write(chunk)
        }
        response.end(reply.body ?? '')
      })
    }
    const sessions = new Set<Http2Session>()
    let server: Server
    if (options.protocol === 'h2c') {
      const http2Server = createHttp2Server(handle)
      http2Server.on('session', (session) => {
        sessions.add(session)
        session.on('close', () => sessions.delete(session))
      })
      server = http2Server
    } else {
      server = createServer(handle)
    }
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    instance = new WireServer(server, `http://127.0.0.1:${port}`, () => {
      closed = true
      for (const session of sessions) session.destroy()
      if ('closeAllConnections' in server && typeof server.closeAllConnections === 'function') {
        server.closeAllConnections()
      }
    })
    return instance
  }

  /** The responder for the request that just arrived. */
  nextResponder(): Responder | undefined {
    return this.#queue.shift()
  }

  /** Queues responses, answered in order. */
  reply(...responders: Responder[]): void {
    this.#queue.push(...responders)
  }

  /** The JSON body of the n-th request (0-based), for assertions. */
  body(index: number): Record<string, unknown> {
    const request = this.requests[index]
    if (!request) throw new Error(`request ${index} was not received; got ${this.requests.length}`)
    return request.body as Record<string, unknown>
  }

  close(): Promise<void> {
    this.#dropConnections()
    return new Promise((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    )
  }
}
