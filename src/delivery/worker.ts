import { ConfigurationError } from '../errors.ts'
import type { ClaimedDelivery, ClaimFilter, RecordedOutcomes, Store } from '../store/store.ts'
import { type AttemptDeps, type AttemptReport, attemptDelivery } from './attempt.ts'
import { asError, type OperationalEmitter } from './operational-events.ts'

/** Options of `hooks.worker()` and `hooks.deliverPending()`. */
export interface WorkerOptions {
  /**
   * Requests in flight at once.
   * @default 50
   */
  concurrency?: number
  /**
   * How long a claim holds a delivery, in ms. A worker that dies releases its claims when their
   * lease ends; keep it well above the attempt timeout.
   * @default 60000
   */
  leaseMs?: number
  /**
   * How often to look for retries that came due, in ms. New events wake the worker sooner: at
   * once in the process that dispatched them, and within the store's watch interval elsewhere.
   * @default 1000
   */
  pollIntervalMs?: number
  /**
   * Most deliveries claimed by one query.
   * @default 100
   */
  claimBatchSize?: number
}

/** Options of `hooks.deliverPending()`: the worker's, and which deliveries the pass may send. */
export interface DeliverPendingOptions extends WorkerOptions {
  /** Send only these deliveries (those of them that are due). */
  deliveryIds?: readonly string[]
  /** Send only the deliveries of these subscriptions. */
  subscriptionIds?: readonly string[]
}

/** A delivery worker: `start()` begins claiming and sending, `stop()` finishes what it holds. */
export interface Worker {
  start(): Promise<void>
  /** Claims nothing new, lets the requests in flight finish and records them. */
  stop(): Promise<void>
  readonly running: boolean
}

/** What a pass of `deliverPending()` (or a worker so far) did. */
export interface DeliveryTotals {
  succeeded: number
  /** Failed attempts that will be retried. */
  failed: number
  /** Deliveries that ran out of attempts, or whose target answered 410. */
  exhausted: number
  /** Deliveries dropped because their subscription was removed or disabled. */
  dropped: number
}

export interface WorkerDeps {
  store: Store
  attempt: AttemptDeps
  events: OperationalEmitter
  /** Subscribes to in-process "new deliveries committed" signals; returns an unsubscribe. */
  onLocalWork: (listener: () => void) => () => void
}

/** Times a failed recording is tried again (after 0.1, 0.2, 0.4, 0.8, 1.6 s) before giving up. */
const RECORD_RETRIES = 5

/**
 * Claims due deliveries in batches, keeps up to `concurrency` requests in flight, and records
 * finished attempts in batches (one transaction per batch). Errors are reported on `error`,
 * never thrown out of the loop.
 */
function createDeliveryLoop(deps: WorkerDeps, options: DeliverPendingOptions) {
  const concurrency = positive(options.concurrency ?? 50, 'concurrency')
  const leaseMs = positive(options.leaseMs ?? 60_000, 'leaseMs')
  const claimBatchSize = positive(options.claimBatchSize ?? 100, 'claimBatchSize')
  // While requests are in flight, claim again only once this many slots are free: claiming as
  // each request finishes would cost one write (and, on SQLite, one sync) per delivery.
  const refillAt = Math.max(1, Math.min(claimBatchSize, Math.ceil(concurrency / 2)))
  const { store, events } = deps
  const now = deps.attempt.now
  const only: ClaimFilter | undefined =
    options.deliveryIds || options.subscriptionIds
      ? {
          ...(options.deliveryIds ? { deliveryIds: options.deliveryIds } : {}),
          ...(options.subscriptionIds ? { subscriptionIds: options.subscriptionIds } : {}),
        }
      : undefined

  let accepting = false
  let inFlight = 0
  let claiming = false
  let mayHaveMore = true
  let flushing: Promise<void> | null = null
  const unrecorded: AttemptReport[] = []
  let recordFailures = 0
  const idleWaiters = new Set<() => void>()
  const totals: DeliveryTotals = { succeeded: 0, failed: 0, exhausted: 0, dropped: 0 }

  function wake(): void {
    mayHaveMore = true
    pump()
  }

  function pump(): void {
    const free = concurrency - inFlight
    if (!accepting || claiming || !mayHaveMore || free <= 0 || (inFlight > 0 && free < refillAt)) {
      checkIdle()
      return
    }
    claiming = true
    const limit = Math.min(free, claimBatchSize)
    store
      .claimDeliveries(limit, leaseMs, now(), only)
      .then(
        (claimed) => {
          if (claimed.length < limit) mayHaveMore = false
          for (const delivery of claimed) send(delivery)
        },
        (error) => {
          mayHaveMore = false
          events.emit('error', asError(error))
        },
      )
      .finally(() => {
        claiming = false
        pump()
      })
  }

  function send(claimed: ClaimedDelivery): void {
    inFlight++
    attemptDelivery(claimed, deps.attempt)
      .then(
        (report) => {
          unrecorded.push(report)
        },
        (error) => events.emit('error', asError(error)),
      )
      .finally(() => {
        inFlight--
        scheduleFlush()
        // A freed slot may take more due work; a failed retry may be due at once.
        mayHaveMore = true
        pump()
      })
  }

  function scheduleFlush(): void {
    if (flushing) return
    // Wait a turn of the event loop so that the attempts finishing together share a transaction.
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(flush).finally(() => {
      flushing = null
      if (unrecorded.length > 0) scheduleFlush()
      else checkIdle()
    })
  }

  async function flush(): Promise<void> {
    const reports = unrecorded.splice(0, unrecorded.length)
    if (reports.length === 0) return
    let recorded: RecordedOutcomes
    try {
      recorded = await store.recordOutcomes(
        reports.map((report) => report.outcome),
        now(),
      )
    } catch (error) {
      events.emit('error', asError(error))
      // The database may be back in a moment (a restart, a failover): try again a few times,
      // keeping the order. After that, the claims expire with their lease and their deliveries
      // are sent again: nothing is lost, but those requests go out twice.
      if (recordFailures < RECORD_RETRIES) {
        recordFailures++
        unrecorded.unshift(...reports)
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (recordFailures - 1)))
      } else {
        recordFailures = 0
      }
      return
    }
    recordFailures = 0
    for (const report of reports) announce(report)
    for (const { id, owner, reason } of recorded.disabled) {
      events.emit('subscription.disabled', { subscriptionId: id, owner, reason })
    }
    for (const { id, owner } of recorded.removed) {
      events.emit('subscription.removed', {
        subscriptionId: id,
        owner,
        reason: 'its target answered 410 Gone',
      })
    }
  }

  function announce(report: AttemptReport): void {
    const { outcome } = report
    const common = {
      deliveryId: outcome.deliveryId,
      eventId: report.eventId,
      event: report.event,
      subscriptionId: outcome.subscriptionId,
      owner: report.owner,
      attempt: report.attempt,
      durationMs: report.durationMs,
    }
    switch (outcome.result) {
      case 'succeeded':
        totals.succeeded++
        events.emit('delivery.succeeded', { ...common, status: report.status ?? 0 })
        return
      case 'retry':
        totals.failed++
        events.emit('delivery.failed', {
          ...common,
          status: report.status,
          error: outcome.error,
          nextAttemptAt: new Date(outcome.nextAttemptAt).toISOString(),
        })
        return
      case 'exhausted':
        totals.exhausted++
        events.emit('delivery.exhausted', {
          ...common,
          status: report.status,
          error: outcome.error,
        })
        return
      case 'gone':
        totals.exhausted++
        events.emit('delivery.exhausted', { ...common, status: 410, error: 'HTTP 410' })
        return
      case 'dropped':
        totals.dropped++
        return
    }
  }

  function checkIdle(): void {
    if (inFlight > 0 || claiming || flushing || unrecorded.length > 0) return
    for (const resolve of idleWaiters) resolve()
    idleWaiters.clear()
  }

  return {
    wake,
    totals,
    setAccepting(value: boolean) {
      accepting = value
    },
    /** Resolves when nothing is being claimed, sent or recorded. */
    whenIdle(): Promise<void> {
      return new Promise((resolve) => {
        idleWaiters.add(resolve)
        checkIdle()
      })
    },
  }
}

/** `hooks.worker()`: runs until stopped. */
export function createWorker(deps: WorkerDeps, options: WorkerOptions = {}): Worker {
  const loop = createDeliveryLoop(deps, options)
  const pollIntervalMs = positive(options.pollIntervalMs ?? 1000, 'pollIntervalMs')
  let stopWatching: (() => void)[] = []
  let running = false
  return {
    get running() {
      return running
    },
    async start() {
      if (running) return
      running = true
      loop.setAccepting(true)
      const timer = setInterval(loop.wake, pollIntervalMs)
      stopWatching = [
        deps.onLocalWork(loop.wake),
        deps.store.watchForWork(loop.wake),
        () => clearInterval(timer),
      ]
      loop.wake()
    },
    async stop() {
      if (!running) return
      running = false
      loop.setAccepting(false)
      for (const unwatch of stopWatching) unwatch()
      stopWatching = []
      await loop.whenIdle()
    },
  }
}

/** `hooks.deliverPending()`: delivers what is due now, once, and resolves with the totals. */
export async function deliverPendingOnce(
  deps: WorkerDeps,
  options: DeliverPendingOptions = {},
): Promise<DeliveryTotals> {
  const loop = createDeliveryLoop(deps, options)
  loop.setAccepting(true)
  loop.wake()
  await loop.whenIdle()
  loop.setAccepting(false)
  return { ...loop.totals }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ConfigurationError(`options.${name} must be a positive number, got ${value}`)
  }
  return value
}
