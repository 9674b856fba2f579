import type { Kysely } from 'kysely'
import { fromKysely } from '../tx/kysely.ts'
import type { SqlExecutor } from '../tx/sql-executor.ts'
import { createAdminQueries } from './admin-queries.ts'
import * as deliveries from './delivery-queries.ts'
import * as events from './event-queries.ts'
import * as outbox from './outbox-queries.ts'
import type { DeliveryStatus, Schema } from './schema.ts'
import * as service from './service-queries.ts'
import type { DeliveryPage, Store } from './store.ts'
import * as subscriptions from './subscription-queries.ts'

/** What a dialect contributes; the queries themselves are shared by every SQL store. */
export interface SqlStoreParts {
  dialect: Store['dialect']
  db: Kysely<Schema>
  migrate(): Promise<void>
  /**
   * Tells other processes' workers, through `executor`, that deliveries are due now; it takes
   * effect when the executor's transaction commits. Stores without a signal poll instead.
   */
  signalWork?: (executor: SqlExecutor) => Promise<void>
  /** The NOTIFY channel behind `signalWork`, so that the outbox can fold it into its own write. */
  workChannel?: string
  /**
   * Which of PostgreSQL's outbox functions the database has (migrations 4 and 5); without them
   * the outbox writes with a statement of its own, and dispatch looks up before it writes.
   */
  outboxFunctions?: (executor: SqlExecutor) => Promise<OutboxFunctions>
  /**
   * Called once deliveries are written, maybe in a transaction still open (the application's
   * `{ tx }`), for a store whose watch cannot see this process's own commits.
   */
  wroteDeliveries?: () => void
  /**
   * SQLite's outbox (migration 6): whether the database has the table (a database migrated by
   * an older version does not: events are then written straight into the tables), and the relay
   * that moves its rows into the tables (src/store/sqlite/outbox-relay.ts): every row, in
   * transactions of its own on `db`, or one batch within a transaction the caller holds (the
   * worker's, before it claims in that transaction). `pending` reads, without a lock, whether
   * there is anything to move; without the table there never is, and `relayAll` does nothing.
   */
  outbox?: {
    present(): boolean
    pending(db: Kysely<Schema>): Promise<boolean>
    relayAll(db: Kysely<Schema>): Promise<void>
    relayBatch(trx: Kysely<Schema>): Promise<void>
  }
  watchForWork(onWork: () => void): () => void
  /**
   * Runs the worker's own writes (claims, outcomes): SQLite commits them without waiting for
   * the disk (see sqliteStore). Default: as they are.
   */
  bookkeeping?: <T>(work: (db: Kysely<Schema>) => Promise<T>) => Promise<T>
  close(): Promise<void>
}

/** PostgreSQL's outbox functions that the database has. */
export interface OutboxFunctions {
  /** `resthooks_write_event` (migration 4): the event and its deliveries in one call. */
  write: boolean
  /** `resthooks_dispatch_event` (migration 5): the lookup and the write in one call. */
  dispatch: boolean
}

/**
 * On PostgreSQL, the largest claim that goes in the statement of a recording of successes. A
 * worker with few requests in flight claims and records a few deliveries at a time, and pays
 * a round trip and a commit per statement; one with many claims 24 and more at a time, beside
 * its recording on a second connection, which a claim waiting behind a long recording would
 * slow (docs/performance.md).
 */
const POSTGRES_CLAIM_WITH_RECORDING_UP_TO = 16

/** A Store over Kysely: one implementation of every query for SQLite and PostgreSQL. */
export function createSqlStore(parts: SqlStoreParts): Store {
  const { db, dialect, signalWork } = parts
  const signalled = async <T>(changed: T, didChange: boolean): Promise<T> => {
    if (didChange && signalWork) await signalWork(fromKysely(db))
    return changed
  }
  const bookkeeping = parts.bookkeeping ?? ((work) => work(db))
  const { outbox: outboxTable } = parts
  // What reads events or deliveries sees every committed event: the outbox is relayed first.
  const relayed = outboxTable
    ? <A extends unknown[], R>(read: (...args: A) => Promise<R>) =>
        async (...args: A): Promise<R> => {
          try {
            await outboxTable.relayAll(db)
          } catch {
            // No room to move them (a full disk): the read answers from the tables, without
            // the events still in the outbox. The worker's claim reports the failure.
          }
          return read(...args)
        }
    : <A extends unknown[], R>(read: (...args: A) => Promise<R>) => read
  // The worker relays a batch before it claims, in the claim's transaction.
  const relayBatch = outboxTable?.relayBatch
  const outboxWaiting = async (on: Kysely<Schema>) => (await outboxTable?.pending(on)) === true
  const adminQueries = createAdminQueries(db, dialect)
  const admin = Object.fromEntries(
    Object.entries(adminQueries).map(([name, query]) => [name, relayed(query)]),
  ) as unknown as typeof adminQueries
  return {
    dialect,
    db,
    migrate: () => parts.migrate(),
    close: () => parts.close(),
    transaction: (fn) => db.transaction().execute((trx) => fn(fromKysely(trx))),
    insertSubscription: (row) => subscriptions.insertSubscription(db, row),
    findSubscription: (id, owner) => subscriptions.findSubscription(db, id, owner),
    listSubscriptions: (page) => subscriptions.listSubscriptions(db, page),
    updateSubscription: (id, owner, changes) =>
      subscriptions.updateSubscription(db, id, owner, changes),
    rotateSecret: (id, owner, secret, previousExpiresAt, now) =>
      subscriptions.rotateSecret(db, id, owner, secret, previousExpiresAt, now),
    // Relayed first, so that its deliveries still in the outbox go with it.
    deleteSubscription: relayed((id: string, owner?: string) =>
      subscriptions.deleteSubscription(db, id, owner),
    ),
    findMatchingSubscriptions: (executor, patterns, owner) =>
      outbox.findMatchingSubscriptions(dialect, executor, patterns, owner),
    writeEvent: async (executor, event, rows) => {
      const inOutbox = outboxTable?.present() ? outbox.outboxDeliveries(event, rows) : undefined
      if (inOutbox !== undefined) {
        await outbox.writeOutboxRow(executor, event, inOutbox)
        // The worker relays when it claims; a read relays before it reads.
        if (rows.length > 0) parts.wroteDeliveries?.()
        return
      }
      const viaFunction =
        rows.length > 0 && (await parts.outboxFunctions?.(executor))?.write === true
      await outbox.writeEvent(
        dialect,
        executor,
        event,
        rows,
        parts.workChannel ?? null,
        viaFunction,
      )
      if (rows.length > 0) parts.wroteDeliveries?.()
    },
    ...(parts.outboxFunctions && {
      dispatchEvent: async (executor, event, patterns, deliveryIds) => {
        if (!(await parts.outboxFunctions?.(executor))?.dispatch) return null
        const dispatched = await outbox.dispatchEvent(
          executor,
          event,
          patterns,
          deliveryIds,
          parts.workChannel ?? null,
        )
        if ('written' in dispatched && dispatched.written > 0) parts.wroteDeliveries?.()
        return dispatched
      },
    }),
    ...(outboxTable && { relayOutbox: () => outboxTable.relayAll(db) }),
    claimDeliveries: (limit, leaseMs, now, only) =>
      bookkeeping(async (on) => {
        if (!relayBatch || !(await outboxWaiting(on))) {
          return deliveries.claimDeliveries(on, dialect, limit, leaseMs, now, only)
        }
        return on.transaction().execute(async (trx) => {
          await relayBatch(trx)
          return deliveries.claimDeliveries(trx, dialect, limit, leaseMs, now, only)
        })
      }),
    claimWithRecordingUpTo:
      dialect === 'sqlite' ? Number.POSITIVE_INFINITY : POSTGRES_CLAIM_WITH_RECORDING_UP_TO,
    recordOutcomes: (outcomes, now, claim) =>
      bookkeeping(async (on) => {
        const relay = claim && relayBatch && (await outboxWaiting(on)) ? relayBatch : undefined
        return deliveries.recordOutcomes(on, dialect, outcomes, now, claim, relay)
      }),
    findDelivery: relayed((id: string, owner?: string) => deliveries.findDelivery(db, id, owner)),
    listDeliveries: relayed((page: DeliveryPage) => deliveries.listDeliveries(db, page)),
    listAttempts: (deliveryId) => deliveries.listAttempts(db, deliveryId),
    retryDelivery: relayed(async (id: string, owner: string | undefined, now: number) => {
      const found = await deliveries.retryDelivery(db, id, owner, now)
      return signalled(found, found)
    }),
    replayFailed: async (subscriptionId, since, now) => {
      const count = await deliveries.replayFailed(db, subscriptionId, since, now)
      return signalled(count, count > 0)
    },
    listEvents: relayed((owner: string, after: string | undefined, limit: number) =>
      events.listEvents(db, owner, after, limit),
    ),
    countDeliveries: relayed((status: DeliveryStatus, since?: number) =>
      events.countDeliveries(db, status, since),
    ),
    pruneBatch: (before, batchSize) => events.pruneBatch(db, before, batchSize),
    insertApiKey: (row) => service.insertApiKey(db, row),
    findApiKeyOwner: (hash) => service.findApiKeyOwner(db, hash),
    saveEventTypes: (rows) => service.saveEventTypes(db, rows),
    listEventTypes: () => service.listEventTypes(db),
    admin: {
      ...admin,
      replayFailed: async (query, now) => {
        const count = await admin.replayFailed(query, now)
        return signalled(count, count > 0)
      },
    },
    watchForWork: (onWork) => parts.watchForWork(onWork),
  }
}
