/**
 * `resthooks/verify`: checks, on the receiving side, that a webhook was signed by the sender
 * according to Standard Webhooks. Depends on Node built-ins only, so receivers can use it without
 * pulling in the rest of the library.
 */

import { timingSafeEqual } from 'node:crypto'
import { computeSignature, decodeSecret } from './hmac.ts'

/** Why a webhook was rejected; stable, so receivers can branch on it and log it. */
export type WebhookVerificationErrorCode =
  | 'missing_headers'
  | 'invalid_timestamp'
  | 'timestamp_too_old'
  | 'timestamp_too_new'
  | 'invalid_signature'
  | 'invalid_secret'
  | 'invalid_json'

/**
 * Thrown by {@link verifyWebhook} when a webhook must not be trusted (or, for `invalid_secret`,
 * when the receiver's own secret is malformed). Answer the sender with a 4xx for every code except
 * `invalid_secret`, which is a configuration mistake on the receiving side.
 *
 * @example
 * try {
 *   await verifyWebhook(request, secret)
 * } catch (error) {
 *   if (error instanceof WebhookVerificationError) return new Response(error.code, { status: 400 })
 *   throw error
 * }
 */
export class WebhookVerificationError extends Error {
  override name = 'WebhookVerificationError'
  readonly code: WebhookVerificationErrorCode

  constructor(code: WebhookVerificationErrorCode, message: string, options?: ErrorOptions) {
    super(message, options)
    this.code = code
  }
}

/**
 * Header values as Node's `IncomingMessage.headers` holds them (Express, Fastify's `raw`, …), or
 * any record of header names to values; names are matched case-insensitively.
 */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>

/**
 * A received webhook: a Fetch API `Request` (its body is read), or its headers with the raw body
 * exactly as received, e.g. `{ headers: req.headers, body: req.body }` with `express.raw()`.
 * Verify the raw bytes, not a re-serialised parsed object: any difference breaks the signature.
 */
export type WebhookInput = Request | { headers: WebhookHeaders; body: string | Uint8Array }

/** Options of {@link verifyWebhook}. */
export interface VerifyWebhookOptions {
  /**
   * How far, in seconds, `webhook-timestamp` may be from now, in either direction, to limit
   * replays. Default: 300 (five minutes), as Standard Webhooks recommends.
   */
  toleranceSeconds?: number
  /** The current time, as a `Date` or milliseconds since the epoch. Default: `Date.now()`. */
  now?: Date | number
}

/** A webhook that passed verification. */
export interface VerifiedWebhook<T = unknown> {
  /** The `webhook-id` header: the same for every attempt of a delivery, so use it to deduplicate. */
  id: string
  /** When the sender signed this attempt (the `webhook-timestamp` header). */
  timestamp: Date
  /** The JSON-parsed body. */
  payload: T
}

const DEFAULT_TOLERANCE_SECONDS = 300
const TIMESTAMP = /^\d{1,15}$/
const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * Verifies a Standard Webhooks request and returns its parsed payload.
 *
 * Checks that `webhook-id`, `webhook-timestamp` and `webhook-signature` are present, that the
 * timestamp is within `toleranceSeconds` of now (default 300, both ways), and that at least one
 * `v1,` signature in `webhook-signature` matches at least one of the secrets, compared in constant
 * time; signatures of other versions are ignored. Give several secrets while the sender rotates
 * them. Secrets may be given with or without their `whsec_` prefix.
 *
 * @typeParam T the payload's type; it is not validated, only parsed.
 * @throws {WebhookVerificationError} with the `code` of the first check that failed.
 * @example
 * // Fetch API (Hono, Next.js route handlers, Bun, Deno, …)
 * const { id, payload } = await verifyWebhook<OrderCreated>(request, process.env.WEBHOOK_SECRET!)
 *
 * // Express: keep the raw body
 * app.post('/hooks', express.raw({ type: 'application/json' }), async (req, res) => {
 *   const { payload } = await verifyWebhook({ headers: req.headers, body: req.body }, secret)
 *   res.sendStatus(204)
 * })
 */
export async function verifyWebhook<T = unknown>(
  input: WebhookInput,
  secret: string | readonly string[],
  options: VerifyWebhookOptions = {},
): Promise<VerifiedWebhook<T>> {
  const toleranceSeconds = options.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS
  if (!Number.isFinite(toleranceSeconds) || toleranceSeconds < 0) {
    throw new RangeError(`toleranceSeconds must be a non-negative number, got ${toleranceSeconds}`)
  }
  // Checked before the request so that a misconfigured receiver fails on every request, loudly,
  // instead of looking like a stream of forged webhooks.
  const keys = secretKeys(secret)

  const id = headerValue(input.headers, 'webhook-id')
  const timestampHeader = headerValue(input.headers, 'webhook-timestamp')
  const signatureHeader = headerValue(input.headers, 'webhook-signature')
  if (!id || !timestampHeader || !signatureHeader) {
    throw new WebhookVerificationError(
      'missing_headers',
      'Missing webhook-id, webhook-timestamp or webhook-signature header',
    )
  }

  const timestamp = checkTimestamp(timestampHeader, options.now, toleranceSeconds)

  const body = isRequest(input) ? new Uint8Array(await input.arrayBuffer()) : input.body
  checkSignature(keys, id, timestampHeader, body, signatureHeader)

  let payload: T
  try {
    payload = JSON.parse(typeof body === 'string' ? body : utf8.decode(body)) as T
  } catch (cause) {
    throw new WebhookVerificationError('invalid_json', 'Webhook body is not valid JSON', { cause })
  }
  return { id, timestamp: new Date(timestamp * 1000), payload }
}

function secretKeys(secret: string | readonly string[]): Buffer[] {
  const secrets = typeof secret === 'string' ? [secret] : secret
  if (secrets.length === 0) {
    throw new WebhookVerificationError('invalid_secret', 'No webhook secret was given')
  }
  return secrets.map((s, index) => {
    const key = decodeSecret(s)
    if (key === undefined) {
      throw new WebhookVerificationError(
        'invalid_secret',
        `Webhook secret ${index + 1} of ${secrets.length} is not (optionally whsec_-prefixed) base64`,
      )
    }
    return key
  })
}

// Duck-typed rather than `instanceof Request`, so a Request from the `undici` package or another
// realm is recognised too.
function isRequest(input: WebhookInput): input is Request {
  return typeof (input as Request).arrayBuffer === 'function'
}

function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof headers.get === 'function') return (headers as Headers).get(name) ?? undefined
  const record = headers as Record<string, string | string[] | undefined>
  // Node lower-cases IncomingMessage header names, but hand-built records may not be.
  let value = record[name]
  if (value === undefined) {
    for (const key of Object.keys(record)) {
      if (key.toLowerCase() === name) {
        value = record[key]
        break
      }
    }
  }
  // A repeated webhook-signature is just more signatures; a repeated id or timestamp then fails
  // verification, which is the right outcome for an ambiguous request.
  return Array.isArray(value) ? value.join(' ') : value
}

function checkTimestamp(
  header: string,
  now: Date | number | undefined,
  toleranceSeconds: number,
): number {
  if (!TIMESTAMP.test(header)) {
    throw new WebhookVerificationError('invalid_timestamp', 'webhook-timestamp is not unix seconds')
  }
  const timestamp = Number(header)
  const nowMs = now === undefined ? Date.now() : typeof now === 'number' ? now : now.getTime()
  // An invalid Date would make both comparisons false and accept any timestamp.
  if (!Number.isFinite(nowMs)) throw new RangeError('now must be a valid Date or number')
  const nowSeconds = Math.floor(nowMs / 1000)
  if (nowSeconds - timestamp > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_too_old', 'webhook-timestamp is too old')
  }
  if (timestamp - nowSeconds > toleranceSeconds) {
    throw new WebhookVerificationError('timestamp_too_new', 'webhook-timestamp is in the future')
  }
  return timestamp
}

function checkSignature(
  keys: readonly Buffer[],
  id: string,
  timestamp: string,
  body: string | Uint8Array,
  header: string,
): void {
  const candidates: Buffer[] = []
  for (const token of header.split(/\s+/)) {
    // Duplicate header fields reach us joined with ', ', leaving a trailing comma on a token.
    const signature = token.endsWith(',') ? token.slice(0, -1) : token
    if (signature.startsWith('v1,')) candidates.push(Buffer.from(signature.slice(3)))
  }
  for (const key of keys) {
    // The timestamp is signed as received, which is exactly what the sender wrote.
    const expected = Buffer.from(computeSignature(key, id, timestamp, body))
    for (const candidate of candidates) {
      // Only the length, which is public (44 for SHA-256), can short-circuit the comparison.
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return
    }
  }
  throw new WebhookVerificationError('invalid_signature', 'No matching webhook signature')
}
