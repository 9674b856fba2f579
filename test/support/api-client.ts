import { sql } from 'kysely'
import { expect } from 'vitest'
import type { z } from 'zod'
import { createRoutes } from '../../src/http/routes.ts'
import { problemSchema } from '../../src/http/schemas.ts'
import type { HooksOptions } from '../../src/index.ts'
import type { Store } from '../../src/store/store.ts'
import { bookstoreHooks } from './bookstore.ts'

/** The credentials of the event producer (the service's admin key). */
export const ADMIN = 'admin'

/**
 * The API over a fresh bookstore database, mounted at `/api`: `Bearer <owner>` authenticates an
 * owner, `Bearer admin` the event producer.
 */
export async function apiEnv(options: Partial<HooksOptions> = {}) {
  const env = await bookstoreHooks(options)
  const api = env.hooks.api({
    authenticate: (req) => req.headers.get('authorization')?.replace('Bearer ', '') || null,
    authenticateProducer: (req) => req.headers.get('authorization') === `Bearer ${ADMIN}`,
    basePath: '/api',
  })
  const routes = createRoutes(env.hooks)
  return {
    ...env,
    api,
    /** Calls the handler in-process; `as` is who calls (null: no credentials). */
    async call(method: string, path: string, options: CallOptions = {}): Promise<ApiResponse> {
      const { as = 'u1', body, headers = {} } = options
      const bytes = body instanceof Uint8Array
      const init: RequestInit & { duplex?: 'half' } = {
        method,
        headers: {
          ...(as === null ? {} : { authorization: `Bearer ${as}` }),
          ...(body !== undefined && !bytes ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
      }
      if (body instanceof ReadableStream) {
        init.body = body
        init.duplex = 'half'
      } else if (bytes) {
        init.body = body
      } else if (body !== undefined) {
        init.body = typeof body === 'string' ? body : JSON.stringify(body)
      }
      const response = await api(new Request(`http://x${path}`, init))
      const text = await response.text()
      let json: unknown
      try {
        json = text === '' ? undefined : JSON.parse(text)
      } catch {
        json = undefined
      }
      return { status: response.status, headers: response.headers, text, json: json as Json }
    },
    /** The route declared for `METHOD /path` (path with `{id}`), as createRoutes gives it. */
    route(key: string) {
      const found = routes.find((r) => `${r.method} ${r.path}` === key)
      if (!found) throw new Error(`no route ${key}`)
      return found
    },
    /** Every row of every resthooks table: equal dumps mean the store did not change. */
    dump: () => dumpStore(env.hooks.store),
  }
}

export type ApiEnv = Awaited<ReturnType<typeof apiEnv>>

export interface CallOptions {
  /** The owner the credentials name, `admin` for the producer, or null for none. @default 'u1' */
  as?: string | null
  /**
   * An object is sent as JSON; a string as it is; bytes as they are, with no content type unless
   * `headers` gives one; a stream as a streamed body.
   */
  body?: unknown
  headers?: Record<string, string>
}

// biome-ignore lint/suspicious/noExplicitAny: response bodies are checked against schemas
export type Json = any

export interface ApiResponse {
  status: number
  headers: Headers
  text: string
  json: Json
}

/**
 * Checks a success response against its route: the declared status and, when the route declares
 * one, its zod response schema, field for field (a field the schema does not describe fails).
 */
export function expectSuccess(env: ApiEnv, key: string, response: ApiResponse): Json {
  const route = env.route(key)
  expect(response.status, `${key}: ${response.text}`).toBe(route.success.status)
  if (route.success.schema) {
    expect(response.headers.get('content-type')).toBe('application/json')
    expectMatchesSchema(route.success.schema, response.json)
  } else if (route.success.status !== 200) {
    expect(response.text).toBe('')
  }
  return response.json
}

/** `value` parses with `schema`, and nothing in it is left out by the schema. */
export function expectMatchesSchema(schema: z.ZodType, value: unknown): void {
  const parsed = schema.safeParse(value)
  expect(parsed.error?.issues ?? [], JSON.stringify(value)).toEqual([])
  // z.object strips fields it does not know: a difference is a field the docs do not describe.
  expect(parsed.data).toEqual(value)
}

/**
 * Checks an RFC 9457 problem response: status, content type, its members and, for validation
 * problems, that `field` is among the field errors.
 */
export function expectProblem(
  response: ApiResponse,
  status: number,
  options: { type?: string; field?: string } = {},
): Json {
  expect(response.status, response.text).toBe(status)
  expect(response.headers.get('content-type')).toBe('application/problem+json')
  expectMatchesSchema(problemSchema, response.json)
  const body = response.json
  expect(body.status).toBe(status)
  expect(body.type).toMatch(/^urn:resthooks:problem:[a-z-]+$/)
  expect(body.title.length).toBeGreaterThan(0)
  expect(body.detail.length).toBeGreaterThan(0)
  if (options.type) expect(body.type).toBe(`urn:resthooks:problem:${options.type}`)
  if (options.field !== undefined) {
    expect(body.errors, 'a validation problem lists its field errors').toBeInstanceOf(Array)
    const fields = (body.errors as { field: string; message: string }[]).map((e) => e.field)
    expect(fields).toContain(options.field)
    for (const error of body.errors) expect(error.message.length).toBeGreaterThan(0)
  }
  return body
}

/** Every row of every resthooks table, in id order (SQLite's outbox relayed first). */
export async function dumpStore(store: Store): Promise<Record<string, unknown[]>> {
  await store.relayOutbox?.()
  const tables = (await store.db.introspection.getTables())
    .map((table) => table.name)
    .filter((name) => name.startsWith('resthooks_'))
    .sort()
  const dump: Record<string, unknown[]> = {}
  for (const table of tables) {
    const key =
      table === 'resthooks_migrations'
        ? 'version'
        : table === 'resthooks_event_types'
          ? 'name'
          : table === 'resthooks_outbox'
            ? 'seq'
            : 'id'
    const { rows } = await sql`SELECT * FROM ${sql.table(table)} ORDER BY ${sql.ref(key)}`.execute(
      store.db,
    )
    dump[table] = rows
  }
  return dump
}

/** A request body of `total` spaces, streamed in chunks; `pulled()` tells how much was read. */
export function streamedBody(total: number, chunk = 64 * 1024) {
  let sent = 0
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        if (sent >= total) {
          controller.close()
          return
        }
        const size = Math.min(chunk, total - sent)
        sent += size
        controller.enqueue(new Uint8Array(size).fill(0x20))
      },
    },
    { highWaterMark: 0 }, // nothing is produced before it is read
  )
  return { stream, pulled: () => sent }
}
