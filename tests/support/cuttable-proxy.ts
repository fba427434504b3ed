import type { AddressInfo } from 'node:net'
import { connect, createServer, type Server, type Socket } from 'node:net'

export interface CuttableProxy {
  endpoint: string
  port: number
  /** Drops every open connection and refuses new ones: the network is gone. */
  cut(): void
  /** Lets connections through again. */
  restore(): void
  readonly isCut: boolean
  stop(): Promise<void>
}

/**
 * A TCP proxy on 127.0.0.1 in front of a server (s3rver) that a test can cut and restore, as a
 * device losing and regaining its network. A cut destroys both ends of every open connection
 * (a request in flight fails mid-way) and resets new connections as soon as they are accepted.
 * Every socket error is handled here, so a cut never surfaces as an unhandled ECONNRESET.
 */
export async function startCuttableProxy(targetPort: number): Promise<CuttableProxy> {
  const open = new Set<Socket>()
  let isCut = false
  const track = (socket: Socket) => {
    open.add(socket)
    socket.on('error', () => socket.destroy())
    socket.on('close', () => open.delete(socket))
  }
  const server: Server = createServer((client) => {
    track(client)
    if (isCut) {
      client.resetAndDestroy()
      return
    }
    const upstream = connect({ host: '127.0.0.1', port: targetPort })
    track(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    client.on('close', () => upstream.destroy())
    upstream.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    endpoint: `http://127.0.0.1:${port}`,
    port,
    cut() {
      isCut = true
      for (const socket of open) socket.destroy()
    },
    restore() {
      isCut = false
    },
    get isCut() {
      return isCut
    },
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of open) socket.destroy()
        server.close(() => resolve())
      }),
  }
}
