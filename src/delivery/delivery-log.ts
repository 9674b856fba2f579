import { type Page, pageLimit, toPage } from '../pages.ts'
import type { AttemptTable, DeliveryStatus, DeliveryTable } from '../store/schema.ts'
import type { Store } from '../store/store.ts'
import type { OwnerScope } from '../subscriptions/subscriptions.ts'

/** One delivery: an event occurrence on its way to one subscription. */
export interface Delivery {
  id: string
  eventId: string
  subscriptionId: string
  status: DeliveryStatus
  attempts: number
  /** When the next attempt is due, while pending. */
  nextAttemptAt: string | null
  lastStatus: number | null
  lastError: string | null
  createdAt: string
  updatedAt: string
}

/** One HTTP request of a delivery and what came back. */
export interface Attempt {
  id: string
  number: number
  startedAt: string
  durationMs: number
  requestHeaders: Record<string, string>
  responseStatus: number | null
  responseHeaders: Record<string, string> | null
  /** The first 8 KiB of the response body. */
  responseBody: string | null
  error: string | null
}

/** One delivery with every attempt in place of the attempt count (`GET /deliveries/{id}`). */
export type DeliveryWithAttempts = Omit<Delivery, 'attempts'> & { attempts: Attempt[] }

export interface DeliveryListOptions extends OwnerScope {
  subscriptionId: string
  status?: DeliveryStatus
  /** @default 50 (at most 250) */
  limit?: number
  cursor?: string | null
}

/** The delivery log: read it, retry a delivery, replay a subscription's failures. */
export function createDeliveryLog(deps: { store: Store; now: () => number }) {
  const { store, now } = deps
  return {
    /** A delivery with all its attempts; undefined when unknown (or another owner's). */
    async getDelivery(
      id: string,
      scope: OwnerScope = {},
    ): Promise<DeliveryWithAttempts | undefined> {
      const row = await store.findDelivery(id, scope.owner)
      if (!row) return undefined
      const attempts = await store.listAttempts(id)
      return { ...toDelivery(row), attempts: attempts.map(toAttempt) }
    },

    /** A subscription's deliveries, newest first; undefined when the subscription is unknown. */
    async listDeliveries(options: DeliveryListOptions): Promise<Page<Delivery> | undefined> {
      const subscription = await store.findSubscription(options.subscriptionId, options.owner)
      if (!subscription) return undefined
      const limit = pageLimit(options.limit)
      const rows = await store.listDeliveries({
        subscriptionId: options.subscriptionId,
        limit: limit + 1,
        ...(options.cursor ? { before: options.cursor } : {}),
        ...(options.status ? { status: options.status } : {}),
      })
      return toPage(rows, limit, toDelivery)
    },

    /** Makes a delivery due now, whatever its state; false when unknown. */
    retryDelivery(id: string, scope: OwnerScope = {}): Promise<boolean> {
      return store.retryDelivery(id, scope.owner, now())
    },

    /**
     * Re-queues the subscription's failed deliveries created since `since`; resolves to how
     * many, or undefined when the subscription is unknown.
     */
    async replay(
      subscriptionId: string,
      options: OwnerScope & { since: Date | string },
    ): Promise<number | undefined> {
      const subscription = await store.findSubscription(subscriptionId, options.owner)
      if (!subscription) return undefined
      const since = new Date(options.since).getTime()
      if (Number.isNaN(since)) throw new RangeError('replay: since must be a date or ISO string')
      return store.replayFailed(subscriptionId, since, now())
    },
  }
}

function iso(ms: number): string {
  return new Date(Number(ms)).toISOString()
}

function toDelivery(row: DeliveryTable): Delivery {
  return {
    id: row.id,
    eventId: row.event_id,
    subscriptionId: row.subscription_id,
    status: row.status,
    attempts: Number(row.attempts),
    nextAttemptAt: row.status === 'pending' ? iso(row.next_attempt_at) : null,
    lastStatus: row.last_status,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  }
}

function toAttempt(row: AttemptTable): Attempt {
  return {
    id: row.id,
    number: Number(row.number),
    startedAt: iso(row.started_at),
    durationMs: Number(row.duration_ms),
    requestHeaders: JSON.parse(row.request_headers) as Record<string, string>,
    responseStatus: row.response_status,
    responseHeaders: row.response_headers
      ? (JSON.parse(row.response_headers) as Record<string, string>)
      : null,
    responseBody: row.response_body,
    error: row.error,
  }
}
