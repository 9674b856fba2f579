import { once } from 'node:events'
import { createServer, request as httpRequest, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import express from 'express'
import Fastify from 'fastify'
import { Hono } from 'hono'
import { afterEach, describe, expect, it } from 'vitest'
import { toExpress } from '../src/http/adapters/express.ts'
import { toFastify } from '../src/http/adapters/fastify.ts'
import { type FetchHandler, toNodeListener } from '../src/http/adapters/node.ts'
import { bookstoreHooks } from './support/bookstore.ts'

const PREFIX = '/api/webhooks'

/** A host application with the handler mounted under PREFIX, listening on 127.0.0.1. */
interface Mounted {
  origin: string
  close: () => Promise<void>
}

/**
 * Each framework's host application: the API under PREFIX, and two routes of its own outside it,
 * `GET /health` and `POST /echo` (which parses JSON with the framework's own parser).
 */
const frameworks: Record<string, (handler: FetchHandler) => Promise<Mounted>> = {
  async node(handler) {
    const api = toNodeListener(handler)
    const server = createServer((req, res) => {
      const path = req.url ?? '/'
      if (path === PREFIX || path.startsWith(`${PREFIX}/`) || path.startsWith(`${PREFIX}?`)) {
        api(req, res)
      } else if (path === '/echo' && req.method === 'POST') {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          const parsed = JSON.parse(Buffer.concat(chunks).toString()) as unknown
          res.setHeader('content-type', 'application/json')
          res.end(JSON.stringify({ echo: parsed }))
        })
      } else if (path === '/health') {
        res.end('ok')
      } else {
        res.statusCode = 404
        res.end()
      }
    })
    return listen(server)
  },

  async express(handler) {
    const app = express()
    app.use(PREFIX, toExpress(handler))
    app.use(express.json())
    app.get('/health', (_req, res) => {
      res.send('ok')
    })
    app.post('/echo', (req, res) => {
      res.json({ echo: req.body as unknown })
    })
    return listen(createServer(app))
  },

  async fastify(handler) {
    const app = Fastify()
    await app.register(toFastify(handler), { prefix: PREFIX })
    app.get('/health', async () => 'ok')
    app.post('/echo', async (request) => ({ echo: request.body }))
    await app.listen({ host: '127.0.0.1', port: 0 })
    const { port } = app.server.address() as AddressInfo
    return { origin: `http://127.0.0.1:${port}`, close: () => app.close() }
  },

  async hono(handler) {
    const app = new Hono()
    app.all(`${PREFIX}/*`, (c) => handler(c.req.raw))
    app.get('/health', (c) => c.text('ok'))
    app.post('/echo', async (c) => c.json({ echo: await c.req.json() }))
    const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 })
    await once(server, 'listening')
    const { port } = server.address() as AddressInfo
    return {
      origin: `http://127.0.0.1:${port}`,
      close: () => new Promise<void>((resolve) => server.close(() => resolve())),
    }
  },
}

const cleanups: (() => Promise<void>)[] = []

afterEach(async () => {
  // Servers first, then the stores they use.
  for (const cleanup of cleanups.splice(0)) await cleanup()
})

async function listen(server: Server): Promise<Mounted> {
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()))
        server.closeAllConnections()
      }),
  }
}

/** The bookstore API mounted in a framework; the client sends `Bearer k1` unless told not to. */
async function mountApi(mount: (handler: FetchHandler) => Promise<Mounted>) {
  const env = await bookstoreHooks()
  cleanups.push(env.close)
  const handler = env.hooks.api({
    authenticate: (req) => (req.headers.get('authorization') === 'Bearer k1' ? 'u1' : null),
    basePath: PREFIX,
  })
  const mounted = await mount(handler)
  cleanups.unshift(mounted.close)
  const call = (path: string, init: RequestInit & { json?: unknown; anonymous?: boolean } = {}) => {
    const { json, anonymous, ...rest } = init
    const headers = new Headers(rest.headers)
    if (!anonymous) headers.set('authorization', 'Bearer k1')
    if (json !== undefined) headers.set('content-type', 'application/json')
    return fetch(`${mounted.origin}${path}`, {
      ...rest,
      headers,
      ...(json !== undefined ? { body: JSON.stringify(json) } : {}),
    })
  }
  return { call, origin: mounted.origin }
}

async function expectProblem(response: Response, status: number, kind: string) {
  expect(response.status).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  const body = (await response.json()) as { type: string; status: number }
  expect(body).toMatchObject({ type: `urn:resthooks:problem:${kind}`, status })
}

/** The scenario every framework must pass. */
async function subscriptionScenario(mount: (handler: FetchHandler) => Promise<Mounted>) {
  const { call } = await mountApi(mount)
  const target = 'https://example.com/hooks'

  const created = await call(`${PREFIX}/hooks`, {
    method: 'POST',
    json: { event: 'book.added', target },
  })
  expect(created.status).toBe(201)
  const location = created.headers.get('location') ?? ''
  expect(location.startsWith(`${PREFIX}/hooks/`)).toBe(true)
  const subscription = (await created.json()) as { id: string; secret: string; target: string }
  expect(subscription.secret).toMatch(/^whsec_/)
  expect(location).toBe(`${PREFIX}/hooks/${subscription.id}`)

  const listed = await call(`${PREFIX}/hooks?limit=10`)
  expect(listed.status).toBe(200)
  const page = (await listed.json()) as { data: { id: string }[] }
  expect(page.data.map((s) => s.id)).toEqual([subscription.id])

  const got = await call(location)
  expect(got.status).toBe(200)
  const one = (await got.json()) as Record<string, unknown>
  expect(one).toMatchObject({ id: subscription.id, event: 'book.added', target })
  expect(one).not.toHaveProperty('secret')

  const patched = await call(location, {
    method: 'PATCH',
    json: { target: 'https://example.com/other' },
  })
  expect(patched.status).toBe(200)
  expect(await patched.json()).toMatchObject({ target: 'https://example.com/other' })

  const anonymous = await call(`${PREFIX}/hooks`, { anonymous: true })
  expect(anonymous.headers.get('www-authenticate')).toBe('Bearer')
  await expectProblem(anonymous, 401, 'unauthenticated')

  const json = { 'content-type': 'application/json' }
  await expectProblem(
    await call(`${PREFIX}/hooks`, { method: 'POST', headers: json, body: '{"event":' }),
    400,
    'invalid-json',
  )
  await expectProblem(
    await call(`${PREFIX}/hooks`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: JSON.stringify({ event: 'book.added', target }),
    }),
    415,
    'unsupported-media-type',
  )
  const large = JSON.stringify({
    event: 'book.added',
    target,
    metadata: { x: 'a'.repeat(300 * 1024) },
  })
  await expectProblem(
    await call(`${PREFIX}/hooks`, { method: 'POST', headers: json, body: large }),
    413,
    'payload-too-large',
  )
  // Streamed (chunked, no Content-Length): counted as it arrives, cancelled past the limit.
  await expectProblem(
    await call(`${PREFIX}/hooks`, {
      method: 'POST',
      headers: json,
      body: chunked(large),
      duplex: 'half',
    } as RequestInit),
    413,
    'payload-too-large',
  )
  await expectProblem(await call(`${PREFIX}/nothing-here`), 404, 'not-found')

  const deleted = await call(location, { method: 'DELETE' })
  expect(deleted.status).toBe(204)
  expect(await deleted.text()).toBe('')
  await expectProblem(await call(location), 404, 'not-found')
}

/** The host application's own routes still work beside the API. */
async function hostRoutesScenario(mount: (handler: FetchHandler) => Promise<Mounted>) {
  const { call } = await mountApi(mount)
  const health = await call('/health', { anonymous: true })
  expect(health.status).toBe(200)
  expect(await health.text()).toBe('ok')
  const echo = await call('/echo', { method: 'POST', anonymous: true, json: { a: 1 } })
  expect(echo.status).toBe(200)
  expect(await echo.json()).toEqual({ echo: { a: 1 } })
}

/** A body sent in 16 KiB chunks, without Content-Length. */
function chunked(text: string): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  let offset = 0
  return new ReadableStream({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(bytes.subarray(offset, offset + 16 * 1024))
      offset += 16 * 1024
    },
  })
}

describe.each(Object.entries(frameworks))('mounted in %s', (_name, mount) => {
  it('serves the subscription API under its prefix', () => subscriptionScenario(mount))
  it("leaves the host application's other routes alone", () => hostRoutesScenario(mount))
})

/** A handler that answers with what it received, to check what the adapters pass through. */
const echoHandler: FetchHandler = async (request) => {
  const url = new URL(request.url)
  const headers = new Headers({ 'content-type': 'application/json' })
  headers.append('set-cookie', 'a=1; Path=/')
  headers.append('set-cookie', 'b=2; Path=/')
  const body = {
    method: request.method,
    path: `${url.pathname}${url.search}`,
    host: url.host,
    multi: request.headers.get('x-multi'),
    body: request.body ? await request.text() : null,
  }
  return new Response(JSON.stringify(body), { status: 207, headers })
}

/** The frameworks that go through an adapter of ours (Hono calls the handler itself). */
const adapted = Object.entries(frameworks).filter(([name]) => name !== 'hono')

describe.each(adapted)('the %s adapter', (_name, mount) => {
  it('passes method, path, repeated headers and body, and every Set-Cookie back', async () => {
    const mounted = await mount(echoHandler)
    cleanups.push(mounted.close)
    const response = await fetch(`${mounted.origin}${PREFIX}/x/y?q=1`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    })
    expect(response.status).toBe(207)
    expect(response.headers.getSetCookie()).toEqual(['a=1; Path=/', 'b=2; Path=/'])
    expect(await response.json()).toMatchObject({
      method: 'PUT',
      path: `${PREFIX}/x/y?q=1`,
      body: 'hello',
    })

    const raw = await rawRequest(mounted.origin, `${PREFIX}/z`, [
      ['Host', 'evil.example/api/other?'],
      ['X-Multi', 'one'],
      ['X-Multi', 'two'],
    ])
    expect(raw).toMatchObject({
      method: 'GET',
      path: `${PREFIX}/z`,
      host: 'localhost',
      multi: 'one, two',
      body: null,
    })
  })
})

/** A GET with the given raw header lines (repeated names kept), answered as JSON. */
async function rawRequest(origin: string, path: string, headers: [string, string][]) {
  const { hostname, port } = new URL(origin)
  const request = httpRequest({ hostname, port, path, headers: headers.flat(), setHost: false })
  request.end()
  const [response] = (await once(request, 'response')) as [import('node:http').IncomingMessage]
  const chunks: Buffer[] = []
  for await (const chunk of response) chunks.push(chunk as Buffer)
  return JSON.parse(Buffer.concat(chunks).toString()) as unknown
}

describe('toNodeListener', () => {
  it('answers a thrown error with a 500 problem and reports it', async () => {
    const errors: unknown[] = []
    const server = createServer(
      toNodeListener(
        async () => {
          throw new Error('boom')
        },
        { onError: (error) => errors.push(error) },
      ),
    )
    const mounted = await listen(server)
    cleanups.push(mounted.close)
    const response = await fetch(`${mounted.origin}/anything`)
    await expectProblem(response, 500, 'internal')
    expect(errors).toHaveLength(1)
  })

  it('survives a client that disconnects mid-response, and aborts the request signal', async () => {
    const errors: unknown[] = []
    let aborted: Promise<unknown> | undefined
    const server = createServer(
      toNodeListener(
        async (request) => {
          aborted = once(request.signal, 'abort')
          let n = 0
          const body = new ReadableStream<Uint8Array>({
            async pull(controller) {
              await new Promise((resolve) => setTimeout(resolve, 5))
              controller.enqueue(new TextEncoder().encode(`chunk ${n++}\n`))
            },
          })
          return new Response(body, { headers: { 'content-type': 'text/plain' } })
        },
        { onError: (error) => errors.push(error) },
      ),
    )
    const mounted = await listen(server)
    cleanups.push(mounted.close)
    const controller = new AbortController()
    const response = await fetch(mounted.origin, { signal: controller.signal })
    const reader = response.body?.getReader()
    await reader?.read()
    controller.abort()
    await aborted
    const health = await fetch(mounted.origin, { method: 'HEAD' })
    expect(health.status).toBe(200)
    expect(errors).toEqual([])
  })
})

describe('toExpress after express.json()', () => {
  it('rebuilds the body the parser consumed', async () => {
    const { call } = await mountApi(async (handler) => {
      const app = express()
      app.use(express.json())
      app.use(PREFIX, toExpress(handler))
      return listen(createServer(app))
    })
    const created = await call(`${PREFIX}/hooks`, {
      method: 'POST',
      json: { event: 'book.added', target: 'https://example.com/hooks' },
    })
    expect(created.status).toBe(201)
    expect(await created.json()).toMatchObject({ event: 'book.added' })
  })
})
