import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { problem } from '../problem.ts'

/** A Web-standard handler, as `hooks.api()` returns. */
export type FetchHandler = (request: Request) => Response | Promise<Response>

/** Options of `readRequest()`. */
export interface ReadRequestOptions {
  /**
   * The path and query to build the URL from, instead of `req.url` (Express strips its mount
   * path from `req.url`; pass `req.originalUrl`).
   */
  path?: string
  /**
   * The body, instead of reading `req` itself: a stream (Fastify's payload), or the bytes or text
   * an earlier body parser already read. With bytes or text, `Content-Length` is set to their
   * length and `Content-Encoding` dropped, as they are the decoded body.
   */
  body?: Readable | Uint8Array | string | null
  /** Aborts the request's `signal`, e.g. when the client disconnects. */
  signal?: AbortSignal
}

/** Options of `toNodeListener()`. */
export interface NodeListenerOptions {
  /**
   * Told of errors the handler throws (the client gets a 500 problem) and of failures while
   * streaming a response.
   * @default console.error
   */
  onError?: (error: unknown) => void
}

const HOST = /^(?:[a-z0-9_.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i

/**
 * A Web `Request` from a Node request: the method, the URL, every header (repeated ones
 * included), and the body, streamed as it arrives, for methods that have one.
 *
 * The Host header only names the URL's origin, and only when it is a plain `host[:port]`;
 * otherwise the origin is `http://localhost`. The path always comes from the request line.
 *
 * @example
 * const request = readRequest(req)
 * const response = await handler(request)
 */
export function readRequest(req: IncomingMessage, options: ReadRequestOptions = {}): Request {
  const method = req.method ?? 'GET'
  const headers = new Headers()
  const raw = req.rawHeaders
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string
    // HTTP/2 pseudo-headers (:method, :path…) are not headers.
    if (!name.startsWith(':')) headers.append(name, raw[i + 1] as string)
  }
  const init: RequestInit = { method, headers }
  if (options.signal) init.signal = options.signal
  if (method !== 'GET' && method !== 'HEAD') {
    const given = options.body
    if (typeof given === 'string' || given instanceof Uint8Array) {
      headers.set('content-length', String(Buffer.byteLength(given)))
      headers.delete('content-encoding')
      headers.delete('transfer-encoding')
      init.body = given
    } else if (given instanceof Readable) {
      init.body = streamOf(given)
      init.duplex = 'half'
    } else if (given === undefined && hasBody(req)) {
      init.body = streamOf(req)
      init.duplex = 'half'
    }
  }
  return new Request(urlOf(req, options.path ?? req.url ?? '/'), init)
}

/**
 * Writes a Web `Response` to a Node response: the status, every header (each `Set-Cookie` on
 * its own line; headers set earlier, e.g. by a CORS middleware, are kept), and the body,
 * streamed with backpressure. Resolves when the response is sent, or when the client has gone
 * away (the body is then cancelled); rejects when the body fails midway, after destroying the
 * connection, as the status has already been sent.
 *
 * @example
 * await writeResponse(res, new Response('ok', { headers: { 'content-type': 'text/plain' } }))
 */
export async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status
  if (response.statusText) res.statusMessage = response.statusText
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value)
  }
  const cookies = response.headers.getSetCookie()
  if (cookies.length > 0) res.setHeader('set-cookie', cookies)
  const body = response.body
  if (!body || res.req?.method === 'HEAD' || res.destroyed) {
    await body?.cancel().catch(() => {})
    if (!res.destroyed) res.end()
    return
  }
  try {
    // biome-ignore lint/suspicious/noExplicitAny: Node's and the DOM's ReadableStream types differ
    await pipeline(Readable.fromWeb(body as any), res)
  } catch (error) {
    if (res.headersSent && isClientGone(error)) return
    res.destroy()
    throw error
  }
}

/**
 * A Node `http` request listener that serves a Web-standard handler: it builds a `Request`
 * (aborted if the client disconnects), calls the handler and writes its `Response`. An error the
 * handler throws becomes a 500 `application/problem+json` and goes to `onError`; it never
 * crashes the process.
 *
 * @example
 * import { createServer } from 'node:http'
 * import { toNodeListener } from 'resthooks/node'
 *
 * const api = toNodeListener(hooks.api({ authenticate, basePath: '/api/webhooks' }))
 * createServer((req, res) => {
 *   if (req.url === '/api/webhooks' || req.url?.startsWith('/api/webhooks/')) return api(req, res)
 *   res.end('my app')
 * }).listen(3000)
 */
export function toNodeListener(
  handler: FetchHandler,
  options: NodeListenerOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  const onError = options.onError ?? ((error: unknown) => console.error(error))
  return (req, res) => {
    serve(handler, req, res, onError).catch(onError)
  }
}

async function serve(
  handler: FetchHandler,
  req: IncomingMessage,
  res: ServerResponse,
  onError: (error: unknown) => void,
): Promise<void> {
  let response: Response
  try {
    response = await handler(readRequest(req, { signal: abortOnClose(res) }))
  } catch (error) {
    onError(error)
    response = problem('internal', 'an unexpected error occurred')
  }
  await writeResponse(res, response)
}

/**
 * A signal that aborts when the response closes before it finished: the client went away.
 *
 * @example
 * const request = readRequest(req, { signal: abortOnClose(res) })
 */
export function abortOnClose(res: ServerResponse): AbortSignal {
  const controller = new AbortController()
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('the client disconnected'))
  })
  return controller.signal
}

/** Whether a request has a body: RFC 9112 §6.3, a Transfer-Encoding or a non-zero length. */
function hasBody(req: IncomingMessage): boolean {
  if (req.headers['transfer-encoding'] !== undefined) return true
  const length = req.headers['content-length']
  return length !== undefined && length !== '0'
}

function urlOf(req: IncomingMessage, target: string): string {
  const protocol = 'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http'
  const host = req.headers.host ?? req.headers[':authority']
  const origin =
    typeof host === 'string' && HOST.test(host) ? `${protocol}://${host}` : 'http://localhost'
  return `${origin}${pathOf(target)}`
}

/** The path and query of a request target: origin-form as is, absolute-form reduced to it. */
function pathOf(target: string): string {
  if (target.startsWith('/')) return target
  try {
    const url = new URL(target)
    return `${url.pathname}${url.search}`
  } catch {
    return '/'
  }
}

/**
 * A Node stream as a Web stream, pulled only when the handler reads. Cancelling it (a body
 * over the size limit) discards the rest instead of destroying the connection, so the response
 * can still be sent.
 */
function streamOf(source: Readable): ReadableStream<Uint8Array> {
  let started = false
  let settled = false
  let onData: (chunk: Buffer | string) => void = () => {}
  return new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (!started) {
          started = true
          onData = (chunk) => {
            if (settled) return
            controller.enqueue(typeof chunk === 'string' ? Buffer.from(chunk) : chunk)
            if ((controller.desiredSize ?? 0) <= 0) source.pause()
          }
          const finish = (error?: Error) => {
            if (settled) return
            settled = true
            source.off('data', onData)
            if (error) controller.error(error)
            else controller.close()
          }
          source.on('data', onData)
          source.once('end', () => finish())
          source.once('error', finish)
          source.once('close', () => {
            if (!source.readableEnded) finish(new Error('the client aborted the request'))
          })
        }
        source.resume()
      },
      cancel() {
        settled = true
        source.off('data', onData)
        source.on('error', () => {})
        source.resume()
      },
    },
    { highWaterMark: 0 },
  )
}

function isClientGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE'
}
