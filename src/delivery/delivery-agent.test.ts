import { once } from 'node:events'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { type Dispatcher, request } from 'undici'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createDeliveryAgent } from './delivery-agent.ts'
import { createTargetGuard, TargetRefusedError } from './target-guard.ts'

let server: Server
let port: number
let connections = 0
const received: string[] = []

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(req.url ?? '')
    if (req.url === '/redirect') {
      res.writeHead(302, { location: '/landing' }).end()
    } else {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('delivered')
    }
  })
  server.on('connection', () => {
    connections += 1
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  port = (server.address() as AddressInfo).port
})

afterAll(async () => {
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

beforeEach(() => {
  received.length = 0
  connections = 0
})

/** `url` with `{port}` replaced by the test server's port (unknown when the tests are listed). */
function at(url: string): string {
  return url.replace('{port}', String(port))
}

/** The error a request failed with; undici hands the connector's error to the caller as is. */
async function refusal(url: string, dispatcher: Dispatcher): Promise<unknown> {
  try {
    const response = await request(url, { dispatcher })
    await response.body.dump()
  } catch (error) {
    return error
  }
  throw new Error(`the request to ${url} was not refused`)
}

describe('with the guard', () => {
  const agent = createDeliveryAgent({ guard: createTargetGuard({}) })
  afterAll(() => agent.close())

  it.each([
    ['http://127.0.0.1:{port}/', '127.0.0.1'],
    ['http://[::1]:{port}/', '::1'],
    ['http://[::ffff:127.0.0.1]:{port}/', '::ffff:7f00:1'],
    ['http://localhost:{port}/', /^(127\.0\.0\.1|::1)$/],
    ['http://2130706433:{port}/', '127.0.0.1'],
    ['http://0x7f.1:{port}/', '127.0.0.1'],
    ['https://127.0.0.1:{port}/', '127.0.0.1'],
    ['https://localhost:{port}/', /^(127\.0\.0\.1|::1)$/],
  ])('refuses %s before sending anything', async (url, address) => {
    const error = await refusal(at(url), agent)
    expect(error).toBeInstanceOf(TargetRefusedError)
    expect(error).toMatchObject({ code: 'target_refused', address })
    expect(received).toEqual([])
    expect(connections).toBe(0)
  })
})

describe('with the guard, towards addresses that must never be reached', () => {
  // A tiny connect timeout makes a broken guard fail fast with a timeout instead of hanging.
  const agent = createDeliveryAgent({ guard: createTargetGuard({}), connectTimeoutMs: 200 })
  afterAll(() => agent.close())

  it.each([
    ['http://10.0.0.1/', 'private address'],
    ['http://169.254.169.254/latest/meta-data/', 'link-local address'],
  ])('refuses %s', async (url, reason) => {
    const error = await refusal(url, agent)
    expect(error).toBeInstanceOf(TargetRefusedError)
    expect(error).toMatchObject({ code: 'target_refused', reason })
  })
})

describe('with loopback allowed', () => {
  const agent = createDeliveryAgent({
    guard: createTargetGuard({ allowTargets: ['127.0.0.0/8', '::1/128'] }),
  })
  afterAll(() => agent.close())

  it.each([
    'http://127.0.0.1:{port}/hook',
    'http://localhost:{port}/hook',
    'http://2130706433:{port}/hook',
  ])('delivers to %s', async (url) => {
    const response = await request(at(url), { dispatcher: agent, method: 'POST', body: '{}' })
    expect(response.statusCode).toBe(200)
    expect(await response.body.text()).toBe('delivered')
    expect(received).toEqual(['/hook'])
  })

  it('returns a redirect as it is instead of following it', async () => {
    const response = await request(at('http://127.0.0.1:{port}/redirect'), { dispatcher: agent })
    await response.body.dump()
    expect(response.statusCode).toBe(302)
    expect(response.headers.location).toBe('/landing')
    expect(received).toEqual(['/redirect'])
  })

  it('keeps the connection alive between deliveries', async () => {
    // A fresh agent, so that no connection left open by the tests above is counted; one
    // connection per origin, because undici's pool may otherwise open a second one while the
    // first is still finishing its previous response.
    const fresh = createDeliveryAgent({
      guard: createTargetGuard({ allowTargets: ['127.0.0.1'] }),
      connections: 1,
    })
    try {
      for (let i = 0; i < 3; i++) {
        const response = await request(at('http://127.0.0.1:{port}/hook'), { dispatcher: fresh })
        await response.body.dump()
      }
    } finally {
      await fresh.close()
    }
    expect(received).toHaveLength(3)
    expect(connections).toBe(1)
  })
})

describe('without a guard', () => {
  const agent = createDeliveryAgent({ guard: null })
  afterAll(() => agent.close())

  it('connects to any address', async () => {
    const response = await request(at('http://127.0.0.1:{port}/hook'), { dispatcher: agent })
    expect(response.statusCode).toBe(200)
    await response.body.dump()
    expect(received).toEqual(['/hook'])
  })
})
