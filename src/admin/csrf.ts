import { createHmac, timingSafeEqual } from 'node:crypto'

/**
 * CSRF protection of every state-changing request of the dashboard, in two layers:
 *
 * - the request must not come from another site: browsers say where a request comes from in
 *   `Sec-Fetch-Site` (anything but `same-origin` or `none` is refused) and `Origin` (its host
 *   must be the request's own);
 * - the form must carry a token tied to the operator's session: HMAC of the session's nonce
 *   under a key only the server knows (derived from the admin key or the `secret` option).
 */

/** The form field (and header, for `fetch`) that carries the token. */
export const CSRF_FIELD = '_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/** The CSRF token of a session (or of the browser's CSRF cookie), base64url. */
export function csrfToken(key: Buffer, nonce: string): string {
  return createHmac('sha256', key).update(`csrf.${nonce}`).digest('base64url')
}

/** Whether `given` is `expected`, compared in constant time. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (typeof given !== 'string') return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

/** Why the request looks cross-site, or null when it may be same-origin. */
export function crossSiteProblem(request: Request): string | null {
  const site = request.headers.get('sec-fetch-site')
  if (site !== null && site !== 'same-origin' && site !== 'none') {
    return `the browser says this request came from a ${site} page`
  }
  const origin = request.headers.get('origin')
  if (origin !== null) {
    let host: string
    try {
      host = new URL(origin).host
    } catch {
      return 'the request came from an opaque origin'
    }
    if (host !== new URL(request.url).host) return `the request came from ${origin}`
  }
  return null
}
