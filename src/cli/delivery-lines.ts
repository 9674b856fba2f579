import type { Hooks } from '../hooks.ts'

/** Counts of what the deliveries followed so far came to. */
export interface FollowedTotals {
  succeeded: number
  failed: number
  exhausted: number
}

/**
 * Follows the engine's operational events and describes each delivery outcome in one line,
 * for the live log of `serve`, `worker` and `send` on a terminal. Returns the running totals
 * and a function that stops following.
 */
export function followDeliveries(hooks: Hooks, onLine: (line: string) => void) {
  const totals: FollowedTotals = { succeeded: 0, failed: 0, exhausted: 0 }
  const unsubscribe = [
    hooks.on('delivery.succeeded', (d) => {
      totals.succeeded++
      onLine(
        `✓ ${d.event} ${d.deliveryId} → ${d.subscriptionId}: ${d.status} in ${d.durationMs} ms (attempt ${d.attempt})`,
      )
    }),
    hooks.on('delivery.failed', (d) => {
      totals.failed++
      onLine(
        `✗ ${d.event} ${d.deliveryId} → ${d.subscriptionId}: ${d.error}; retry at ${d.nextAttemptAt} (attempt ${d.attempt})`,
      )
    }),
    hooks.on('delivery.exhausted', (d) => {
      totals.exhausted++
      onLine(
        `✗ ${d.event} ${d.deliveryId} → ${d.subscriptionId}: ${d.error}; failed for good (attempt ${d.attempt})`,
      )
    }),
    hooks.on('subscription.disabled', (s) => {
      onLine(`! subscription ${s.subscriptionId} of ${s.owner} disabled: ${s.reason}`)
    }),
    hooks.on('subscription.removed', (s) => {
      onLine(`! subscription ${s.subscriptionId} of ${s.owner} removed: ${s.reason}`)
    }),
  ]
  return {
    totals,
    stop() {
      for (const off of unsubscribe) off()
    },
  }
}
