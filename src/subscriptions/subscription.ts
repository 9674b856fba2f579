import type { ContentType } from '../payloads/content-type.ts'
import type { SubscriptionTable } from '../store/schema.ts'
import type { Filter } from './filter.ts'

/** The application's own fields on a subscription (django-rest-hooks' `HOOK_CUSTOM_MODEL`). */
export type Metadata = Record<string, unknown>

export type HttpMethod = 'POST' | 'PUT' | 'PATCH'
export type HmacDigest = 'sha1' | 'sha256' | 'sha512'

/** A subscription: an owner's target URL for an event name or pattern. Never carries the secret. */
export interface Subscription<M extends Metadata = Metadata> {
  id: string
  owner: string
  /** An event name, or a pattern: `*`, `prefix.*`, `*.suffix`. */
  event: string
  target: string
  /** false while disabled, by its owner or by the disable rule. */
  active: boolean
  status: 'active' | 'disabled'
  disabledReason: string | null
  method: HttpMethod
  /** `application/json` (default), `application/x-www-form-urlencoded` or `application/xml`. */
  contentType: ContentType
  headers: Record<string, string>
  /** Conditions on the event's data; an event that does not match is not delivered. */
  filter: Filter | null
  /** A Mustache template for the body; null for the content type's default body. */
  template: string | null
  /** `full` (default) or `thin`: only `{type, timestamp, hook, data: {id}}`. */
  payload: 'full' | 'thin'
  /** Adds thorn's `Hook-HMAC` header with this digest; null for none. */
  hmacDigest: HmacDigest | null
  metadata: M
  createdAt: string
  updatedAt: string
}

/** A subscription as returned on create and on secret rotation: the only times it has its secret. */
export type SubscriptionWithSecret<M extends Metadata = Metadata> = Subscription<M> & {
  secret: string
}

/** The public form of a stored subscription row. */
export function toSubscription<M extends Metadata>(row: SubscriptionTable): Subscription<M> {
  return {
    id: row.id,
    owner: row.owner,
    event: row.event,
    target: row.target,
    active: row.status === 'active',
    status: row.status,
    disabledReason: row.disabled_reason,
    method: row.method as HttpMethod,
    contentType: row.content_type as ContentType,
    headers: JSON.parse(row.headers) as Record<string, string>,
    filter: row.filter === null ? null : (JSON.parse(row.filter) as Filter),
    template: row.template,
    payload: row.payload,
    hmacDigest: row.hmac_digest as HmacDigest | null,
    metadata: JSON.parse(row.metadata) as M,
    createdAt: new Date(Number(row.created_at)).toISOString(),
    updatedAt: new Date(Number(row.updated_at)).toISOString(),
  }
}

/**
 * The secrets that sign a delivery: the current one, then the previous one while its grace
 * period after a rotation lasts.
 */
export function signingSecrets(row: SubscriptionTable, now: number): string[] {
  const expires = row.previous_secret_expires_at
  return row.previous_secret && expires !== null && Number(expires) > now
    ? [row.secret, row.previous_secret]
    : [row.secret]
}
