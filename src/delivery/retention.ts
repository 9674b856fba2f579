import type { DeliveryStatus } from '../store/schema.ts'
import type { Store } from '../store/store.ts'

export interface PruneOptions {
  /** Delete finished deliveries and events created before this time. */
  before: Date
  /**
   * Rows deleted per transaction, so that no lock is held for long.
   * @default 1000
   */
  batchSize?: number
  /** Called after each batch with the running totals. */
  onProgress?: (totals: PruneTotals) => void
}

export interface PruneTotals {
  deliveries: number
  events: number
}

/**
 * Deletes finished (succeeded or failed) deliveries with their attempts, then events with no
 * delivery left, created before `before`, in bounded batches. Pending deliveries and their
 * events are kept whatever their age.
 */
export async function prune(store: Store, options: PruneOptions): Promise<PruneTotals> {
  const before = options.before.getTime()
  if (Number.isNaN(before)) throw new RangeError('prune: before must be a valid date')
  const batchSize = options.batchSize ?? 1000
  const totals: PruneTotals = { deliveries: 0, events: 0 }
  for (;;) {
    const batch = await store.pruneBatch(before, batchSize)
    totals.deliveries += batch.deliveries
    totals.events += batch.events
    if (batch.deliveries === 0 && batch.events === 0) return totals
    options.onProgress?.({ ...totals })
  }
}

/** How many deliveries have `status`, only those changed since `since` when given. */
export function countDeliveries(
  store: Store,
  options: { status: DeliveryStatus; since?: Date },
): Promise<number> {
  return store.countDeliveries(options.status, options.since?.getTime())
}
