import {
  createServer,
  type IncomingHttpHeaders,
  type RequestListener,
  type ServerResponse,
} from 'node:http'
import { createServer as createTlsServer } from 'node:https'
import type { AddressInfo } from 'node:net'

/** A request the receiver got. */
export interface ReceivedRequest {
  method: string
  path: string
  headers: IncomingHttpHeaders
  body: string
  receivedAt: number
}

/** The (event, subscription) pair a webhook request delivers. */
export const pairOf = (request: ReceivedRequest) =>
  `${request.headers['webhook-id']} ${request.headers['hook-subscription']}`

/** Decides the answer to one request; the default answers 200. */
export type Responder = (request: ReceivedRequest, response: ServerResponse) => void

/** Options of {@link startReceiver}. */
export interface ReceiverOptions {
  /** Serve HTTPS with this key and certificate (PEM) instead of HTTP. */
  tls?: { key: string; cert: string }
}

/**
 * A real HTTP receiver on 127.0.0.1, port 0: it records every request and answers through
 * `respond`, which a test may swap at any time.
 */
export async function startReceiver(respond?: Responder, options: ReceiverOptions = {}) {
  const requests: ReceivedRequest[] = []
  const waiters: { count: number; resolve: () => void }[] = []
  let responder: Responder =
    respond ??
    ((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })

  const listener: RequestListener = (req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const received: ReceivedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        receivedAt: Date.now(),
      }
      requests.push(received)
      for (const waiter of [...waiters]) {
        if (requests.length >= waiter.count) {
          waiters.splice(waiters.indexOf(waiter), 1)
          waiter.resolve()
        }
      }
      responder(received, res)
    })
  }
  const server = options.tls ? createTlsServer(options.tls, listener) : createServer(listener)
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo

  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    respondWith(next: Responder) {
      responder = next
    },
    /** Resolves once `count` requests have arrived in all. */
    waitFor(count: number, timeoutMs = 10_000): Promise<void> {
      if (requests.length >= count) return Promise.resolve()
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`receiver got ${requests.length} of ${count} requests`)),
          timeoutMs,
        )
        waiters.push({
          count,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        })
      })
    },
    async close() {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type Receiver = Awaited<ReturnType<typeof startReceiver>>
