/**
 * The storage schema, shared by every store. Times are unix milliseconds (integers); JSON
 * values are stored as text. Tables are prefixed `resthooks_` because, embedded, they live in
 * the application's own database, beside its tables, so that the outbox commits with them.
 */

export interface SubscriptionTable {
  id: string
  owner: string
  /** An event name or pattern (`*`, `prefix.*`, `*.suffix`). */
  event: string
  target: string
  status: 'active' | 'disabled'
  disabled_reason: string | null
  method: string
  content_type: string
  /** JSON object of custom request headers. */
  headers: string
  /** JSON filter (payload shaping issue); null when none. */
  filter: string | null
  template: string | null
  payload: 'full' | 'thin'
  hmac_digest: string | null
  /** JSON object of application fields. */
  metadata: string
  secret: string
  previous_secret: string | null
  previous_secret_expires_at: number | null
  /** The first failed attempt since the last success; null while healthy. */
  failing_since: number | null
  created_at: number
  updated_at: number
}

export interface EventTable {
  id: string
  name: string
  /** null for an event that goes to every owner. */
  owner: string | null
  /** The event's `data`, as JSON text. */
  data: string
  /** The resource URL (`refs` option), carried in the envelope as `ref`. */
  ref: string | null
  created_at: number
}

export type DeliveryStatus = 'pending' | 'succeeded' | 'failed'

export interface DeliveryTable {
  id: string
  event_id: string
  subscription_id: string
  owner: string
  status: DeliveryStatus
  /** Attempts made so far. */
  attempts: number
  /** When the next attempt is due; while claimed, when the claim's lease expires. */
  next_attempt_at: number
  /** The claim's token; a result is recorded only by the claim that holds it. */
  lease_token: string | null
  /** A body fixed at dispatch (`toHookPayload`); null renders the envelope at send time. */
  body: string | null
  last_status: number | null
  last_error: string | null
  created_at: number
  updated_at: number
}

export interface AttemptTable {
  id: string
  delivery_id: string
  number: number
  started_at: number
  duration_ms: number
  /** JSON object of the request's headers. */
  request_headers: string
  /** The request's method; null on attempts recorded before migration 3. */
  request_method: string | null
  /** The URL the request went to (the target then); null before migration 3. */
  request_url: string | null
  /**
   * The first 4 KiB of the request body (UTF-8, cut at a character boundary); null before
   * migration 3, or when no body could be rendered.
   */
  request_body: string | null
  response_status: number | null
  /** JSON object of the response's headers. */
  response_headers: string | null
  /** The first 8 KiB of the response body. */
  response_body: string | null
  error: string | null
}

export interface ApiKeyTable {
  id: string
  owner: string
  /** SHA-256 of the key, hex: keys are random, so a fast hash suffices and the key is never stored. */
  hash: string
  created_at: number
}

export interface EventTypeTable {
  name: string
  /** `Model.action`, or null for a custom event. */
  mapping: string | null
  created_at: number
}

/**
 * SQLite's outbox (migration 6): an event written by an application's transaction, with its
 * deliveries, until the store moves it into `resthooks_events` and `resthooks_deliveries`.
 */
export interface OutboxTable extends EventTable {
  /** The order of the writes (SQLite's rowid). */
  seq: number
  /** The deliveries as JSON, `[[id, subscription_id, owner, body], …]`; null for none. */
  deliveries: string | null
}

export interface MigrationTable {
  version: number
  name: string
  applied_at: number
}

export interface Schema {
  resthooks_subscriptions: SubscriptionTable
  resthooks_events: EventTable
  resthooks_deliveries: DeliveryTable
  resthooks_attempts: AttemptTable
  resthooks_api_keys: ApiKeyTable
  resthooks_event_types: EventTypeTable
  resthooks_outbox: OutboxTable
  resthooks_migrations: MigrationTable
}
