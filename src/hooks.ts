import { EventEmitter } from 'node:events'
import { type AdminOptions, createAdmin } from './admin/admin.ts'
import { createDeliveryAgent } from './delivery/delivery-agent.ts'
import { createDeliveryLog } from './delivery/delivery-log.ts'
import { createOperationalEmitter } from './delivery/operational-events.ts'
import {
  countDeliveries,
  type PruneOptions,
  type PruneTotals,
  prune,
} from './delivery/retention.ts'
import { createRetrySchedule, type RetryOptions } from './delivery/retry-schedule.ts'
import { createTargetGuard, type TargetLookup } from './delivery/target-guard.ts'
import { type Transport, undiciTransport } from './delivery/transport.ts'
import {
  createWorker,
  type DeliverPendingOptions,
  type DeliveryTotals,
  deliverPendingOnce,
  type Worker,
  type WorkerDeps,
  type WorkerOptions,
} from './delivery/worker.ts'
import type { DispatchResult } from './dispatch/dispatcher.ts'
import { createDispatcher, type MatchEvent } from './dispatch/dispatcher.ts'
import type { Serializer } from './dispatch/serialize.ts'
import { MAX_SUBSCRIPTION_CACHE_MS, withSubscriptionCache } from './dispatch/subscription-cache.ts'
import { ConfigurationError } from './errors.ts'
import { type EventFeedOptions, type EventRecord, listEvents } from './events/event-feed.ts'
import { createEventRegistry, type EventMap } from './events/event-registry.ts'
import { createEventTypes } from './events/event-types.ts'
import { defaultOwner, type OwnerResolver } from './events/owner.ts'
import { type ApiOptions, createApi } from './http/api.ts'
import type { Page } from './pages.ts'
import type { DeliveryStatus } from './store/schema.ts'
import type { Store } from './store/store.ts'
import { createSecretBox } from './subscriptions/secret-box.ts'
import type { Metadata, Subscription } from './subscriptions/subscription.ts'
import type { OwnerScope } from './subscriptions/subscriptions.ts'
import { createSubscriptions } from './subscriptions/subscriptions.ts'
import { VERSION } from './version.ts'

/** Options of `createHooks()`. */
export interface HooksOptions<M extends Metadata = Metadata> {
  /** Where subscriptions, events and deliveries live: `sqliteStore()` or `postgresStore()`. */
  store: Store
  /**
   * The events, as django-rest-hooks' `HOOK_EVENTS`.
   * @example { 'book.added': 'Book.created', 'book.changed': 'Book.updated+', 'user.logged_in': null }
   */
  events?: EventMap
  /**
   * The `data` of a model's events, per model (drf-hooks' `HOOK_SERIALIZERS`). Without one, an
   * instance's `toHookPayload(hook)` shapes the whole body, or its own JSON fields are sent.
   */
  serializers?: Record<string, Serializer>
  /**
   * Finds a model instance's owner.
   * @default reads `ownerId`, then `userId`, then `user.id`
   */
  owner?: OwnerResolver
  /**
   * A model's resource URL (thorn's `reverse`), carried in the envelope as `ref`.
   * @example { Book: (book) => `https://api.example.com/books/${book.id}` }
   */
  // biome-ignore lint/suspicious/noExplicitAny: the application's own model types
  refs?: Record<string, (instance: any) => string | null | undefined>
  /**
   * Narrows the subscriptions an event goes to (django-rest-hooks' `HOOK_FINDER`); called for
   * each subscription that matches by event and owner.
   */
  match?: (subscription: Subscription<M>, event: MatchEvent) => boolean
  /** Replaces the HTTP request of an attempt (`HOOK_DELIVERER`). The SSRF guard is then yours. */
  transport?: Transport
  /**
   * false switches dispatch off: `modelEvent` and `rawEvent` write nothing (infi's `SHUT_DOWN`).
   * @default true
   */
  enabled?: boolean
  /**
   * CIDR ranges the SSRF guard admits although they are private, loopback and the like.
   * @example ['127.0.0.0/8'] // local development
   */
  allowTargets?: readonly string[]
  /**
   * The SSRF guard: refuses targets that resolve to private, loopback, link-local and other
   * non-public addresses, at connect time.
   * @default true
   */
  ssrfGuard?: boolean
  /**
   * Resolves delivery targets' host names for the SSRF guard instead of the system resolver
   * (`dns.lookup()`): a resolver of your own, or fixed answers in tests. Every address it answers
   * with is judged at connect time. Unused when `ssrfGuard` is false.
   * @example lookup: async (hostname) => [{ address: '93.184.216.34', family: 4 }]
   */
  lookup?: TargetLookup
  /** The retry schedule (default: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, ±20 %). */
  retry?: RetryOptions
  /**
   * Time limit of one attempt, in ms.
   * @default 15000
   */
  timeoutMs?: number
  /**
   * Time limit of connecting to a target, in ms.
   * @default 5000
   */
  connectTimeoutMs?: number
  /**
   * Largest event payload or delivery body, in bytes.
   * @default 262144 (256 KiB)
   */
  maxBodyBytes?: number
  /**
   * A subscription whose deliveries failed without a success for this long, in ms, is disabled
   * when a delivery runs out of attempts.
   * @default 432000000 (5 days)
   */
  disableAfterMs?: number
  /**
   * Encrypts subscription secrets at rest (AES-256-GCM, stored as `enc:v1:…`): 32 bytes as 64
   * hex digits or base64, e.g. `openssl rand -base64 32`; the service reads it from
   * `RESTHOOKS_SECRET_KEY`. Secrets stored before it was set stay readable and are encrypted
   * when rotated. Every process that delivers needs the same key: with a missing or wrong one,
   * an encrypted secret's deliveries fail (and retry) without sending a request.
   */
  secretEncryptionKey?: string
  /**
   * Answers dispatch's lookup of matching subscriptions from memory for up to this long, in ms
   * (at most 1000): an event then costs the application's transaction one statement fewer, and
   * on PostgreSQL one round trip fewer. Subscription changes made through this instance are seen
   * at once; changes made by other processes (another API or service process) within this time.
   * @default 0 (every event reads the subscriptions table)
   */
  subscriptionCacheMs?: number
  /** The clock, for tests. @default Date.now */
  now?: () => number
}

const KNOWN_OPTIONS = new Set([
  'store',
  'events',
  'serializers',
  'owner',
  'refs',
  'match',
  'transport',
  'enabled',
  'allowTargets',
  'ssrfGuard',
  'lookup',
  'retry',
  'timeoutMs',
  'connectTimeoutMs',
  'maxBodyBytes',
  'disableAfterMs',
  'secretEncryptionKey',
  'subscriptionCacheMs',
  'now',
])

/**
 * Creates the engine: subscriptions, dispatch into the transactional outbox, and delivery.
 *
 * @example
 * const hooks = createHooks({ store: sqliteStore({ path: 'app.db' }), events })
 * await hooks.migrate()
 * await hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'https://example.com/hooks' })
 * await hooks.modelEvent('Book', 'created', book)
 * const worker = hooks.worker(); await worker.start()
 */
export function createHooks<M extends Metadata = Metadata>(options: HooksOptions<M>) {
  checkOptions(options as unknown as HooksOptions)
  const now = options.now ?? Date.now
  const store = withSubscriptionCache(options.store, options.subscriptionCacheMs ?? 0, now)
  const registry = createEventRegistry(options.events ?? {})
  const eventTypes = createEventTypes(store, registry)
  const guard = options.ssrfGuard === false ? null : createTargetGuard(options)
  const secretBox = createSecretBox(options.secretEncryptionKey)
  const agent = createDeliveryAgent({
    guard,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
  })
  const transport = options.transport ?? undiciTransport(agent)
  const emitter = createOperationalEmitter()
  // In-process wake-ups: a dispatch that committed wakes this process's workers at once.
  const localWork = new EventEmitter().setMaxListeners(0)

  const subscriptions = createSubscriptions<M>({
    store,
    registry,
    checkTargetHost: (hostname) => guard?.checkHost(hostname),
    reloadEvents: eventTypes.reload,
    sealSecret: secretBox.seal,
    now,
  })
  const dispatcher = createDispatcher({
    store,
    registry,
    enabled: options.enabled ?? true,
    owner: options.owner ?? defaultOwner,
    serializers: options.serializers ?? {},
    refs: options.refs ?? {},
    match: options.match as ((s: Subscription, e: MatchEvent) => boolean) | undefined,
    maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
    now,
    onCommitted: () => localWork.emit('work'),
    reloadEvents: eventTypes.reload,
  })
  const workerDeps: WorkerDeps = {
    store,
    events: emitter,
    attempt: {
      transport,
      schedule: createRetrySchedule(options.retry),
      timeoutMs: options.timeoutMs ?? 15_000,
      disableAfterMs: options.disableAfterMs ?? 5 * 24 * 60 * 60 * 1000,
      userAgent: `resthooks/${VERSION}`,
      maxBodyBytes: options.maxBodyBytes ?? 256 * 1024,
      openSecret: secretBox.open,
      now,
    },
    onLocalWork(listener) {
      localWork.on('work', listener)
      return () => localWork.off('work', listener)
    },
  }
  const workers = new Set<Worker>()
  const log = createDeliveryLog({ store, now })

  const self = {
    /** The registered events. */
    events: registry,
    store,
    /**
     * Creates or upgrades the schema (safe to run from several processes at once), and loads the
     * event types registered at run time.
     */
    async migrate(): Promise<void> {
      await store.migrate()
      await eventTypes.load()
    },

    subscribe: subscriptions.subscribe,
    getSubscription: subscriptions.get,
    listSubscriptions: subscriptions.list,
    updateSubscription: subscriptions.update,
    unsubscribe: subscriptions.unsubscribe,
    rotateSecret: subscriptions.rotateSecret,

    modelEvent: dispatcher.modelEvent,
    rawEvent: dispatcher.rawEvent,

    /**
     * Sends a `hook.test` event to this subscription only; undefined when it is unknown (or
     * another owner's).
     */
    async sendTest(id: string, scope: OwnerScope = {}): Promise<DispatchResult | undefined> {
      const subscription = await store.findSubscription(id, scope.owner)
      return subscription && dispatcher.sendTest(subscription)
    },

    /** The owner's recent events, oldest first (the polling fallback). */
    listEvents: (feed: EventFeedOptions): Promise<Page<EventRecord>> => listEvents(store, feed),

    /** Deletes finished deliveries and events older than `before`, in bounded batches. */
    prune: (pruning: PruneOptions): Promise<PruneTotals> => prune(store, pruning),

    /** How many deliveries have `status` (changed since `since`, when given). */
    countDeliveries: (counting: { status: DeliveryStatus; since?: Date }): Promise<number> =>
      countDeliveries(store, counting),

    ...log,

    /** Listens to an operational event; returns a function that removes the listener. */
    on: emitter.on,

    /** Reports an unexpected error on the `error` operational event. */
    reportError: (error: Error) => emitter.emit('error', error),

    /**
     * Registers more events at run time, for this process and (stored) for every other one.
     * The same checks as the `events` option; a mistake is a ConfigurationError.
     */
    registerEvents: (map: EventMap) => eventTypes.register(map),

    /**
     * The subscription API as a Web-standard handler, `(Request) => Promise<Response>`.
     *
     * @example
     * const handler = hooks.api({ authenticate: async (req) => (await session(req))?.userId })
     */
    api: (apiOptions: ApiOptions) => createApi(self, apiOptions),

    /**
     * The admin dashboard as a Web-standard handler, `(Request) => Promise<Response>`: every
     * owner's subscriptions and deliveries, charts, and the operator's actions. Operators are
     * recognised by `authenticate` (only `true` passes) or sign in with `adminKey`; owners never
     * get in. See docs/admin.md.
     *
     * @example
     * const admin = hooks.admin({ authenticate: (req) => isStaff(req), basePath: '/admin' })
     */
    admin: (adminOptions: AdminOptions) => createAdmin(self, adminOptions),

    /** A delivery worker; `start()` it, and `stop()` it before closing. */
    worker(workerOptions: WorkerOptions = {}): Worker {
      const worker = createWorker(workerDeps, workerOptions)
      workers.add(worker)
      return worker
    },

    /** Delivers what is due now, once (`resthooks send`), and resolves with what happened. */
    deliverPending(workerOptions: DeliverPendingOptions = {}): Promise<DeliveryTotals> {
      return deliverPendingOnce(workerDeps, workerOptions)
    },

    /** Stops this instance's workers (finishing their requests) and closes the store. */
    async close(): Promise<void> {
      await Promise.all([...workers].map((worker) => worker.stop()))
      await agent.close()
      await store.close()
    },
  }
  return self
}

export type Hooks<M extends Metadata = Metadata> = ReturnType<typeof createHooks<M>>

function checkOptions(options: HooksOptions<Metadata>): void {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('createHooks(options) needs an options object with a store')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) throw new ConfigurationError(`options.${key} is not an option`)
  }
  const store = options.store as Partial<Store> | undefined
  if (!store || typeof store.claimDeliveries !== 'function') {
    throw new ConfigurationError('options.store must be a store, e.g. sqliteStore({ path })')
  }
  const functions = ['owner', 'match', 'transport', 'now', 'lookup'] as const
  for (const key of functions) {
    if (options[key] !== undefined && typeof options[key] !== 'function') {
      throw new ConfigurationError(`options.${key} must be a function`)
    }
  }
  for (const key of ['serializers', 'refs'] as const) {
    const map = options[key]
    if (map === undefined) continue
    if (map === null || typeof map !== 'object') {
      throw new ConfigurationError(`options.${key} must be an object of model name → function`)
    }
    for (const [model, fn] of Object.entries(map)) {
      if (typeof fn !== 'function') {
        throw new ConfigurationError(`options.${key}.${model} must be a function`)
      }
    }
  }
  const numbers = ['timeoutMs', 'connectTimeoutMs', 'maxBodyBytes', 'disableAfterMs'] as const
  for (const key of numbers) {
    const value = options[key]
    if (value !== undefined && !(typeof value === 'number' && value > 0)) {
      throw new ConfigurationError(`options.${key} must be a positive number`)
    }
  }
  const cacheMs = options.subscriptionCacheMs
  if (
    cacheMs !== undefined &&
    !(typeof cacheMs === 'number' && cacheMs >= 0 && cacheMs <= MAX_SUBSCRIPTION_CACHE_MS)
  ) {
    throw new ConfigurationError(
      `options.subscriptionCacheMs must be a number of ms from 0 to ${MAX_SUBSCRIPTION_CACHE_MS}`,
    )
  }
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') {
    throw new ConfigurationError('options.enabled must be true or false')
  }
  const schedule = options.retry?.schedule
  if (schedule !== undefined && (!Array.isArray(schedule) || schedule.some((d) => !(d >= 0)))) {
    throw new ConfigurationError('options.retry.schedule must be an array of waits in ms (>= 0)')
  }
}
