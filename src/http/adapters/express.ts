import type { IncomingMessage, ServerResponse } from 'node:http'
import { abortOnClose, type FetchHandler, readRequest, writeResponse } from './node.ts'

/** The part of Express's request the adapter uses (Express 4 and 5's `Request` fit it). */
export interface ExpressRequest extends IncomingMessage {
  /** The URL before mounting stripped the mount path from `url`. */
  originalUrl?: string
  /** What a body parser (e.g. `express.json()`) made of the body, if one ran. */
  body?: unknown
}

/** Express's `next`. */
export type ExpressNext = (error?: unknown) => void

/** An Express middleware, usable as `app.use(path, middleware)` or in a route. */
export type ExpressMiddleware = (
  req: ExpressRequest,
  res: ServerResponse,
  next: ExpressNext,
) => void

/**
 * Serves a Web-standard handler as Express middleware (Express 4 and 5). Mount it under the
 * handler's `basePath`: the URL comes from `req.originalUrl`, which keeps the mount path that
 * Express strips from `req.url`. An error the handler throws goes to `next(error)`, to the
 * application's error handler.
 *
 * Mount it before `express.json()` (or give the body parser only to your own routes): the API
 * then reads the body itself, with its own size limit and `application/problem+json` errors.
 * When a body parser did run first, the body is rebuilt from `req.body` (re-serialized as JSON
 * when the parser made an object of it) so the API still works; but the parser's own limit
 * (100 KB for `express.json()`) and its error pages for invalid JSON then apply.
 *
 * @example
 * import express from 'express'
 * import { toExpress } from 'resthooks/express'
 *
 * const app = express()
 * app.use('/api/webhooks', toExpress(hooks.api({ authenticate, basePath: '/api/webhooks' })))
 * app.use(express.json()) // the application's own routes
 */
export function toExpress(handler: FetchHandler): ExpressMiddleware {
  return (req, res, next) => {
    serve(handler, req, res).catch(next)
  }
}

async function serve(handler: FetchHandler, req: ExpressRequest, res: ServerResponse) {
  const request = readRequest(req, {
    path: req.originalUrl ?? req.url ?? '/',
    signal: abortOnClose(res),
    ...parsedBody(req),
  })
  await writeResponse(res, await handler(request))
}

/** The body an earlier body parser read, as bytes or text; nothing when the stream is unread. */
function parsedBody(req: ExpressRequest): { body?: Uint8Array | string | null } {
  if (!req.readableDidRead && !req.readableEnded) return {}
  const { body } = req
  if (body === undefined || body === null) return { body: null }
  if (typeof body === 'string' || body instanceof Uint8Array) return { body }
  return { body: JSON.stringify(body) }
}
