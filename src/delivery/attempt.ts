import { newId } from '../ids.ts'
import { deliveryBody } from '../payloads/delivery-body.ts'
import type { AttemptTable } from '../store/schema.ts'
import type { ClaimedDelivery, DeliveryOutcome } from '../store/store.ts'
import { SecretDecryptionError } from '../subscriptions/secret-box.ts'
import { type HmacDigest, signingSecrets } from '../subscriptions/subscription.ts'
import { parseRetryAfter, type RetrySchedule } from './retry-schedule.ts'
import { hookHmac, signatureHeader } from './signature.ts'
import type { Transport, TransportResponse } from './transport.ts'

/** The part of a request body kept on its attempt, in UTF-8 bytes. */
export const REQUEST_BODY_EXCERPT_BYTES = 4 * 1024

export interface AttemptDeps {
  transport: Transport
  schedule: RetrySchedule
  /** The whole attempt's time limit, in ms (connecting is limited by the agent). */
  timeoutMs: number
  /** A subscription failing this long without a success is disabled when a delivery runs out. */
  disableAfterMs: number
  userAgent: string
  /** The largest body a template may render, in bytes. */
  maxBodyBytes: number
  /**
   * The secret of a stored one (decrypted when encrypted at rest); throws a
   * SecretDecryptionError when it cannot be read, and then no request is sent.
   */
  openSecret: (stored: string) => string
  now: () => number
}

/** An attempt's outcome, with what the operational events report. */
export interface AttemptReport {
  outcome: DeliveryOutcome
  eventId: string
  event: string
  owner: string
  attempt: number
  status: number | null
  durationMs: number
  error: string | null
}

/** Sends one attempt of a claimed delivery and decides what becomes of the delivery. */
export async function attemptDelivery(
  claimed: ClaimedDelivery,
  deps: AttemptDeps,
): Promise<AttemptReport> {
  const { delivery, event, subscription } = claimed
  const base = {
    deliveryId: delivery.id,
    subscriptionId: delivery.subscription_id,
    leaseToken: delivery.lease_token ?? '',
  }
  const number = delivery.attempts + 1
  const context = { eventId: event.id, event: event.name, owner: delivery.owner }
  if (subscription?.status !== 'active') {
    const error = subscription ? 'subscription is disabled' : 'subscription was removed'
    return {
      ...context,
      outcome: { ...base, result: 'dropped', error },
      attempt: number,
      status: null,
      durationMs: 0,
      error,
    }
  }

  const startedAt = deps.now()
  const timestamp = Math.floor(startedAt / 1000)
  let body: string
  try {
    body = deliveryBody({ ...claimed, subscription }, deps.maxBodyBytes)
  } catch (caught) {
    // The subscription's template (or content type) cannot make a valid body of this event:
    // no request is sent, and trying again would render the same thing.
    const error = (caught as Error).message
    const attempt: AttemptTable = {
      id: newId('atm'),
      delivery_id: delivery.id,
      number,
      started_at: startedAt,
      duration_ms: 0,
      request_headers: '{}',
      request_method: subscription.method,
      request_url: subscription.target,
      request_body: null,
      response_status: null,
      response_headers: null,
      response_body: null,
      error,
    }
    return {
      ...context,
      outcome: {
        ...base,
        attempt,
        result: 'exhausted',
        error,
        disableBefore: startedAt - deps.disableAfterMs,
      },
      attempt: number,
      status: null,
      durationMs: 0,
      error,
    }
  }
  let headers: Record<string, string> = {}
  let response: TransportResponse | null = null
  let error: string | null = null
  try {
    headers = {
      ...(JSON.parse(subscription.headers) as Record<string, string>),
      'content-type': subscription.content_type,
      'user-agent': deps.userAgent,
      'webhook-id': event.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader(
        signingSecrets(subscription, startedAt).map(deps.openSecret),
        event.id,
        timestamp,
        body,
      ),
      'hook-event': event.name,
      'hook-subscription': subscription.id,
      'hook-attempt': String(number),
    }
    if (subscription.hmac_digest) {
      headers['hook-hmac'] = hookHmac(
        subscription.hmac_digest as HmacDigest,
        deps.openSecret(subscription.secret),
        body,
      )
    }
  } catch (caught) {
    // An encrypted secret without its key (secretEncryptionKey): nothing is sent unsigned or
    // wrongly signed; the attempt fails with the reason and the delivery retries as scheduled.
    if (!(caught instanceof SecretDecryptionError)) throw caught
    error = caught.message
    headers = {}
  }

  if (error === null) {
    // A timer cleared when the attempt ends, rather than AbortSignal.timeout(), whose timer (a
    // Timeout, a WeakRef and the signal's registration) outlives the request by the whole
    // timeoutMs: at thousands of deliveries/s, tens of thousands of them survive every
    // scavenge, are promoted, and grow the old generation by 100 MB and more.
    const timeout = new AbortController()
    const timer = setTimeout(
      () =>
        timeout.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')),
      deps.timeoutMs,
    )
    try {
      response = await deps.transport({
        url: subscription.target,
        method: subscription.method as 'POST' | 'PUT' | 'PATCH',
        headers,
        body,
        signal: timeout.signal,
      })
    } catch (caught) {
      error = describeError(caught, deps.timeoutMs)
    } finally {
      clearTimeout(timer)
    }
  }
  const finishedAt = deps.now()
  const durationMs = finishedAt - startedAt
  const status = response?.status ?? null
  if (response && !isSuccess(status)) error = `HTTP ${status}`

  const attempt: AttemptTable = {
    id: newId('atm'),
    delivery_id: delivery.id,
    number,
    started_at: startedAt,
    duration_ms: durationMs,
    request_headers: JSON.stringify(headers),
    request_method: subscription.method,
    request_url: subscription.target,
    request_body: excerpt(body, REQUEST_BODY_EXCERPT_BYTES),
    response_status: status,
    response_headers: response ? JSON.stringify(response.headers) : null,
    response_body: response ? response.body : null,
    error,
  }
  const report = { ...context, attempt: number, status, durationMs, error }
  if (isSuccess(status)) {
    return { ...report, outcome: { ...base, attempt, result: 'succeeded' } }
  }
  if (status === 410) return { ...report, outcome: { ...base, attempt, result: 'gone' } }

  const retryAfter =
    status === 429 || status === 503
      ? parseRetryAfter(response?.headers['retry-after'], finishedAt)
      : null
  const delay = deps.schedule.delayAfter(number, retryAfter)
  const message = error ?? 'failed'
  const outcome: DeliveryOutcome =
    delay === null
      ? {
          ...base,
          attempt,
          result: 'exhausted',
          error: message,
          disableBefore: finishedAt - deps.disableAfterMs,
        }
      : { ...base, attempt, result: 'retry', error: message, nextAttemptAt: finishedAt + delay }
  return { ...report, outcome }
}

/** The first `maxBytes` of `text` as UTF-8, cut before a character that would not fit whole. */
export function excerpt(text: string, maxBytes: number): string {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: short strings need no measuring.
  if (text.length * 3 <= maxBytes) return text
  const bytes = Buffer.from(text, 'utf8')
  if (bytes.length <= maxBytes) return text
  let end = maxBytes
  // Back up over continuation bytes (10xxxxxx) to the start of the cut character.
  while (end > 0 && ((bytes[end] as number) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8')
}

function isSuccess(status: number | null): status is number {
  return status !== null && status >= 200 && status < 300
}

function describeError(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: unknown }
  if (err?.name === 'TimeoutError' || err?.name === 'AbortError') {
    return `timed out after ${timeoutMs} ms`
  }
  const message = err?.message ?? String(error)
  const code = err?.code && !message.includes(err.code) ? ` (${err.code})` : ''
  return `${message}${code}`
}
