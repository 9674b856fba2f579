import type { Dispatcher } from 'undici'

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

/**
 * The default transport: undici over the given dispatcher (keep-alive, SSRF guard).
 *
 * It dispatches with a handler of its own rather than through undici's `request()`, whose
 * response body is a Node stream (and whose handler an async resource): at thousands of
 * deliveries/s, that machinery was about a third of the client's CPU per request (a one-off
 * script, 20,000 POSTs at 50 in flight: 48 µs against 33 µs per request; docs/performance.md).
 */
export function undiciTransport(dispatcher: Dispatcher): Transport {
  return ({ url, method, headers, body, signal }) => {
    let target: URL
    try {
      target = new URL(url)
    } catch (error) {
      return Promise.reject(error)
    }
    if (target.protocol !== 'http:' && target.protocol !== 'https:') {
      return Promise.reject(new Error(`Invalid URL protocol: ${target.protocol}`))
    }
    return new Promise<TransportResponse>((resolve, reject) => {
      dispatcher.dispatch(
        {
          origin: target.origin,
          path: `${target.pathname}${target.search}`,
          method,
          headers,
          body,
        },
        new ResponseReader(signal, resolve, reject),
      )
    })
  }
}

/**
 * Collects one response for {@link undiciTransport}: its status, its headers flattened, and the
 * first RESPONSE_BODY_LIMIT bytes of its body. A body longer than DRAIN_LIMIT is not read to
 * its end: the request is aborted there, which closes the connection, and the response counts
 * with what was kept.
 */
class ResponseReader implements Dispatcher.DispatchHandler {
  readonly #signal: AbortSignal
  readonly #resolve: (response: TransportResponse) => void
  readonly #reject: (error: unknown) => void
  #controller: Dispatcher.DispatchController | null = null
  #status = 0
  #headers: Record<string, string> = {}
  readonly #chunks: Buffer[] = []
  #kept = 0
  #read = 0
  #settled = false

  constructor(
    signal: AbortSignal,
    resolve: (response: TransportResponse) => void,
    reject: (error: unknown) => void,
  ) {
    this.#signal = signal
    this.#resolve = resolve
    this.#reject = reject
  }

  readonly #onAbort = (): void => {
    this.#controller?.abort(this.#signal.reason)
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    // Called again if undici retries the request on another connection.
    this.#controller = controller
    if (this.#signal.aborted) {
      controller.abort(this.#signal.reason)
      return
    }
    this.#signal.addEventListener('abort', this.#onAbort)
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx answers (103 Early Hints) come before the response itself.
    if (statusCode < 200) return
    this.#status = statusCode
    this.#headers = flattenHeaders(headers)
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#settled) return
    this.#read += chunk.length
    if (this.#kept < RESPONSE_BODY_LIMIT) {
      this.#chunks.push(chunk)
      this.#kept += chunk.length
    }
    if (this.#read > DRAIN_LIMIT) {
      this.#settle()
      controller.abort(new Error('response body not read past 64 KiB'))
    }
  }

  onResponseEnd(): void {
    this.#settle()
  }

  onResponseError(_controller: Dispatcher.DispatchController, error: Error): void {
    if (this.#settled) return
    this.#settled = true
    this.#signal.removeEventListener('abort', this.#onAbort)
    this.#reject(error)
  }

  #settle(): void {
    if (this.#settled) return
    this.#settled = true
    this.#signal.removeEventListener('abort', this.#onAbort)
    const bytes = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks)
    this.#resolve({
      status: this.#status,
      headers: this.#headers,
      body: bytes ? bytes.subarray(0, RESPONSE_BODY_LIMIT).toString('utf8') : '',
    })
  }
}

/** One string per header name (repeated headers joined by ", "), as own properties only. */
function flattenHeaders(
  headers: Record<string, string | string[] | undefined>,
): Record<string, string> {
  const flat: [string, string][] = []
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat.push([name, Array.isArray(value) ? value.join(', ') : value])
  }
  return Object.fromEntries(flat)
}
