import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

/**
 * Operator sessions of the dashboard's own sign-in (the admin key): a stateless token signed
 * with a key derived from the admin key (or the `secret` option), so that it holds across
 * restarts and across every process that shares the key, and changing the key ends every
 * session. Sign-out clears the cookie and revokes the token in this process.
 *
 * Token: `<expires, unix seconds>.<nonce>.<HMAC-SHA256(session key, expires.nonce)>`, base64url.
 */

/** The cookie that carries the session token. */
export const SESSION_COOKIE = 'resthooks_admin_session'
/** The cookie that ties CSRF tokens to a browser when the application authenticates operators. */
export const CSRF_COOKIE = 'resthooks_admin_csrf'
/** How long a session lasts from sign-in. */
export const SESSION_TTL_MS = 8 * 60 * 60 * 1000

/** The keys of sessions and of CSRF tokens, derived from one secret. */
export interface AdminKeys {
  session: Buffer
  csrf: Buffer
}

/** A valid session: its nonce (what CSRF tokens are tied to) and when it expires. */
export interface Session {
  nonce: string
  expiresAt: number
}

const NONCE = /^[A-Za-z0-9_-]{24}$/

/** Derives the session and CSRF keys from `secret` (the admin key, or the `secret` option). */
export function deriveKeys(secret: string | Buffer): AdminKeys {
  const derive = (purpose: string) => createHmac('sha256', secret).update(purpose).digest()
  return {
    session: derive('resthooks admin session v1'),
    csrf: derive('resthooks admin csrf v1'),
  }
}

/** A fresh random nonce (18 bytes, base64url). */
export function newNonce(): string {
  return randomBytes(18).toString('base64url')
}

/** Whether `value` has the shape of a nonce this module makes. */
export function isNonce(value: string | undefined): value is string {
  return value !== undefined && NONCE.test(value)
}

/** A new session token, valid for `ttlMs` from `now`. */
export function createSessionToken(
  keys: AdminKeys,
  now: number,
  ttlMs = SESSION_TTL_MS,
): { token: string; session: Session } {
  const expires = Math.floor((now + ttlMs) / 1000)
  const nonce = newNonce()
  const payload = `${expires}.${nonce}`
  const mac = createHmac('sha256', keys.session).update(payload).digest('base64url')
  return { token: `${payload}.${mac}`, session: { nonce, expiresAt: expires * 1000 } }
}

/** The session of a token, or null when it is malformed, forged or expired. */
export function verifySessionToken(
  keys: AdminKeys,
  token: string | undefined,
  now: number,
): Session | null {
  if (token === undefined || token.length > 200) return null
  const parts = token.split('.')
  if (parts.length !== 3) return null
  const [expires, nonce, mac] = parts as [string, string, string]
  if (!/^\d{1,12}$/.test(expires) || !isNonce(nonce)) return null
  const expected = createHmac('sha256', keys.session).update(`${expires}.${nonce}`).digest()
  const given = Buffer.from(mac, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null
  const expiresAt = Number(expires) * 1000
  return expiresAt > now ? { nonce, expiresAt } : null
}

/** Sessions signed out in this process, until they would have expired anyway. */
export function createRevocations() {
  const revoked = new Map<string, number>()
  return {
    revoke(session: Session, now: number): void {
      for (const [nonce, expiresAt] of revoked) if (expiresAt <= now) revoked.delete(nonce)
      revoked.set(session.nonce, session.expiresAt)
    },
    isRevoked: (session: Session): boolean => revoked.has(session.nonce),
  }
}

/** The request's cookies by name (the first of each name wins). */
export function readCookies(request: Request): Map<string, string> {
  const cookies = new Map<string, string>()
  const header = request.headers.get('cookie')
  if (!header) return cookies
  for (const part of header.split(';')) {
    const at = part.indexOf('=')
    if (at < 0) continue
    const name = part.slice(0, at).trim()
    const value = part.slice(at + 1).trim()
    if (name !== '' && !cookies.has(name)) cookies.set(name, value)
  }
  return cookies
}

/** Options of a dashboard cookie. */
export interface CookieOptions {
  path: string
  secure: boolean
  /** Seconds; 0 deletes the cookie. Without it, a session cookie (until the browser closes). */
  maxAge?: number
}

/** A `Set-Cookie` value: always HttpOnly and SameSite=Strict. */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path}`, 'HttpOnly', 'SameSite=Strict']
  if (options.maxAge !== undefined) parts.push(`Max-Age=${options.maxAge}`)
  if (options.secure) parts.push('Secure')
  return parts.join('; ')
}
