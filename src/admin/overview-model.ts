import type { Hooks } from '../hooks.ts'
import type {
  AdminCounts,
  FailingSubscription,
  OutcomeBucket,
  SubscriptionHealth,
} from '../store/admin-queries.ts'
import type { SubscriptionTable } from '../store/schema.ts'

/** The overview's time windows: how far back, and how wide a bucket of the charts is. */
export const WINDOWS = {
  '1h': { label: 'Last hour', ms: 60 * 60_000, bucketMs: 60_000, bucketLabel: 'per minute' },
  '6h': {
    label: 'Last 6 hours',
    ms: 6 * 60 * 60_000,
    bucketMs: 5 * 60_000,
    bucketLabel: 'per 5 minutes',
  },
  '24h': {
    label: 'Last 24 hours',
    ms: 24 * 60 * 60_000,
    bucketMs: 15 * 60_000,
    bucketLabel: 'per 15 minutes',
  },
} as const

export type WindowKey = keyof typeof WINDOWS

/** The window a request asks for (`?window=6h`), the last hour by default. */
export function windowOf(url: URL): WindowKey {
  const asked = url.searchParams.get('window')
  return asked !== null && Object.hasOwn(WINDOWS, asked) ? (asked as WindowKey) : '1h'
}

/** What the charts draw (also `GET /overview.json`). */
export interface ChartData {
  window: WindowKey
  bucketMs: number
  bucketLabel: string
  buckets: OutcomeBucket[]
}

/** Everything the overview shows. */
export interface OverviewModel {
  window: WindowKey
  chart: ChartData
  counts: AdminCounts
  totals: { succeeded: number; failed: number }
  failing: (FailingSubscription & { health: SubscriptionHealth | undefined })[]
  disabled: SubscriptionTable[]
}

/** The chart data of a window ending with the current bucket. */
export async function chartData(hooks: Hooks, window: WindowKey, now: number): Promise<ChartData> {
  const { ms, bucketMs, bucketLabel } = WINDOWS[window]
  const to = Math.floor(now / bucketMs) * bucketMs + bucketMs
  const buckets = await hooks.store.admin.outcomeSeries({ from: to - ms, to, bucketMs })
  return { window, bucketMs, bucketLabel, buckets }
}

/** Loads the overview: counts, the series, and the subscriptions failing now or disabled. */
export async function loadOverview(
  hooks: Hooks,
  window: WindowKey,
  now: number,
): Promise<OverviewModel> {
  const { admin } = hooks.store
  const [chart, counts, failing, disabled] = await Promise.all([
    chartData(hooks, window, now),
    admin.counts(),
    admin.failingSubscriptions(20),
    admin.disabledSubscriptions(20),
  ])
  const health = await admin.subscriptionHealth(
    failing.map((f) => f.subscription.id),
    now - WINDOWS[window].ms,
  )
  let succeeded = 0
  let failed = 0
  for (const bucket of chart.buckets) {
    succeeded += bucket.succeeded
    failed += bucket.httpErrors + bucket.noResponse
  }
  return {
    window,
    chart,
    counts,
    totals: { succeeded, failed },
    failing: failing.map((f) => ({ ...f, health: health.get(f.subscription.id) })),
    disabled,
  }
}
