import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { abortOnClose, type FetchHandler, readRequest } from './node.ts'

/** The part of Fastify's request the plugin uses. */
export interface FastifyRequestLike {
  raw: IncomingMessage
  /** The raw body stream, as the plugin's content-type parser passes it through. */
  body?: unknown
}

/** The part of Fastify's reply the plugin uses. */
export interface FastifyReplyLike {
  raw: ServerResponse
  code(statusCode: number): unknown
  header(name: string, value: string): unknown
  send(payload?: unknown): unknown
}

/** The part of a Fastify instance the plugin uses (Fastify 4 and 5 fit it). */
export interface FastifyInstanceLike {
  removeAllContentTypeParsers(): unknown
  addContentTypeParser(
    contentType: string,
    parser: (
      request: unknown,
      payload: IncomingMessage,
      done: (error: Error | null, body?: unknown) => void,
    ) => void,
  ): unknown
  all(
    path: string,
    handler: (request: FastifyRequestLike, reply: FastifyReplyLike) => Promise<unknown>,
  ): unknown
}

/** A Fastify plugin: `app.register(plugin, { prefix })`. */
export type FastifyPlugin = (fastify: FastifyInstanceLike) => Promise<void>

/**
 * Serves a Web-standard handler as a Fastify plugin (Fastify 4 and 5). Register it with the
 * handler's `basePath` as `prefix`: it answers every method on every path under it.
 *
 * Inside the plugin's own (encapsulated) context, Fastify's body parsers are replaced by one that
 * passes the raw body through, so the API reads it itself, with its own size limit and
 * `application/problem+json` errors; the application's other routes keep theirs. The reply
 * goes through Fastify (`reply.send`), so hooks such as `onSend`, and headers set by plugins
 * such as `@fastify/cors`, apply; errors the handler throws go to Fastify's error handler.
 *
 * @example
 * import Fastify from 'fastify'
 * import { toFastify } from 'resthooks/fastify'
 *
 * const app = Fastify()
 * const api = hooks.api({ authenticate, basePath: '/api/webhooks' })
 * await app.register(toFastify(api), { prefix: '/api/webhooks' })
 */
export function toFastify(handler: FetchHandler): FastifyPlugin {
  return async (fastify) => {
    fastify.removeAllContentTypeParsers()
    fastify.addContentTypeParser('*', (_request, payload, done) => done(null, payload))
    const route = async (request: FastifyRequestLike, reply: FastifyReplyLike) => {
      const { body } = request
      const response = await handler(
        readRequest(request.raw, {
          signal: abortOnClose(reply.raw),
          ...(body instanceof Readable ? { body } : {}),
        }),
      )
      reply.code(response.status)
      // Fastify keeps each Set-Cookie (the iteration yields them one by one) on its own line.
      for (const [name, value] of response.headers) reply.header(name, value)
      // biome-ignore lint/suspicious/noExplicitAny: Node's and the DOM's ReadableStream types differ
      return reply.send(response.body ? Readable.fromWeb(response.body as any) : undefined)
    }
    fastify.all('/', route)
    fastify.all('/*', route)
  }
}
