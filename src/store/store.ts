import type { Kysely } from 'kysely'
import type { SqlExecutor } from '../tx/sql-executor.ts'
import type { AdminQueries } from './admin-queries.ts'
import type {
  ApiKeyTable,
  AttemptTable,
  DeliveryStatus,
  DeliveryTable,
  EventTable,
  EventTypeTable,
  Schema,
  SubscriptionTable,
} from './schema.ts'

/** What {@link Store.dispatchEvent} did: wrote, or what it needs to write. */
export type DispatchedEvent =
  | { written: number }
  | { needIds: number }
  | { candidates: SubscriptionTable[] }

/** A claimed delivery with what the worker needs to send it. */
export interface ClaimedDelivery {
  delivery: Pick<
    DeliveryTable,
    'id' | 'subscription_id' | 'owner' | 'attempts' | 'body' | 'lease_token' | 'created_at'
  >
  event: Pick<EventTable, 'id' | 'name' | 'data' | 'ref' | 'created_at'>
  /** null when the subscription was removed after the delivery was written. */
  subscription: SubscriptionTable | null
}

/** Narrows a claim to some deliveries (`resthooks send --hook/--delivery`). */
export interface ClaimFilter {
  deliveryIds?: readonly string[]
  subscriptionIds?: readonly string[]
}

/** A claim made in the transaction of a recording (`Store.recordOutcomes`). */
export interface ClaimRequest {
  limit: number
  leaseMs: number
  only?: ClaimFilter
}

/** What became of one claimed delivery, as the worker decided it. */
export type DeliveryOutcome = {
  deliveryId: string
  subscriptionId: string
  leaseToken: string
  /** The attempt made; absent when no request was sent (`dropped`). */
  attempt?: AttemptTable
} & (
  | { result: 'succeeded' }
  | { result: 'retry'; nextAttemptAt: number; error: string }
  | { result: 'exhausted'; error: string; disableBefore: number }
  | { result: 'gone' }
  | { result: 'dropped'; error: string }
)

/** What recording outcomes changed besides the deliveries. */
export interface RecordedOutcomes {
  /** Subscriptions disabled by the rule, with their reason. */
  disabled: { id: string; owner: string; reason: string }[]
  /** Subscriptions removed because their target answered 410 Gone. */
  removed: { id: string; owner: string }[]
  /** The deliveries claimed in the same transaction, when a claim was asked for and made. */
  claimed?: ClaimedDelivery[]
}

export interface SubscriptionPage {
  owner: string
  limit: number
  /** Only subscriptions with ids before this one (pages run newest first). */
  before?: string
  event?: string
}

export interface DeliveryPage {
  subscriptionId: string
  limit: number
  before?: string
  status?: DeliveryStatus
}

/**
 * The storage seam. Every store (SQLite, PostgreSQL) implements it over the same schema and
 * passes the same conformance tests; each method states what holds under concurrency, with
 * any number of processes sharing one database.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres'
  /** Kysely over the store's own connection; outbox writes compile with it. */
  readonly db: Kysely<Schema>

  /** Creates or upgrades the schema. Safe to run from several processes at once. */
  migrate(): Promise<void>
  /** Closes the store's connections. */
  close(): Promise<void>

  /** Runs `fn` in one transaction of the store's own; it commits when `fn` resolves. */
  transaction<T>(fn: (executor: SqlExecutor) => Promise<T>): Promise<T>

  insertSubscription(row: SubscriptionTable): Promise<void>
  /** The subscription, or undefined; with `owner`, only if it belongs to that owner. */
  findSubscription(id: string, owner?: string): Promise<SubscriptionTable | undefined>
  listSubscriptions(page: SubscriptionPage): Promise<SubscriptionTable[]>
  /**
   * Applies `changes` in one statement and returns the row after it; undefined when there is
   * no such subscription (of that owner). Concurrent updates do not interleave within a row.
   */
  updateSubscription(
    id: string,
    owner: string | undefined,
    changes: Partial<SubscriptionTable>,
  ): Promise<SubscriptionTable | undefined>
  /**
   * Makes `secret` the subscription's secret and its current one the previous secret, valid
   * until `previousExpiresAt`, in one statement; undefined when there is no such subscription.
   */
  rotateSecret(
    id: string,
    owner: string | undefined,
    secret: string,
    previousExpiresAt: number,
    now: number,
  ): Promise<SubscriptionTable | undefined>
  /**
   * Removes the subscription with its deliveries and their attempts, atomically. A delivery
   * claimed meanwhile finds its subscription gone and is dropped. Returns whether it existed.
   */
  deleteSubscription(id: string, owner?: string): Promise<boolean>

  /**
   * The active subscriptions whose `event` is one of `patterns`, of `owner` (or of every
   * owner when null), read through `executor` so that it sees the caller's transaction.
   * Served by the index on (event, owner): the cost does not grow with unrelated subscriptions.
   */
  findMatchingSubscriptions(
    executor: SqlExecutor,
    patterns: readonly string[],
    owner: string | null,
  ): Promise<SubscriptionTable[]>
  /**
   * Writes the event and its deliveries through `executor`, all or nothing: they commit or roll
   * back with the executor's transaction, and, outside one, they are atomic by themselves.
   */
  writeEvent(executor: SqlExecutor, event: EventTable, deliveries: DeliveryTable[]): Promise<void>
  /**
   * The lookup and the write in one round trip, where the database can (PostgreSQL, migration
   * 5): finds the active subscriptions matching `patterns` and the event's owner (every owner
   * when null), and writes the event with one delivery per match, using `deliveryIds` in order.
   * It writes nothing when more subscriptions match than ids were given (`needIds`: call again
   * with as many), or when a match has a filter (`candidates`, every match: the caller keeps
   * those whose filter admits the event and writes them with `writeEvent`). Null when the
   * database lacks the function: look up and write instead.
   */
  dispatchEvent?(
    executor: SqlExecutor,
    event: EventTable,
    patterns: readonly string[],
    deliveryIds: readonly string[],
  ): Promise<DispatchedEvent | null>

  /**
   * Moves the events that applications' transactions wrote into SQLite's outbox table
   * (migration 6) into the event and delivery tables. The worker and every read of events or
   * deliveries through the store do it themselves; call it before reading resthooks' tables
   * with SQL of your own. Absent on PostgreSQL, where dispatch writes the tables.
   */
  relayOutbox?(): Promise<void>

  /**
   * Claims up to `limit` due pending deliveries for `leaseMs`: of workers claiming at once,
   * exactly one gets each row. A claim not recorded before its lease expires is due again, so
   * a worker that dies loses nothing; its request may then be sent twice (at-least-once).
   */
  claimDeliveries(
    limit: number,
    leaseMs: number,
    now: number,
    only?: ClaimFilter,
  ): Promise<ClaimedDelivery[]>
  /**
   * Records attempts and their outcomes in one transaction. An outcome whose lease token no
   * longer matches (the lease expired and another worker claimed the delivery) records its
   * attempt but leaves the delivery to the newer claim.
   *
   * A store with `claimWithRecordingUpTo` also claims, when `claim` is given, in the same
   * transaction, after the recording (as `claimDeliveries` would), and returns the deliveries as
   * `claimed`; if the recording fails, nothing is claimed.
   */
  recordOutcomes(
    outcomes: readonly DeliveryOutcome[],
    now: number,
    claim?: ClaimRequest,
  ): Promise<RecordedOutcomes>
  /**
   * The largest claim that `recordOutcomes` makes with a recording (none when absent): a worker
   * whose claim is due when a recording is about to go claims with it, one commit and one round
   * trip instead of two. Unbounded on SQLite, whose commits write their pages on the event loop.
   * Small claims only on PostgreSQL, where a larger claim runs beside the recording on a
   * connection of its own: made one statement with a long recording, it waited behind it, and
   * one worker process with many requests in flight delivered less (docs/performance.md).
   */
  readonly claimWithRecordingUpTo?: number

  findDelivery(id: string, owner?: string): Promise<DeliveryTable | undefined>
  listDeliveries(page: DeliveryPage): Promise<DeliveryTable[]>
  listAttempts(deliveryId: string): Promise<AttemptTable[]>
  /**
   * Makes the delivery pending and due now (keeping its attempts); false if unknown. A delivery
   * a worker holds right now is left to that worker (true: it is being attempted).
   */
  retryDelivery(id: string, owner: string | undefined, now: number): Promise<boolean>
  /** Makes the subscription's failed deliveries created since `since` pending; their count. */
  replayFailed(subscriptionId: string, since: number, now: number): Promise<number>

  /** The owner's events and broadcast events with ids after `after`, oldest first. */
  listEvents(owner: string, after: string | undefined, limit: number): Promise<EventTable[]>
  /** How many deliveries have `status`, counting only those changed since `since` when given. */
  countDeliveries(status: DeliveryStatus, since?: number): Promise<number>
  /**
   * Deletes one bounded batch of finished deliveries (with their attempts) created before
   * `before`, or, once none are left, of events before it without deliveries. Pending deliveries
   * are never deleted. Each batch is its own short transaction; repeat until both counts are 0.
   */
  pruneBatch(before: number, batchSize: number): Promise<{ deliveries: number; events: number }>

  insertApiKey(row: ApiKeyTable): Promise<void>
  /** The owner of the API key with this hash, or undefined. */
  findApiKeyOwner(hash: string): Promise<string | undefined>

  /** Stores run-time event types; a name already stored keeps its first mapping. */
  saveEventTypes(rows: EventTypeTable[]): Promise<void>
  listEventTypes(): Promise<EventTypeTable[]>

  /**
   * Operator-scope queries over every owner, for the admin dashboard (`hooks.admin()`): never
   * reachable through the owner-scoped API.
   */
  readonly admin: AdminQueries

  /**
   * Calls `onWork` soon after another connection commits (new deliveries may be due), until the
   * returned function is called. Stores that cannot tell return a no-op; the worker also polls.
   */
  watchForWork(onWork: () => void): () => void
}
