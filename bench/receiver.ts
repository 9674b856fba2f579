/**
 * The benchmark's webhook receiver, in a process of its own so that it does not share an event
 * loop with the sender: node:http on 127.0.0.1 with keep-alive, answering 200 at once to every
 * request after reading its body, and counting them.
 *
 * Talks to its parent over IPC:
 * - sends `{ type: 'listening', url }` once it accepts connections;
 * - on `{ type: 'expect', count }` resets its counter and sends `{ type: 'reached', count, at }`
 *   when that many requests have been answered since;
 * - on `{ type: 'count' }` sends `{ type: 'count', count }`;
 * - on `{ type: 'close' }` closes and exits.
 */

import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

let count = 0
let target = Number.POSITIVE_INFINITY

const send = (message: Record<string, unknown>): void => {
  process.send?.(message)
}

const server = createServer((req, res) => {
  // Read the body (as a real receiver would), then answer.
  req.on('data', () => {})
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok')
    count++
    if (count === target) send({ type: 'reached', count, at: Date.now() })
  })
})
server.keepAliveTimeout = 60_000
server.headersTimeout = 65_000

process.on('message', (message: { type?: string; count?: number }) => {
  switch (message?.type) {
    case 'expect':
      count = 0
      target = message.count ?? Number.POSITIVE_INFINITY
      return
    case 'count':
      send({ type: 'count', count })
      return
    case 'close':
      server.closeAllConnections()
      server.close(() => process.exit(0))
      return
  }
})
process.on('disconnect', () => process.exit(0))

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo
  send({ type: 'listening', url: `http://127.0.0.1:${port}` })
})
