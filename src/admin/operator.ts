import type { Operator } from './context.ts'
import { csrfToken } from './csrf.ts'
import {
  type AdminKeys,
  CSRF_COOKIE,
  isNonce,
  newNonce,
  readCookies,
  SESSION_COOKIE,
  type Session,
  serializeCookie,
  verifySessionToken,
} from './session.ts'

/** How the dashboard recognises its operators. */
export interface OperatorAuth {
  keys: AdminKeys
  /** The admin key, when the dashboard's own sign-in is on. */
  adminKey: string | undefined
  /** The application's check, when it authenticates operators itself. */
  authenticate: ((request: Request) => boolean | Promise<boolean>) | undefined
  isRevoked(session: Session): boolean
  cookiePath: string
  secureCookie(request: Request): boolean
}

/** The operator a request comes from, with the CSRF cookie to set when it was missing. */
export interface Identified {
  operator: Operator
  session: Session | null
  setCookie: string | null
}

/**
 * Who is asking: a valid, unrevoked session of the dashboard's sign-in, or else a request the
 * application's `authenticate` accepts (only `true` counts, so that an owner id, which the API's
 * `authenticate` returns, never passes for an operator). Null for anyone else.
 */
export async function identifyOperator(
  auth: OperatorAuth,
  request: Request,
  now: number,
): Promise<Identified | null> {
  const cookies = readCookies(request)
  if (auth.adminKey !== undefined) {
    const session = verifySessionToken(auth.keys, cookies.get(SESSION_COOKIE), now)
    if (session && !auth.isRevoked(session)) {
      return {
        operator: { csrf: csrfToken(auth.keys.csrf, session.nonce), canSignOut: true },
        session,
        setCookie: null,
      }
    }
  }
  if (auth.authenticate && (await auth.authenticate(request)) === true) {
    let nonce = cookies.get(CSRF_COOKIE)
    let setCookie: string | null = null
    if (!isNonce(nonce)) {
      nonce = newNonce()
      setCookie = serializeCookie(CSRF_COOKIE, nonce, {
        path: auth.cookiePath,
        secure: auth.secureCookie(request),
      })
    }
    return {
      operator: { csrf: csrfToken(auth.keys.csrf, nonce), canSignOut: false },
      session: null,
      setCookie,
    }
  }
  return null
}
