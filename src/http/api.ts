import { asError } from '../delivery/operational-events.ts'
import { ConfigurationError, EventError, PayloadTooLargeError, ValidationError } from '../errors.ts'
import { hasControlCharacters, ownerProblem } from '../events/owner.ts'
import type { Hooks } from '../hooks.ts'
import { parseInput } from '../subscriptions/subscription-input.ts'
import { problem } from './problem.ts'
import { ProblemResponse, readJsonBody } from './request-body.ts'
import { compilePath, type Route } from './route.ts'
import { createRoutes } from './routes.ts'

/** Options of `hooks.api()`. */
export interface ApiOptions {
  /**
   * Who is calling: the owner (user or tenant id) the request acts for, or null for 401.
   * Return null for missing or bad credentials; a throw means authentication itself broke (a
   * session store down): it is reported on `hooks.on('error')` and the request answers 500.
   * @example authenticate: async (request) => (await sessionOf(request))?.userId ?? null
   */
  authenticate: (request: Request) => string | null | undefined | Promise<string | null | undefined>
  /**
   * Whether the request comes from the event producer, who may post events
   * (`POST /events`) and register event types (`POST /event-types`). Without it, those routes
   * answer 403.
   */
  authenticateProducer?: (request: Request) => boolean | Promise<boolean>
  /**
   * The path the API is mounted under, e.g. `/api/webhooks`; routes and Location headers are
   * relative to it.
   * @default ''
   */
  basePath?: string
  /**
   * Largest request body, in bytes.
   * @default 262144 (256 KiB) plus 1 KiB for the envelope of an ingested event
   */
  maxBodyBytes?: number
}

/**
 * The subscription API as a Web-standard handler, `(Request) => Promise<Response>`: mount it in
 * Node's http, Express, Fastify, Hono or Next.js. Every route is scoped to the owner that
 * `authenticate` returns; errors are `application/problem+json`.
 */
export function createApi(
  hooks: Hooks,
  options: ApiOptions,
): (request: Request) => Promise<Response> {
  if (typeof options?.authenticate !== 'function') {
    throw new ConfigurationError(
      'options.authenticate must be a function (request) => owner | null',
    )
  }
  const basePath = (options.basePath ?? '').replace(/\/+$/, '')
  if (basePath !== '' && !basePath.startsWith('/')) {
    throw new ConfigurationError(`options.basePath must start with '/', got '${basePath}'`)
  }
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 + 1024
  const routes = createRoutes(hooks).map((r) => ({ route: r, match: compilePath(r.path) }))

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    // '/api' mounts '/api' and '/api/…', never '/apihooks'.
    const rest = url.pathname.slice(basePath.length)
    if (!url.pathname.startsWith(basePath) || (rest !== '' && !rest.startsWith('/'))) {
      return problem('not-found', 'not an API path')
    }
    const pathname = rest || '/'
    const candidates = routes
      .map(({ route, match }) => ({ route, params: match(pathname) }))
      .filter((c) => c.params !== null)
    if (candidates.length === 0) return problem('not-found', `no route ${pathname}`)
    const found = candidates.find((c) => c.route.method === request.method)
    if (!found) {
      const allow = candidates.map((c) => c.route.method).join(', ')
      return problem('method-not-allowed', `${request.method} is not allowed here`, {
        headers: { allow },
      })
    }
    const { route } = found
    const owner = await authorize(route, request)
    // Ids never hold control characters (PostgreSQL cannot even store NUL in text): no such thing.
    if (Object.values(found.params ?? {}).some(hasControlCharacters)) {
      return problem('not-found', 'no such resource')
    }
    const searchParams = Object.fromEntries(url.searchParams)
    refuseNul(searchParams, '')
    const query = route.query ? parseInput(route.query, searchParams) : undefined
    // An empty body reads as {}; `null`, like any JSON that is not an object, is refused.
    const json = route.body ? await readJsonBody(request, maxBodyBytes) : undefined
    // Event data is stored as JSON text, where NUL is escaped; any other string is stored as is.
    if (json !== null && typeof json === 'object') {
      for (const [key, value] of Object.entries(json)) if (key !== 'data') refuseNul(value, key)
    }
    const body = route.body ? parseInput(route.body, json === undefined ? {} : json) : undefined
    return route.handle({ owner, params: found.params ?? {}, query, body, basePath })
  }

  async function authorize(route: Route, request: Request): Promise<string> {
    if (route.auth === 'public') return ''
    if (route.auth === 'producer') {
      const producer = (await options.authenticateProducer?.(request)) === true
      if (producer) return ''
      const owner = await options.authenticate(request)
      throw new ProblemResponse(
        owner
          ? problem('forbidden', 'only the event producer (the admin key) can do this')
          : unauthenticated(),
      )
    }
    const owner = await options.authenticate(request)
    // An owner id that could not be stored (empty, control characters) authenticates no one.
    if (typeof owner !== 'string' || ownerProblem(owner)) {
      throw new ProblemResponse(unauthenticated())
    }
    return owner
  }

  return async (request) => {
    try {
      return await handle(request)
    } catch (error) {
      return toProblem(error, hooks)
    }
  }
}

/** Refuses a NUL character in any string (or key) of `value`, naming where it is. */
function refuseNul(value: unknown, field: string): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) {
      throw new ValidationError([{ field, message: 'must not contain NUL (\\u0000) characters' }])
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      const path = field === '' ? key : `${field}.${key}`
      refuseNul(key, path)
      refuseNul(inner, path)
    }
  }
}

function unauthenticated(): Response {
  return problem('unauthenticated', 'send credentials: Authorization: Bearer <api key>', {
    headers: { 'www-authenticate': 'Bearer' },
  })
}

function toProblem(error: unknown, hooks: Hooks): Response {
  if (error instanceof ProblemResponse) return error.response
  if (error instanceof ValidationError) {
    return problem('validation', error.message, { errors: error.errors })
  }
  if (error instanceof PayloadTooLargeError) return problem('payload-too-large', error.message)
  if (error instanceof EventError) return problem('invalid-event', error.message)
  if (error instanceof ConfigurationError) {
    return problem('validation', error.message, {
      errors: [{ field: 'events', message: error.message }],
    })
  }
  hooks.reportError(asError(error))
  return problem('internal', 'an unexpected error occurred; it has been reported')
}
