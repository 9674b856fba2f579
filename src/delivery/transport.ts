import type { Dispatcher } from 'undici'
import { request } from 'undici'

/** One HTTP request of a delivery attempt. */
export interface TransportRequest {
  url: string
  method: 'POST' | 'PUT' | 'PATCH'
  headers: Record<string, string>
  body: string
  /** Aborts the request when the attempt's time is up. */
  signal: AbortSignal
}

/** The receiver's answer; `body` may be cut to the first `RESPONSE_BODY_LIMIT` bytes. */
export interface TransportResponse {
  status: number
  headers: Record<string, string>
  body: string
}

/**
 * Sends one attempt (django-rest-hooks' `HOOK_DELIVERER`): replace it to go through a proxy, a
 * queue or a test double. It must not follow redirects. Throwing counts as a failed attempt.
 */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>

/** The part of a response body kept on an attempt. */
export const RESPONSE_BODY_LIMIT = 8 * 1024
// Reading a little past the kept part lets the connection be reused; beyond it, it is closed.
const DRAIN_LIMIT = 64 * 1024

/** The default transport: undici over the given dispatcher (keep-alive, SSRF guard). */
export function undiciTransport(dispatcher: Dispatcher): Transport {
  return async ({ url, method, headers, body, signal }) => {
    const response = await request(url, { method, headers, body, signal, dispatcher })
    const length = Number(response.headers['content-length'])
    if (Number.isSafeInteger(length) && length <= DRAIN_LIMIT) {
      // A short body of known length (the common case) in one read: undici fails the request
      // if the body does not match its content-length, so this reads at most DRAIN_LIMIT bytes.
      const bytes = Buffer.from(await response.body.arrayBuffer())
      return {
        status: response.statusCode,
        headers: flattenHeaders(response.headers),
        body: bytes.subarray(0, RESPONSE_BODY_LIMIT).toString('utf8'),
      }
    }
    const chunks: Buffer[] = []
    let kept = 0
    let read = 0
    // Leaving the loop early destroys the body and with it the connection.
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      read += chunk.length
      if (kept < RESPONSE_BODY_LIMIT) {
        chunks.push(chunk)
        kept += chunk.length
      }
      if (read > DRAIN_LIMIT) break
    }
    const text = Buffer.concat(chunks).subarray(0, RESPONSE_BODY_LIMIT).toString('utf8')
    return { status: response.statusCode, headers: flattenHeaders(response.headers), body: text }
  }
}

function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value
  }
  return flat
}
