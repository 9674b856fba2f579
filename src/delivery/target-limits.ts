import type { ClaimedDelivery, Store } from '../store/store.ts'

/**
 * Bounds of how long a claim given back because its origin was at its limit waits before it is
 * due again, in ms. Within them the wait is what the origin's requests take (see `releaseDelay`).
 */
export const MIN_RELEASE_DELAY_MS = 20
export const MAX_RELEASE_DELAY_MS = 5000
/** The wait for an origin that has not answered a request yet. */
export const UNKNOWN_RELEASE_DELAY_MS = 1000
/** At or below this wait, the worker waits for a slot to free before claiming again. */
export const SHORT_RELEASE_DELAY_MS = 250

/**
 * The origin (scheme, host and port) a target URL's requests count against; the URL itself when
 * it does not parse (its attempt will fail on its own).
 */
export function targetOrigin(target: string): string {
  try {
    return new URL(target).origin
  } catch {
    return target
  }
}

/** A claimed delivery waiting for a free slot of its origin. */
export interface QueuedClaim {
  claimed: ClaimedDelivery
  origin: string
  /** The latest time its request may start and still finish (and be recorded) within its lease. */
  startBy: number
}

/**
 * Per-origin bookkeeping of the worker's requests: how many are in flight to each origin, and a
 * FIFO queue per origin of claimed deliveries waiting for one of its slots. Queued claims hold no
 * worker slot; the queue of an origin holds at most `queueCapacity` of them.
 */
export function createTargetLimits(limit: number, queueCapacity: number) {
  /** Start times of the requests in flight, per origin. */
  const active = new Map<string, number[]>()
  /** A moving average of how long each origin's requests took, in ms. */
  const typical = new Map<string, number>()
  const queues = new Map<string, QueuedClaim[]>()
  let queued = 0
  return {
    /** Claims waiting in all queues. */
    get queued(): number {
      return queued
    },
    /** Whether a request to `origin` may start now. */
    hasRoom(origin: string): boolean {
      return (active.get(origin)?.length ?? 0) < limit
    },
    started(origin: string, at: number): void {
      const starts = active.get(origin) ?? []
      starts.push(at)
      active.set(origin, starts)
    },
    finished(origin: string, startedAt: number, at: number): void {
      const starts = active.get(origin) ?? []
      const index = starts.indexOf(startedAt)
      if (index >= 0) starts.splice(index, 1)
      if (starts.length === 0) active.delete(origin)
      const took = at - startedAt
      const before = typical.get(origin)
      typical.set(origin, before === undefined ? took : 0.8 * before + 0.2 * took)
      // Forget origins no longer in use, so that the map stays small.
      if (typical.size > 10_000) typical.clear()
    },
    /**
     * How long a claim of `origin` given back should wait before it is due again: about as long
     * as the origin's requests take (its slots free about that often), and at least as long as
     * its oldest request in flight has run, so that a hung origin's backlog is not claimed and
     * given back again and again.
     */
    releaseDelay(origin: string, now: number): number {
      const oldest = active.get(origin)?.[0]
      const running = oldest === undefined ? 0 : now - oldest
      const expected = Math.max(typical.get(origin) ?? UNKNOWN_RELEASE_DELAY_MS, running)
      return Math.min(MAX_RELEASE_DELAY_MS, Math.max(MIN_RELEASE_DELAY_MS, Math.round(expected)))
    },
    /** Queues the claim; false (and nothing queued) when its origin's queue is full. */
    enqueue(entry: QueuedClaim): boolean {
      const queue = queues.get(entry.origin) ?? []
      if (queue.length >= queueCapacity) return false
      queue.push(entry)
      queues.set(entry.origin, queue)
      queued++
      return true
    },
    /** The oldest claim waiting for `origin`, removed from its queue. */
    next(origin: string): QueuedClaim | undefined {
      const queue = queues.get(origin)
      const entry = queue?.shift()
      if (!entry) return undefined
      queued--
      if (queue?.length === 0) queues.delete(origin)
      return entry
    },
    /** Empties every queue and returns what was in them. */
    drain(): QueuedClaim[] {
      const all = [...queues.values()].flat()
      queues.clear()
      queued = 0
      return all
    },
  }
}

export type TargetLimits = ReturnType<typeof createTargetLimits>

/**
 * Gives claims back without an attempt: each delivery is due again at `dueAt`, unclaimed, its
 * attempts and status unchanged. A claim whose lease already passed to another worker (its
 * token no longer matches) is left alone. One statement per claim batch (claims made together
 * share their lease token).
 */
export async function releaseClaims(
  store: Store,
  claims: readonly ClaimedDelivery[],
  dueAt: number,
): Promise<void> {
  const byToken = new Map<string, string[]>()
  for (const { delivery } of claims) {
    if (!delivery.lease_token) continue
    const ids = byToken.get(delivery.lease_token) ?? []
    ids.push(delivery.id)
    byToken.set(delivery.lease_token, ids)
  }
  for (const [token, ids] of byToken) {
    await store.db
      .updateTable('resthooks_deliveries')
      .set({ next_attempt_at: dueAt, lease_token: null })
      .where('id', 'in', ids)
      .where('lease_token', '=', token)
      .where('status', '=', 'pending')
      .execute()
  }
}
