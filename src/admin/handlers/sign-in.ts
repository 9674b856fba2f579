import { hasControlCharacters } from '../../events/owner.ts'
import { isAdminKey } from '../../service/admin-key.ts'
import { CSRF_FIELD, crossSiteProblem, tokenMatches } from '../csrf.ts'
import { field, readForm } from '../form-body.ts'
import type { Identified } from '../operator.ts'
import { messagePage } from '../pages/message-page.ts'
import { signInPage } from '../pages/sign-in-page.ts'
import { redirect } from '../responses.ts'
import {
  type AdminKeys,
  createSessionToken,
  SESSION_COOKIE,
  SESSION_TTL_MS,
  type Session,
  serializeCookie,
} from '../session.ts'

/** What the dashboard's own sign-in needs. */
export interface SignInConfig {
  base: string
  adminKey: string
  keys: AdminKeys
  cookiePath: string
  secureCookie(request: Request): boolean
  revoke(session: Session, now: number): void
}

/**
 * Where to go after signing in: a path of the dashboard (never another site, never the sign-in
 * page itself), else the overview.
 */
export function safeNext(base: string, next: string | null): string {
  const home = `${base}/`
  if (next === null || next === '' || next.length > 2000) return home
  if (
    !next.startsWith('/') ||
    next.startsWith('//') ||
    next.includes('\\') ||
    hasControlCharacters(next)
  ) {
    return home
  }
  const path = next.split(/[?#]/)[0] ?? ''
  if (base !== '' && path !== base && !path.startsWith(`${base}/`)) return home
  if (path === `${base}/sign-in` || path === `${base}/sign-out`) return home
  return next
}

/** GET /sign-in: the form, or straight on for an operator already signed in. */
export function signInForm(
  config: SignInConfig,
  url: URL,
  identified: Identified | null,
  notice: string | null,
): Response {
  const next = safeNext(config.base, url.searchParams.get('next'))
  if (identified) return redirect(next)
  return signInPage(config.base, { next, notice })
}

/** POST /sign-in: the admin key starts a session; anything else is refused, saying so. */
export async function signIn(config: SignInConfig, request: Request, now: number) {
  const problem = crossSiteProblem(request)
  if (problem) {
    return messagePage({ base: config.base, title: 'Refused' }, 403, `Sign-in refused: ${problem}.`)
  }
  const form = await readForm(request)
  const next = safeNext(config.base, form.get('next'))
  const key = field(form, 'key')
  if (key === '') {
    return signInPage(config.base, { next, error: 'Enter the admin key', status: 400 })
  }
  if (!isAdminKey(config.adminKey, key)) {
    return signInPage(config.base, {
      next,
      error: 'That is not the admin key. (An owner’s API key does not sign in here.)',
      status: 401,
    })
  }
  const { token } = createSessionToken(config.keys, now, SESSION_TTL_MS)
  return redirect(next, {
    'set-cookie': serializeCookie(SESSION_COOKIE, token, {
      path: config.cookiePath,
      secure: config.secureCookie(request),
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    }),
  })
}

/** POST /sign-out: ends the session (CSRF-checked, like every other form). */
export async function signOut(
  config: SignInConfig,
  request: Request,
  identified: Identified | null,
  now: number,
): Promise<Response> {
  const clear = serializeCookie(SESSION_COOKIE, '', {
    path: config.cookiePath,
    secure: config.secureCookie(request),
    maxAge: 0,
  })
  const problem = crossSiteProblem(request)
  const form = problem ? null : await readForm(request)
  if (!identified?.session) {
    return redirect(`${config.base}/sign-in`, { 'set-cookie': clear })
  }
  if (problem || !tokenMatches(identified.operator.csrf, form?.get(CSRF_FIELD))) {
    return messagePage(
      { base: config.base, title: 'Refused' },
      403,
      'Sign-out refused: the form did not come from this dashboard. Reload the page and try again.',
    )
  }
  config.revoke(identified.session, now)
  return redirect(`${config.base}/sign-in?done=signed-out`, { 'set-cookie': clear })
}
