import { randomBytes } from 'node:crypto'
import { asError } from '../delivery/operational-events.ts'
import { ConfigurationError } from '../errors.ts'
import { hasControlCharacters } from '../events/owner.ts'
import type { Hooks } from '../hooks.ts'
import { adminKeyProblem } from '../service/admin-key.ts'
import { isAssetName, serveAsset } from './assets.ts'
import { type AdminContext, noticeOf } from './context.ts'
import { CSRF_FIELD, CSRF_HEADER, crossSiteProblem, tokenMatches } from './csrf.ts'
import { FormBodyError, fieldsWithNul, readForm } from './form-body.ts'
import { type SignInConfig, signIn, signInForm, signOut } from './handlers/sign-in.ts'
import { type Identified, identifyOperator, type OperatorAuth } from './operator.ts'
import { messagePage, notSignedInPage } from './pages/message-page.ts'
import { redirect } from './responses.ts'
import { createRouter } from './router.ts'
import { adminRoutes, NUL_CHECKED_ROUTES } from './routes.ts'
import { createRevocations, deriveKeys } from './session.ts'

/** Options of `hooks.admin()`. */
export interface AdminOptions {
  /**
   * Whether the request comes from an operator, for applications that sign operators in
   * themselves (a staff session, SSO). Only `true` grants access. A throw is reported on
   * `hooks.on('error')` and the request answers 500.
   * @example authenticate: async (request) => (await sessionOf(request))?.isStaff === true
   */
  authenticate?: (request: Request) => boolean | Promise<boolean>
  /**
   * Turns on the dashboard's own sign-in page: operators sign in with this key (what
   * `resthooks serve` does with `RESTHOOKS_ADMIN_KEY`). At least 16 characters.
   */
  adminKey?: string
  /**
   * The path the dashboard is mounted under, e.g. `/admin`; links, forms and cookies use it.
   * @default ''
   */
  basePath?: string
  /**
   * Keys the session and CSRF tokens. Give every process that serves the dashboard the same
   * value. Default: derived from `adminKey`; without one, random per process (then CSRF tokens
   * made by one process are refused by another).
   */
  secret?: string
  /**
   * Marks cookies `Secure`. Default: when the request's URL is https. Set it to true behind a
   * proxy that terminates TLS.
   */
  secureCookies?: boolean
}

const KNOWN = new Set(['authenticate', 'adminKey', 'basePath', 'secret', 'secureCookies'])

/**
 * The admin dashboard as a Web-standard handler, `(Request) => Promise<Response>`: every owner's
 * subscriptions and deliveries, charts, and the operator's actions, as server-rendered pages
 * that work without JavaScript. Mount it under `basePath` like the API.
 */
export function createAdmin(
  hooks: Hooks,
  options: AdminOptions,
): (request: Request) => Promise<Response> {
  const base = checkOptions(options)
  const adminKey = options.adminKey
  const keys = deriveKeys(options.secret ?? adminKey ?? randomBytes(32))
  const revocations = createRevocations()
  const cookiePath = base === '' ? '/' : base
  const secureCookie = (request: Request) =>
    options.secureCookies ?? new URL(request.url).protocol === 'https:'
  const auth: OperatorAuth = {
    keys,
    adminKey,
    authenticate: options.authenticate,
    isRevoked: revocations.isRevoked,
    cookiePath,
    secureCookie,
  }
  const signInConfig: SignInConfig | null =
    adminKey === undefined
      ? null
      : { base, adminKey, keys, cookiePath, secureCookie, revoke: revocations.revoke }
  const route = createRouter(adminRoutes)

  async function handle(request: Request): Promise<Response> {
    const url = new URL(request.url)
    const rest = url.pathname.slice(base.length)
    if (!url.pathname.startsWith(base) || (rest !== '' && !rest.startsWith('/'))) {
      return messagePage({ base, title: 'Not found' }, 404, 'This is not a page of the dashboard.')
    }
    const pathname = rest || '/'
    const now = Date.now()
    const isGet = request.method === 'GET' || request.method === 'HEAD'

    if (pathname.startsWith('/assets/') && isGet) {
      const name = pathname.slice('/assets/'.length)
      return isAssetName(name)
        ? serveAsset(name, request)
        : messagePage({ base, title: 'Not found' }, 404, 'No such file.')
    }
    if (pathname === '/sign-in' && signInConfig) {
      if (isGet) {
        return signInForm(
          signInConfig,
          url,
          await identifyOperator(auth, request, now),
          noticeOf(url),
        )
      }
      if (request.method === 'POST') return signIn(signInConfig, request, now)
    }
    if (pathname === '/sign-out' && signInConfig && request.method === 'POST') {
      return signOut(signInConfig, request, await identifyOperator(auth, request, now), now)
    }

    const found = route(request.method, pathname)
    if (found === null) {
      return messagePage({ base, title: 'Not found' }, 404, 'There is no such page.')
    }
    if ('allow' in found) {
      const response = messagePage(
        { base, title: 'Method not allowed' },
        405,
        `${request.method} is not allowed here.`,
      )
      response.headers.set('allow', found.allow.join(', '))
      return response
    }

    const identified = await identifyOperator(auth, request, now)
    // Ids never hold control characters (PostgreSQL cannot even store NUL): no such thing.
    if (identified && Object.values(found.params).some(hasControlCharacters)) {
      await request.body?.cancel().catch(() => {})
      return messagePage(
        { base, title: 'Not found', operator: identified.operator },
        404,
        'There is no such page.',
      )
    }
    if (!identified) {
      await request.body?.cancel().catch(() => {})
      const next = `${url.pathname}${url.search}`
      if (isGet && signInConfig) {
        return redirect(`${base}/sign-in?next=${encodeURIComponent(next)}`)
      }
      return notSignedInPage(base, signInConfig !== null, isGet ? next : `${base}/`)
    }

    let form = new URLSearchParams()
    if (!isGet) {
      const refused = await checkPost(request, identified)
      if (refused) return withCookie(refused, identified)
      form = await readForm(request)
      const csrf = form.get(CSRF_FIELD) ?? request.headers.get(CSRF_HEADER)
      if (!tokenMatches(identified.operator.csrf, csrf)) {
        return withCookie(csrfRefusal(base, identified), identified)
      }
      const withNul = fieldsWithNul(form)
      if (withNul.length > 0 && !NUL_CHECKED_ROUTES.has(found.route)) {
        return messagePage(
          { base, title: 'Bad input', operator: identified.operator },
          400,
          `The field ${withNul.join(', ')} contains a NUL character, which cannot be stored. Nothing was changed.`,
        )
      }
    }
    const context: AdminContext = {
      hooks,
      request,
      url,
      base,
      params: found.params,
      operator: identified.operator,
      form,
      now,
    }
    return withCookie(await found.route.handle(context), identified)
  }

  async function checkPost(request: Request, identified: Identified): Promise<Response | null> {
    const problem = crossSiteProblem(request)
    if (!problem) return null
    await request.body?.cancel().catch(() => {})
    return messagePage(
      { base, title: 'Refused', operator: identified.operator },
      403,
      `This request was refused because ${problem}: the dashboard only accepts its own forms. Nothing was changed.`,
    )
  }

  return async (request) => {
    try {
      return await handle(request)
    } catch (error) {
      if (error instanceof FormBodyError) {
        return messagePage(
          { base, title: error.status === 413 ? 'Too large' : 'Unsupported form' },
          error.status,
          `${error.message}. Nothing was changed.`,
        )
      }
      hooks.reportError(asError(error))
      return messagePage(
        { base, title: 'Something went wrong' },
        500,
        'An unexpected error occurred; it has been reported. Nothing is known to have changed.',
      )
    }
  }
}

function csrfRefusal(base: string, identified: Identified): Response {
  return messagePage(
    { base, title: 'Form expired', operator: identified.operator },
    403,
    'This form did not carry a valid token of your session (it may come from another site, or from before you signed in again). Nothing was changed. Go back, reload the page and try again.',
  )
}

function withCookie(response: Response, identified: Identified): Response {
  if (identified.setCookie) response.headers.append('set-cookie', identified.setCookie)
  return response
}

/**
 * A page for `/admin` when the service has no admin key: the dashboard is off, and says how to
 * turn it on.
 */
export function adminUnavailable(base: string): Response {
  return messagePage(
    { base, title: 'Dashboard off' },
    404,
    'The admin dashboard is off: start the service with RESTHOOKS_ADMIN_KEY set (at least 16 characters) to sign in here.',
  )
}

function checkOptions(options: AdminOptions): string {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('hooks.admin(options) needs { authenticate } or { adminKey }')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new ConfigurationError(`options.${key} is not an option of admin()`)
  }
  if (options.authenticate !== undefined && typeof options.authenticate !== 'function') {
    throw new ConfigurationError('options.authenticate must be a function (request) => boolean')
  }
  if (options.adminKey !== undefined) {
    const problem =
      typeof options.adminKey === 'string' ? adminKeyProblem(options.adminKey) : 'must be a string'
    if (problem) throw new ConfigurationError(`options.adminKey: ${problem}`)
  }
  if (options.authenticate === undefined && options.adminKey === undefined) {
    throw new ConfigurationError(
      'hooks.admin() needs options.authenticate (request) => boolean, or options.adminKey for its own sign-in',
    )
  }
  if (
    options.secret !== undefined &&
    (typeof options.secret !== 'string' || options.secret.length < 16)
  ) {
    throw new ConfigurationError('options.secret must be a string of at least 16 characters')
  }
  if (options.secureCookies !== undefined && typeof options.secureCookies !== 'boolean') {
    throw new ConfigurationError('options.secureCookies must be true or false')
  }
  if (options.basePath !== undefined && typeof options.basePath !== 'string') {
    throw new ConfigurationError('options.basePath must be a string such as /admin')
  }
  const base = (options.basePath ?? '').replace(/\/+$/, '')
  if (base !== '' && (!base.startsWith('/') || /[\s"'<>\\?#]/.test(base))) {
    throw new ConfigurationError(`options.basePath must be a path such as '/admin', got '${base}'`)
  }
  return base
}
