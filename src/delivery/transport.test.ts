import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { Agent } from 'undici'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { RESPONSE_BODY_LIMIT, type TransportRequest, undiciTransport } from './transport.ts'

type Answer = (req: IncomingMessage, res: ServerResponse, body: string) => void

const answers = new Map<string, Answer>()
let server: Server
let base: string
let connections = 0

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const answer = answers.get(req.url ?? '')
      if (answer) answer(req, res, Buffer.concat(chunks).toString('utf8'))
      else res.writeHead(404).end()
    })
  })
  server.on('connection', () => {
    connections += 1
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})

afterAll(async () => {
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

// A fresh agent for each test, so that the connections a test counts are its own.
let agent: Agent
let transport: ReturnType<typeof undiciTransport>

beforeEach(() => {
  answers.clear()
  connections = 0
  agent = new Agent()
  transport = undiciTransport(agent)
})

afterEach(() => agent.close())

function post(path: string, extra: Partial<TransportRequest> = {}) {
  return transport({
    url: `${base}${path}`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"type":"book.added"}',
    signal: new AbortController().signal,
    ...extra,
  })
}

describe('undiciTransport', () => {
  it('sends the method, headers, body and query, and returns the status, headers and body', async () => {
    let seen: Record<string, string | undefined> = {}
    answers.set('/hook?x=1', (req, res, body) => {
      seen = { method: req.method, url: req.url, type: req.headers['content-type'], body }
      res.writeHead(201, { 'x-answer': 'yes' }).end('created')
    })
    const response = await post('/hook?x=1', { method: 'PUT' })
    expect(seen).toEqual({
      method: 'PUT',
      url: '/hook?x=1',
      type: 'application/json',
      body: '{"type":"book.added"}',
    })
    expect(response.status).toBe(201)
    expect(response.headers['x-answer']).toBe('yes')
    expect(response.body).toBe('created')
  })

  it('joins a repeated header with ", " and keeps a header named __proto__ as a header', async () => {
    answers.set('/headers', (_req, res) => {
      res.setHeader('set-cookie', ['a=1', 'b=2'])
      res.setHeader('__proto__', 'odd')
      res.writeHead(200).end()
    })
    const response = await post('/headers')
    expect(response.headers['set-cookie']).toBe('a=1, b=2')
    expect(Object.hasOwn(response.headers, '__proto__')).toBe(true)
    expect(JSON.stringify(response.headers)).toContain('"__proto__":"odd"')
    expect(Object.getPrototypeOf(response.headers)).toBe(Object.prototype)
  })

  it('skips an informational 103 and returns the response that follows', async () => {
    answers.set('/early', (_req, res) => {
      res.writeEarlyHints({ link: '</style.css>; rel=preload' }, () => {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('after hints')
      })
    })
    const response = await post('/early')
    expect(response.status).toBe(200)
    expect(response.body).toBe('after hints')
  })

  it('keeps the first 8 KiB of a chunked body and reuses the connection after a short one', async () => {
    answers.set('/chunked', (_req, res) => {
      res.writeHead(200)
      res.write('a'.repeat(6000))
      res.end('b'.repeat(6000))
    })
    const first = await post('/chunked')
    // undici takes the connection back once the response's last callback has returned
    await new Promise((resolve) => setImmediate(resolve))
    const second = await post('/chunked')
    expect(first.body).toBe('a'.repeat(6000) + 'b'.repeat(RESPONSE_BODY_LIMIT - 6000))
    expect(second.body.length).toBe(RESPONSE_BODY_LIMIT)
    expect(connections).toBe(1)
  })

  it('stops reading a body past 64 KiB, answers with its first 8 KiB and closes that connection', async () => {
    let ended = false
    let socket: Socket | undefined
    answers.set('/huge', (req, res) => {
      socket = req.socket
      res.writeHead(200)
      const chunk = 'x'.repeat(16 * 1024)
      let sent = 0
      const more = () => {
        // 16 MiB unless the client goes away first
        while (sent < 1024 && res.write(chunk)) sent += 1
        if (sent < 1024) res.once('drain', more)
        else res.end(() => (ended = true))
      }
      more()
    })
    const response = await post('/huge')
    expect(response.status).toBe(200)
    expect(response.body).toBe('x'.repeat(RESPONSE_BODY_LIMIT))
    // the client resets it; the server's socket closes (with ECONNRESET, which http handles)
    if (!socket?.destroyed) await new Promise((resolve) => socket?.once('close', resolve))
    expect(ended).toBe(false)
  })

  it('fails when the body is shorter than its content-length says', async () => {
    answers.set('/liar', (req, res) => {
      res.writeHead(200, { 'content-length': '100' })
      res.write('short')
      req.socket.destroy()
    })
    await expect(post('/liar')).rejects.toThrow()
  })

  it('fails with the signal’s reason when aborted before the headers or during the body', async () => {
    answers.set('/hang', () => {})
    const early = new AbortController()
    const before = post('/hang', { signal: early.signal })
    setTimeout(() => early.abort(new DOMException('late', 'TimeoutError')), 50)
    await expect(before).rejects.toMatchObject({ name: 'TimeoutError' })

    answers.set('/trickle', (_req, res) => {
      res.writeHead(200)
      res.write('first part')
    })
    const late = new AbortController()
    const during = post('/trickle', { signal: late.signal })
    setTimeout(() => late.abort(new DOMException('late', 'TimeoutError')), 100)
    await expect(during).rejects.toMatchObject({ name: 'TimeoutError' })

    const aborted = new AbortController()
    aborted.abort(new DOMException('already', 'TimeoutError'))
    await expect(post('/small', { signal: aborted.signal })).rejects.toMatchObject({
      name: 'TimeoutError',
    })
  })

  it('fails with the connection error when nothing listens, and for a non-HTTP or unparsable URL', async () => {
    const closed = createServer()
    closed.listen(0, '127.0.0.1')
    await once(closed, 'listening')
    const port = (closed.address() as AddressInfo).port
    closed.close()
    await once(closed, 'close')
    await expect(
      transport({
        url: `http://127.0.0.1:${port}/`,
        method: 'POST',
        headers: {},
        body: '',
        signal: new AbortController().signal,
      }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' })
    await expect(
      transport({
        url: 'ftp://127.0.0.1/',
        method: 'POST',
        headers: {},
        body: '',
        signal: new AbortController().signal,
      }),
    ).rejects.toThrow('Invalid URL protocol')
    // a promise that rejects, never a throw from the call itself
    const unparsable = transport({
      url: 'not a url',
      method: 'POST',
      headers: {},
      body: '',
      signal: new AbortController().signal,
    })
    await expect(unparsable).rejects.toThrow(TypeError)
  })

  it('fails, sending nothing, when a header value cannot be sent', async () => {
    let calls = 0
    answers.set('/never', (_req, res) => {
      calls += 1
      res.writeHead(200).end()
    })
    await expect(post('/never', { headers: { 'x-bad': 'a\r\nb' } })).rejects.toThrow()
    expect(calls).toBe(0)
  })
})
