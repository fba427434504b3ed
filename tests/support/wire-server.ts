import { createServer, type IncomingHttpHeaders, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'

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
  /** Destroy the socket after the chunks, as a dropped connection would. */
  dropConnection?: boolean
}

export type Responder = WireResponse | ((request: RecordedRequest) => WireResponse)

/**
 * A real HTTP server on 127.0.0.1 that answers from a queue of scripted responses and records
 * every request, so a test can check exactly what a provider SDK put on the wire.
 */
export class WireServer {
  readonly requests: RecordedRequest[] = []
  readonly #queue: Responder[] = []
  readonly #server: Server
  readonly url: string

  private constructor(server: Server, url: string) {
    this.#server = server
    this.url = url
  }

  static async start(): Promise<WireServer> {
    let instance: WireServer | undefined
    const server = createServer((request, response) => {
      const parts: Buffer[] = []
      request.on('data', (part: Buffer) => parts.push(part))
      request.on('end', () => {
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
        for (const chunk of reply.chunks ?? []) response.write(chunk)
        if (reply.dropConnection) {
          response.socket?.destroy()
          return
        }
        response.end(reply.body)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    instance = new WireServer(server, `http://127.0.0.1:${port}`)
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
    this.#server.closeAllConnections()
    return new Promise((resolve, reject) =>
      this.#server.close((error) => (error ? reject(error) : resolve())),
    )
  }
}
