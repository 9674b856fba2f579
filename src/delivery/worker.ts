import { ConfigurationError } from '../errors.ts'
import type { ClaimedDelivery, ClaimFilter, RecordedOutcomes, Store } from '../store/store.ts'
import { type AttemptDeps, type AttemptReport, attemptDelivery } from './attempt.ts'
import { asError, type OperationalEmitter } from './operational-events.ts'
import {
  createTargetLimits,
  type QueuedClaim,
  releaseClaims,
  SHORT_RELEASE_DELAY_MS,
  targetOrigin,
} from './target-limits.ts'

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
  /**
   * Requests in flight at once to one target origin (scheme, host and port), across all its
   * subscriptions, so that a slow or hung receiver holds at most this many of the worker's
   * `concurrency` slots and the other targets keep being served.
   *
   * A claimed delivery whose origin is at its limit holds no slot: it waits in its origin's
   * queue (at most this many per origin, each starting within one attempt timeout, so well
   * within its lease) or, when that queue is full, is given back without an attempt (its
   * attempts and status untouched), due again after about as long as the origin's requests take
   * (20 ms to 5 s). A queued delivery that could no longer finish within its lease is given back
   * instead of sent, so the limit never causes a request to be sent twice. In `deliverPending()`
   * the queues are not bounded (the pass sends everything due), but the pass stops claiming
   * while `claimBatchSize` deliveries wait. The limit is per worker; when every delivery goes to
   * one receiver you trust, set it to `concurrency`. See docs/reliability.md.
   * @default 10
   */
  perTargetConcurrency?: number
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
 * How long a finished attempt may wait to be recorded with others, in ms: fewer, larger
 * transactions (each a commit) while attempts finish one by one. A claim due, or a claim's worth
 * of attempts, records at once.
 */
const RECORDING_DELAY_MS = 5
/** What a queued delivery's lease must still hold after its attempt's time limit, in ms. */
const RECORDING_MARGIN_MS = 5000

/**
 * Claims due deliveries in batches, keeps up to `concurrency` requests in flight, and records
 * finished attempts in batches (one transaction per batch). Errors are reported on `error`,
 * never thrown out of the loop.
 */
function createDeliveryLoop(deps: WorkerDeps, options: DeliverPendingOptions, once = false) {
  const concurrency = positive(options.concurrency ?? 50, 'concurrency')
  const leaseMs = positive(options.leaseMs ?? 60_000, 'leaseMs')
  const claimBatchSize = positive(options.claimBatchSize ?? 100, 'claimBatchSize')
  const perTarget = positive(options.perTargetConcurrency ?? 10, 'perTargetConcurrency')
  // A long-running worker queues at most `perTarget` claims per origin: they start within one
  // attempt timeout. A one-shot pass queues everything it claims (see perTargetConcurrency).
  const limits = createTargetLimits(perTarget, once ? Number.POSITIVE_INFINITY : perTarget)
  const releasing = new Set<Promise<void>>()
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
  // How many to claim at most: shrinks to what the last claim could use when some of it had to
  // be given back (its origins were at their limit), and grows back while nothing is.
  const minClaimSize = Math.min(perTarget, claimBatchSize)
  let claimSize = claimBatchSize
  let flushing: Promise<void> | null = null
  let flushTimer: ReturnType<typeof setTimeout> | null = null
  // A recording is scheduled and has not begun: it will claim too, where the store can.
  let recordingSoon = false
  const unrecorded: AttemptReport[] = []
  let recordFailures = 0
  const idleWaiters = new Set<() => void>()
  const totals: DeliveryTotals = { succeeded: 0, failed: 0, exhausted: 0, dropped: 0 }

  function wake(): void {
    mayHaveMore = true
    pump()
  }

  /** How many to claim now: 0 when the loop should not claim (see refillAt). */
  function wantedClaim(): number {
    const free = concurrency - inFlight
    const backedUp = once && limits.queued >= claimBatchSize
    if (
      !accepting ||
      claiming ||
      !mayHaveMore ||
      backedUp ||
      free <= 0 ||
      (inFlight > 0 && free < refillAt)
    ) {
      return 0
    }
    return Math.min(free, claimSize)
  }

  /** Whether a claim of `limit` goes in the next recording's transaction (see the store's). */
  function claimsWithRecording(limit: number): boolean {
    return limit > 0 && limit <= (store.claimWithRecordingUpTo ?? 0)
  }

  function pump(): void {
    const limit = wantedClaim()
    if (recordingSoon && claimsWithRecording(limit)) {
      // A recording is to come: the claim goes in its transaction, now.
      flushNow()
      return
    }
    if (limit === 0) {
      checkIdle()
      return
    }
    claiming = true
    store
      .claimDeliveries(limit, leaseMs, now(), only)
      .then(
        (claimed) => took(claimed, limit),
        (error) => claimFailed(error),
      )
      .finally(() => {
        claiming = false
        pump()
      })
  }

  /** Sends, queues or gives back what a claim of at most `limit` returned. */
  function took(claimed: readonly ClaimedDelivery[], limit: number): void {
    if (claimed.length < limit) mayHaveMore = false
    const over: ClaimedDelivery[] = []
    const claimedAt = now()
    for (const delivery of claimed) {
      if (!admit(delivery, claimedAt)) over.push(delivery)
    }
    claimSize =
      over.length > 0
        ? Math.max(minClaimSize, claimed.length - over.length)
        : Math.min(claimBatchSize, claimSize * 2)
    const longest = release(over)
    // Nothing of it could be sent or queued: the due deliveries belong to origins at their
    // limit. When those origins free slots soon (they answer quickly), claim again when a
    // slot frees (or on a wake-up or the poll), not at once: claiming and giving back the
    // same backlog over and over would only load the store. When they are slow, what was
    // given back stays out of the way for a while: claim on, to find other origins' work.
    if (claimed.length > 0 && over.length === claimed.length) {
      if (longest <= SHORT_RELEASE_DELAY_MS) mayHaveMore = false
    }
  }

  function claimFailed(error: unknown): void {
    mayHaveMore = false
    events.emit('error', asError(error))
  }

  /**
   * Sends the claim now if its origin has a free slot, or queues it; false when neither (its
   * origin's queue is full): the caller gives it back.
   */
  function admit(claimed: ClaimedDelivery, claimedAt: number): boolean {
    // A removed or disabled subscription's delivery is dropped without a request.
    if (claimed.subscription?.status !== 'active') {
      send(claimed, null)
      return true
    }
    const origin = targetOrigin(claimed.subscription.target)
    if (limits.hasRoom(origin)) {
      send(claimed, origin)
      return true
    }
    const startBy = claimedAt + leaseMs - deps.attempt.timeoutMs - RECORDING_MARGIN_MS
    return limits.enqueue({ claimed, origin, startBy })
  }

  /**
   * Gives claims back without an attempt, each due again after its origin's release delay; the
   * longest delay used.
   */
  function release(claims: readonly ClaimedDelivery[]): number {
    if (claims.length === 0) return 0
    const at = now()
    const byOrigin = new Map<string, ClaimedDelivery[]>()
    for (const claimed of claims) {
      const origin = targetOrigin(claimed.subscription?.target ?? '')
      byOrigin.set(origin, [...(byOrigin.get(origin) ?? []), claimed])
    }
    let longest = 0
    for (const [origin, group] of byOrigin) {
      const delay = limits.releaseDelay(origin, at)
      longest = Math.max(longest, delay)
      // Spread by up to a quarter more, so that they do not all come back in the same claim.
      const dueAt = at + delay + Math.floor(Math.random() * (delay / 4))
      // If this fails, the claims come back when their lease ends: later, but nothing is lost.
      const done = releaseClaims(store, group, dueAt)
        .catch((error) => events.emit('error', asError(error)))
        .finally(() => {
          releasing.delete(done)
          checkIdle()
        })
      releasing.add(done)
    }
    return longest
  }

  /**
   * Starts the next queued claim of `origin` that can still finish within its lease; whether
   * one started (and took the slot just freed).
   */
  function startQueued(origin: string): boolean {
    const late: ClaimedDelivery[] = []
    let started = false
    for (let entry = limits.next(origin); entry; entry = limits.next(origin)) {
      if (accepting && now() <= entry.startBy) {
        send(entry.claimed, origin)
        started = true
        break
      }
      late.push(entry.claimed)
    }
    release(late)
    return started
  }

  function send(claimed: ClaimedDelivery, origin: string | null): void {
    inFlight++
    const startedAt = now()
    if (origin !== null) limits.started(origin, startedAt)
    attemptDelivery(claimed, deps.attempt)
      .then(
        (report) => {
          unrecorded.push(report)
        },
        (error) => events.emit('error', asError(error)),
      )
      .finally(() => {
        inFlight--
        let replaced = false
        if (origin !== null) {
          limits.finished(origin, startedAt, now())
          replaced = startQueued(origin)
        }
        scheduleFlush()
        // A freed slot may take more due work; a failed retry may be due at once. A slot taken
        // at once by a queued claim of the same origin frees nothing.
        if (!replaced) mayHaveMore = true
        pump()
      })
  }

  function scheduleFlush(): void {
    // Attempts wait to be recorded: a claim due meanwhile waits for their recording, also
    // while the one before it runs (it schedules this one when it ends).
    recordingSoon = true
    if (flushing) return
    // Record once a claim is due (it goes with the recording), a claim's worth of attempts
    // waits, or nothing else is in flight; otherwise within RECORDING_DELAY_MS, so that the
    // attempts finishing close together share a transaction.
    const claimDue = claimsWithRecording(wantedClaim())
    if (claimDue || unrecorded.length >= refillAt || inFlight === 0 || !accepting) {
      flushNow()
    } else {
      flushTimer ??= setTimeout(flushNow, RECORDING_DELAY_MS)
    }
  }

  function flushNow(): void {
    if (flushTimer) clearTimeout(flushTimer)
    flushTimer = null
    if (flushing) return
    // Wait a turn of the event loop so that the attempts finishing together share a transaction.
    flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(flush).finally(() => {
      flushing = null
      if (unrecorded.length > 0) scheduleFlush()
      else checkIdle()
    })
  }

  async function flush(): Promise<void> {
    recordingSoon = false
    const reports = unrecorded.splice(0, unrecorded.length)
    if (reports.length === 0) {
      pump()
      return
    }
    // The claim that pump() left to this recording, in its transaction (claimWithRecordingUpTo).
    const wanted = wantedClaim()
    const limit = claimsWithRecording(wanted) ? wanted : 0
    if (limit > 0) claiming = true
    let recorded: RecordedOutcomes
    try {
      recorded = await store.recordOutcomes(
        reports.map((report) => report.outcome),
        now(),
        limit > 0 ? { limit, leaseMs, ...(only ? { only } : {}) } : undefined,
      )
    } catch (error) {
      if (limit > 0) claiming = false
      events.emit('error', asError(error))
      // The database may be back in a moment (a restart, a failover): try again a few times,
      // keeping the order. After that, the claims expire with their lease and their deliveries
      // are sent again: nothing is lost, but those requests go out twice. Meanwhile the loop
      // claims by itself again.
      pump()
      if (recordFailures < RECORD_RETRIES) {
        recordFailures++
        unrecorded.unshift(...reports)
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** (recordFailures - 1)))
      } else {
        recordFailures = 0
      }
      return
    }
    if (limit > 0) {
      claiming = false
      if (recorded.claimed) took(recorded.claimed, limit)
      pump()
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
    if (
      inFlight > 0 ||
      claiming ||
      flushing ||
      unrecorded.length > 0 ||
      limits.queued > 0 ||
      releasing.size > 0
    ) {
      return
    }
    for (const resolve of idleWaiters) resolve()
    idleWaiters.clear()
  }

  return {
    wake,
    totals,
    setAccepting(value: boolean) {
      accepting = value
      // Stopping: what waits for a slot is given back rather than sent.
      if (!value) release(limits.drain().map((entry: QueuedClaim) => entry.claimed))
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
  const loop = createDeliveryLoop(deps, options, true)
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
