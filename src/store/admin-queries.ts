import { type Kysely, sql } from 'kysely'
import { encodeTime, TIME_MAX } from 'ulid'
import { listAttempts } from './delivery-queries.ts'
import type {
  AttemptTable,
  DeliveryStatus,
  DeliveryTable,
  EventTable,
  Schema,
  SubscriptionTable,
} from './schema.ts'

type Db = Kysely<Schema>

/** Operator-scope subscription list filters (the admin dashboard): every owner unless `owner`. */
export interface AdminSubscriptionQuery {
  owner?: string
  status?: 'active' | 'disabled'
  /** The subscription's `event`, exactly (a name or a pattern). */
  event?: string
  /** A part of the target URL (case-sensitive). */
  target?: string
  /** Only subscriptions with ids before this one (pages run newest first). */
  before?: string
  limit: number
}

/** How a subscription fared over a window: its attempts and how many got a 2xx. */
export interface SubscriptionHealth {
  attempts: number
  succeeded: number
}

/** Operator-scope delivery log filters; times are unix ms on `created_at`, `to` exclusive. */
export interface AdminDeliveryQuery {
  owner?: string
  subscriptionId?: string
  status?: DeliveryStatus
  /** The event's name, exactly. */
  event?: string
  from?: number
  to?: number
  before?: string
  limit: number
}

/** A delivery with its event's name and its subscription's target (null once removed). */
export interface AdminDeliveryRow extends DeliveryTable {
  event_name: string
  target: string | null
}

/** A delivery with its whole event, for the delivery page. */
export interface AdminDeliveryDetail extends AdminDeliveryRow {
  event: EventTable
}

/** One bucket of the overview's series: attempts by outcome, and response latency. */
export interface OutcomeBucket {
  /** unix ms of the bucket's start */
  start: number
  /** attempts answered with a 2xx */
  succeeded: number
  /** attempts answered with any other status */
  httpErrors: number
  /** attempts without a response: connection errors, timeouts, bodies that could not render */
  noResponse: number
  /** median duration of the attempts that got a response, in ms; null without any */
  p50: number | null
  /** 95th percentile of the same */
  p95: number | null
}

export interface OutcomeSeriesQuery {
  from: number
  to: number
  bucketMs: number
}

/** A subscription failing now, with the latest error that says why. */
export interface FailingSubscription {
  subscription: SubscriptionTable
  lastStatus: number | null
  lastError: string | null
  /** unix ms of that delivery's last change */
  lastFailedAt: number | null
  /** The start of the response body of that delivery's latest attempt (at most 300 characters). */
  lastResponseBody: string | null
}

/** Counts for the overview's tiles. */
export interface AdminCounts {
  active: number
  disabled: number
  /** active subscriptions whose latest attempts failed (failing since a time) */
  failing: number
  pending: number
}

/** Which failed deliveries to make pending again. */
export interface AdminReplayQuery {
  /** unix ms: deliveries created at or after it */
  since: number
  owner?: string
  subscriptionId?: string
}

/** An event as a preview sample. */
export type SampleEvent = Pick<EventTable, 'name' | 'data' | 'ref' | 'created_at'>

/**
 * Operator-scope queries (the admin dashboard): every owner's subscriptions and deliveries,
 * with filters, health and the overview's series. Each is bounded: pages have limits, and
 * time windows use the ids' ULID time to stay within a range of the primary key.
 */
export interface AdminQueries {
  listSubscriptions(query: AdminSubscriptionQuery): Promise<SubscriptionTable[]>
  /** The attempts since `since` of each subscription's deliveries of the last days. */
  subscriptionHealth(
    ids: readonly string[],
    since: number,
  ): Promise<Map<string, SubscriptionHealth>>
  /** Distinct owners of subscriptions, sorted, at most `limit` (for the owner filter). */
  listOwners(limit: number): Promise<string[]>
  listDeliveries(query: AdminDeliveryQuery): Promise<AdminDeliveryRow[]>
  findDelivery(id: string): Promise<AdminDeliveryDetail | undefined>
  /** Every attempt of a delivery, oldest first. */
  listAttempts(deliveryId: string): Promise<AttemptTable[]>
  /**
   * Attempts started in [from, to) per bucket of `bucketMs`, by outcome, with the p50 and p95
   * of the durations of those that got a response: computed by PostgreSQL
   * (`percentile_cont`); on SQLite over the most recent 50,000 such attempts of the window.
   */
  outcomeSeries(query: OutcomeSeriesQuery): Promise<OutcomeBucket[]>
  /** Active subscriptions failing now, longest-failing first. */
  failingSubscriptions(limit: number): Promise<FailingSubscription[]>
  /** Disabled subscriptions, most recently changed first. */
  disabledSubscriptions(limit: number): Promise<SubscriptionTable[]>
  counts(): Promise<AdminCounts>
  /** The most recent of the last 2,000 events whose name is one of `names`. */
  latestEvent(names: readonly string[]): Promise<SampleEvent | undefined>
  /** Makes matching failed deliveries pending and due now, in batches; their count. */
  replayFailed(query: AdminReplayQuery, now: number): Promise<number>
}

/**
 * Ids are `<prefix>_<ULID>` and a ULID starts with the time it was made: every id made at or
 * after `ms` sorts at or after `<prefix>_<time of ms>`. Windows allow this much clock
 * difference between the processes that made the ids.
 */
const ID_CLOCK_SLACK_MS = 5 * 60_000
/** Deliveries older than this are left out of a subscription's recent health. */
const HEALTH_DELIVERY_AGE_MS = 2 * 24 * 60 * 60_000
/** SQLite's latency percentiles are computed over at most this many attempts per window. */
export const LATENCY_SAMPLE_LIMIT = 50_000
const REPLAY_BATCH = 1000
const SAMPLE_EVENTS = 2000

/** The smallest id of `prefix` made at or after `ms` (less clock slack). */
export function idFloor(prefix: string, ms: number): string {
  const at = Math.min(Math.max(0, Math.floor(ms - ID_CLOCK_SLACK_MS)), TIME_MAX)
  return `${prefix}_${encodeTime(at, 10)}`
}

/**
 * The `p`th percentile (0..1) of sorted values, interpolated between the nearest ranks as
 * PostgreSQL's `percentile_cont` does; null for none.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null
  const rank = p * (sorted.length - 1)
  const low = Math.floor(rank)
  const high = Math.ceil(rank)
  const a = sorted[low] as number
  const b = sorted[high] as number
  return a + (b - a) * (rank - low)
}

export function createAdminQueries(db: Db, dialect: 'sqlite' | 'postgres'): AdminQueries {
  const contains = (column: string, part: string) =>
    dialect === 'postgres'
      ? sql<boolean>`strpos(${sql.ref(column)}, ${part}) > 0`
      : sql<boolean>`instr(${sql.ref(column)}, ${part}) > 0`

  const deliveryRows = () =>
    db
      .selectFrom('resthooks_deliveries as d')
      .innerJoin('resthooks_events as e', 'e.id', 'd.event_id')
      .leftJoin('resthooks_subscriptions as s', 's.id', 'd.subscription_id')
      .selectAll('d')
      .select(['e.name as event_name', 's.target as target'])

  return {
    async listSubscriptions(query) {
      let q = db
        .selectFrom('resthooks_subscriptions')
        .selectAll()
        .orderBy('id', 'desc')
        .limit(query.limit)
      if (query.owner !== undefined) q = q.where('owner', '=', query.owner)
      if (query.status !== undefined) q = q.where('status', '=', query.status)
      if (query.event !== undefined) q = q.where('event', '=', query.event)
      if (query.target !== undefined) q = q.where(contains('target', query.target))
      if (query.before !== undefined) q = q.where('id', '<', query.before)
      return q.execute()
    },

    async subscriptionHealth(ids, since) {
      const health = new Map<string, SubscriptionHealth>()
      if (ids.length === 0) return health
      const rows = await db
        .selectFrom('resthooks_deliveries as d')
        .innerJoin('resthooks_attempts as a', 'a.delivery_id', 'd.id')
        .select((eb) => [
          'd.subscription_id as id',
          eb.fn.countAll<number>().as('attempts'),
          sql<number>`sum(case when a.response_status >= 200 and a.response_status < 300 then 1 else 0 end)`.as(
            'succeeded',
          ),
        ])
        .where('d.subscription_id', 'in', [...ids])
        .where('d.id', '>=', idFloor('dlv', since - HEALTH_DELIVERY_AGE_MS))
        .where('a.id', '>=', idFloor('atm', since))
        .where('a.started_at', '>=', since)
        .groupBy('d.subscription_id')
        .execute()
      for (const row of rows) {
        health.set(row.id, { attempts: Number(row.attempts), succeeded: Number(row.succeeded) })
      }
      return health
    },

    async listOwners(limit) {
      const rows = await db
        .selectFrom('resthooks_subscriptions')
        .select('owner')
        .distinct()
        .orderBy('owner')
        .limit(limit)
        .execute()
      return rows.map((row) => row.owner)
    },

    async listDeliveries(query) {
      let q = deliveryRows().orderBy('d.id', 'desc').limit(query.limit)
      if (query.owner !== undefined) q = q.where('d.owner', '=', query.owner)
      if (query.subscriptionId !== undefined) {
        q = q.where('d.subscription_id', '=', query.subscriptionId)
      }
      if (query.status !== undefined) q = q.where('d.status', '=', query.status)
      if (query.event !== undefined) q = q.where('e.name', '=', query.event)
      if (query.from !== undefined) {
        q = q
          .where('d.id', '>=', idFloor('dlv', query.from))
          .where('d.created_at', '>=', query.from)
      }
      if (query.to !== undefined) q = q.where('d.created_at', '<', query.to)
      if (query.before !== undefined) q = q.where('d.id', '<', query.before)
      const rows = await q.execute()
      return rows.map(numericDelivery)
    },

    async findDelivery(id) {
      const row = await deliveryRows()
        .select([
          'e.owner as event_owner',
          'e.data as event_data',
          'e.ref as event_ref',
          'e.created_at as event_created_at',
        ])
        .where('d.id', '=', id)
        .executeTakeFirst()
      if (!row) return undefined
      const { event_owner, event_data, event_ref, event_created_at, ...delivery } = row
      return {
        ...numericDelivery(delivery),
        event: {
          id: delivery.event_id,
          name: delivery.event_name,
          owner: event_owner,
          data: event_data,
          ref: event_ref,
          created_at: Number(event_created_at),
        },
      }
    },

    async listAttempts(deliveryId) {
      const rows = await listAttempts(db, deliveryId)
      return rows.map((row) => ({
        ...row,
        number: Number(row.number),
        started_at: Number(row.started_at),
        duration_ms: Number(row.duration_ms),
        response_status: row.response_status === null ? null : Number(row.response_status),
      }))
    },

    async outcomeSeries({ from, to, bucketMs }) {
      const window = sql`id >= ${idFloor('atm', from)} AND started_at >= ${from} AND started_at < ${to}`
      const slot = sql`CAST((started_at - ${from}) / ${bucketMs} AS INTEGER)`
      const percentiles =
        dialect === 'postgres'
          ? sql`, percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms)
                  FILTER (WHERE response_status IS NOT NULL) AS p50,
                percentile_cont(0.95) WITHIN GROUP (ORDER BY duration_ms)
                  FILTER (WHERE response_status IS NOT NULL) AS p95`
          : sql``
      const { rows } = await sql<{
        slot: number
        succeeded: number
        http_errors: number
        no_response: number
        p50?: number | null
        p95?: number | null
      }>`
        SELECT ${slot} AS slot,
          SUM(CASE WHEN response_status >= 200 AND response_status < 300 THEN 1 ELSE 0 END) AS succeeded,
          SUM(CASE WHEN response_status < 200 OR response_status >= 300 THEN 1 ELSE 0 END) AS http_errors,
          SUM(CASE WHEN response_status IS NULL THEN 1 ELSE 0 END) AS no_response
          ${percentiles}
        FROM resthooks_attempts
        WHERE ${window}
        GROUP BY 1`.execute(db)

      const count = Math.max(1, Math.ceil((to - from) / bucketMs))
      const buckets: OutcomeBucket[] = Array.from({ length: count }, (_, i) => ({
        start: from + i * bucketMs,
        succeeded: 0,
        httpErrors: 0,
        noResponse: 0,
        p50: null,
        p95: null,
      }))
      for (const row of rows) {
        const bucket = buckets[Number(row.slot)]
        if (!bucket) continue
        bucket.succeeded = Number(row.succeeded)
        bucket.httpErrors = Number(row.http_errors)
        bucket.noResponse = Number(row.no_response)
        if (dialect === 'postgres') {
          bucket.p50 = row.p50 === null || row.p50 === undefined ? null : Number(row.p50)
          bucket.p95 = row.p95 === null || row.p95 === undefined ? null : Number(row.p95)
        }
      }
      if (dialect === 'sqlite') {
        const { rows: durations } = await sql<{ slot: number; duration_ms: number }>`
          SELECT ${slot} AS slot, duration_ms FROM resthooks_attempts
          WHERE ${window} AND response_status IS NOT NULL
          ORDER BY id DESC LIMIT ${LATENCY_SAMPLE_LIMIT}`.execute(db)
        const bySlot = new Map<number, number[]>()
        for (const row of durations) {
          const list = bySlot.get(Number(row.slot))
          if (list) list.push(Number(row.duration_ms))
          else bySlot.set(Number(row.slot), [Number(row.duration_ms)])
        }
        for (const [index, list] of bySlot) {
          const bucket = buckets[index]
          if (!bucket) continue
          list.sort((a, b) => a - b)
          bucket.p50 = percentile(list, 0.5)
          bucket.p95 = percentile(list, 0.95)
        }
      }
      return buckets
    },

    async failingSubscriptions(limit) {
      const subscriptions = await db
        .selectFrom('resthooks_subscriptions')
        .selectAll()
        .where('status', '=', 'active')
        .where('failing_since', 'is not', null)
        .orderBy('failing_since')
        .orderBy('id')
        .limit(limit)
        .execute()
      const failing: FailingSubscription[] = []
      for (const subscription of subscriptions) {
        const last = await db
          .selectFrom('resthooks_deliveries')
          .select(['id', 'last_status', 'last_error', 'updated_at'])
          .where('subscription_id', '=', subscription.id)
          .where('last_error', 'is not', null)
          .orderBy('id', 'desc')
          .limit(1)
          .executeTakeFirst()
        const attempt =
          last &&
          (await db
            .selectFrom('resthooks_attempts')
            .select('response_body')
            .where('delivery_id', '=', last.id)
            .orderBy('number', 'desc')
            .orderBy('id', 'desc')
            .limit(1)
            .executeTakeFirst())
        failing.push({
          subscription: numericSubscription(subscription),
          lastStatus: last?.last_status === null || !last ? null : Number(last.last_status),
          lastError: last?.last_error ?? null,
          lastFailedAt: last ? Number(last.updated_at) : null,
          lastResponseBody: attempt?.response_body?.slice(0, 300) ?? null,
        })
      }
      return failing
    },

    async disabledSubscriptions(limit) {
      const rows = await db
        .selectFrom('resthooks_subscriptions')
        .selectAll()
        .where('status', '=', 'disabled')
        .orderBy('updated_at', 'desc')
        .orderBy('id', 'desc')
        .limit(limit)
        .execute()
      return rows.map(numericSubscription)
    },

    async counts() {
      const byStatus = await db
        .selectFrom('resthooks_subscriptions')
        .select((eb) => [
          'status',
          eb.fn.countAll<number>().as('count'),
          sql<number>`sum(case when failing_since is not null then 1 else 0 end)`.as('failing'),
        ])
        .groupBy('status')
        .execute()
      const pending = await db
        .selectFrom('resthooks_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .where('status', '=', 'pending')
        .executeTakeFirst()
      const of = (status: string) => byStatus.find((row) => row.status === status)
      return {
        active: Number(of('active')?.count ?? 0),
        disabled: Number(of('disabled')?.count ?? 0),
        failing: Number(of('active')?.failing ?? 0),
        pending: Number(pending?.count ?? 0),
      }
    },

    async latestEvent(names) {
      if (names.length === 0) return undefined
      const row = await db
        .selectFrom('resthooks_events')
        .select(['name', 'data', 'ref', 'created_at'])
        .where('id', 'in', (eb) =>
          eb.selectFrom('resthooks_events').select('id').orderBy('id', 'desc').limit(SAMPLE_EVENTS),
        )
        .where('name', 'in', [...names])
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst()
      return row && { ...row, created_at: Number(row.created_at) }
    },

    async replayFailed(query, now) {
      let matching = db
        .selectFrom('resthooks_deliveries')
        .where('status', '=', 'failed')
        .where('created_at', '>=', query.since)
      if (query.owner !== undefined) matching = matching.where('owner', '=', query.owner)
      if (query.subscriptionId !== undefined) {
        matching = matching.where('subscription_id', '=', query.subscriptionId)
      }
      const counted = await matching
        .select((eb) => eb.fn.countAll<number>().as('count'))
        .executeTakeFirst()
      // As many batches as there were failed deliveries at the start: deliveries that fail
      // again while this runs (a worker is sending the replayed ones) are not replayed twice.
      const batches = Math.ceil(Number(counted?.count ?? 0) / REPLAY_BATCH)
      let total = 0
      for (let i = 0; i < batches; i++) {
        const ids = (await matching.select('id').limit(REPLAY_BATCH).execute()).map((r) => r.id)
        if (ids.length === 0) break
        const result = await db
          .updateTable('resthooks_deliveries')
          .set({ status: 'pending', next_attempt_at: now, lease_token: null, updated_at: now })
          .where('id', 'in', ids)
          .where('status', '=', 'failed')
          .executeTakeFirst()
        total += Number(result.numUpdatedRows)
        if (ids.length < REPLAY_BATCH) break
      }
      return total
    },
  }
}

function numericDelivery<T extends DeliveryTable>(row: T): T {
  return {
    ...row,
    attempts: Number(row.attempts),
    next_attempt_at: Number(row.next_attempt_at),
    last_status: row.last_status === null ? null : Number(row.last_status),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  }
}

function numericSubscription(row: SubscriptionTable): SubscriptionTable {
  return {
    ...row,
    failing_since: row.failing_since === null ? null : Number(row.failing_since),
    created_at: Number(row.created_at),
    updated_at: Number(row.updated_at),
  }
}
