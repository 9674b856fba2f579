import type { SafeHtml } from './html.ts'

/**
 * The dashboard's Content-Security-Policy: scripts and styles only from its own files (no inline
 * script, no inline style attribute, no `eval`), requests only to itself, forms only to itself,
 * and never inside a frame.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

/** Headers every dashboard response carries. */
export function securityHeaders(): Record<string, string> {
  return {
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  }
}

/** A page: never cached (it shows live data, sometimes a secret). */
export function htmlResponse(
  body: SafeHtml,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  return new Response(`<!doctype html>\n${body.value}`, {
    status,
    headers: {
      ...securityHeaders(),
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  })
}

/** A redirect after a form (303: the browser follows it with GET). */
export function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, {
    status: 303,
    headers: { ...securityHeaders(), location, 'cache-control': 'no-store', ...headers },
  })
}

/** A JSON answer to the dashboard's own script. */
export function jsonResponse(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), {
    status,
    headers: {
      ...securityHeaders(),
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
    },
  })
}
