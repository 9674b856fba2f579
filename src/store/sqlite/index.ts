import { resolve } from 'node:path'
import { DatabaseSync, type StatementSync } from 'node:sqlite'
import { Kysely, sql } from 'kysely'
import { ConfigurationError } from '../../errors.ts'
import { runMigrations } from '../migrator.ts'
import type { Schema } from '../schema.ts'
import { createSqlStore } from '../sql-store.ts'
import type { Store } from '../store.ts'
import { type Checkpointer, startCheckpointer } from './checkpointer.ts'
import { NodeSqliteDialect } from './node-sqlite-dialect.ts'
import { moveOutboxRows, outboxPending, relayAll } from './outbox-relay.ts'

export { NodeSqliteDialect, type NodeSqliteDialectOptions } from './node-sqlite-dialect.ts'

/** Options of the embedded SQLite store. */
export interface SqliteStoreOptions {
  /**
   * The database file. For the transactional outbox, use the application's own database file:
   * resthooks' tables (`resthooks_*`) live beside the application's.
   * @default './resthooks.db'
   */
  path?: string
  /**
   * How long to wait for another connection's write lock, in ms (asynchronously).
   * @default 10000
   */
  busyTimeoutMs?: number
  /**
   * SQLite's `synchronous` setting for what the application and the API write (events, their
   * deliveries, subscriptions). `full` survives power loss; `normal` survives a crash of any
   * process (WAL), and is faster.
   *
   * The worker's own bookkeeping (claiming deliveries, recording attempts and outcomes) always
   * commits with `normal`: it survives any process crash, and a power loss can only forget its
   * last few commits, whose deliveries are then sent again with the same `webhook-id`
   * (at-least-once, as after a crash). The next `full` commit makes them durable too.
   * @default 'full'
   */
  synchronous?: 'full' | 'normal'
  /**
   * How often to look for commits from other connections and processes, in ms
   * (`PRAGMA data_version`, which costs no I/O and takes no lock). A worker in another process
   * than the application's starts on an event within this much of its commit, half of it on
   * average.
   * @default 10
   */
  watchIntervalMs?: number
  /**
   * Once a worker runs on this store, checkpoint the WAL (copy its pages into the database file,
   * then `fsync`) from a thread of its own every 200 ms, instead of inside whichever commit
   * crosses SQLite's 1,000-page mark on the event loop. If that thread fails, the connection
   * goes back to SQLite's automatic checkpoints. Ignored for `:memory:`.
   * @default true
   */
  backgroundCheckpoints?: boolean
}

/** How often the checkpoint thread checkpoints, in ms. */
const CHECKPOINT_INTERVAL_MS = 200
/** How long a store that found no outbox table (migration 6) waits before it looks again, in ms. */
const OUTBOX_RECHECK_MS = 10_000
/** SQLite's own default for `wal_autocheckpoint`, in pages. */
const AUTOCHECKPOINT_PAGES = 1000

/**
 * The embedded store on Node's built-in `node:sqlite` (no native build), in WAL mode so that
 * readers never wait for the writer. Several processes may share one file.
 *
 * @example
 * const hooks = createHooks({ store: sqliteStore({ path: 'app.db' }), events })
 */
export function sqliteStore(options: SqliteStoreOptions = {}): Store {
  const path = options.path ?? './resthooks.db'
  if (typeof path !== 'string' || path === '') {
    throw new ConfigurationError('options.path must be a file path (or ":memory:")')
  }
  const synchronous = options.synchronous ?? 'full'
  if (synchronous !== 'full' && synchronous !== 'normal') {
    throw new ConfigurationError(`options.synchronous must be 'full' or 'normal'`)
  }
  // The connection's own busy handler blocks the thread; keep it short and wait in the dialect.
  const database = new DatabaseSync(path, { timeout: 5 })
  // The file the connection opened, for the checkpoint thread's own connection.
  const databaseFile = resolve(path)
  database.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = ${synchronous.toUpperCase()};`)
  const dialect = new NodeSqliteDialect({
    database,
    busyTimeoutMs: options.busyTimeoutMs ?? 10_000,
  })
  const db = new Kysely<Schema>({ dialect })
  const watchIntervalMs = options.watchIntervalMs ?? 10
  const backgroundCheckpoints = (options.backgroundCheckpoints ?? true) && path !== ':memory:'
  let checkpointer: Checkpointer | null = null
  let threadTried = false
  let closed = false
  const checkpointInBackground = () => {
    if (threadTried || !backgroundCheckpoints || closed) return
    threadTried = true
    try {
      checkpointer = startCheckpointer(databaseFile, CHECKPOINT_INTERVAL_MS, () => {
        try {
          database.exec(`PRAGMA wal_autocheckpoint = ${AUTOCHECKPOINT_PAGES}`)
        } catch {
          // closed meanwhile
        }
      })
    } catch {
      // No thread to be had (a resource limit): SQLite's own checkpoints go on.
      return
    }
    database.exec('PRAGMA wal_autocheckpoint = 0')
  }
  // Deliveries written in a transaction on this connection (the application's `{ tx }` through
  // hooks.store.db): its commit leaves PRAGMA data_version unchanged (that counts other
  // connections' commits only), so the watchers are woken here once the connection is out of
  // the transaction, checked every millisecond while it lasts.
  const localWatchers = new Set<() => void>()
  let awaitingCommit = false
  const wakeAfterTransaction = () => {
    if (awaitingCommit || localWatchers.size === 0) return
    awaitingCommit = true
    const check = () => {
      let open = false
      try {
        open = database.isTransaction
      } catch {
        // closed: nothing to wake
      }
      if (open) {
        setTimeout(check, 1).unref()
        return
      }
      awaitingCommit = false
      for (const watcher of localWatchers) watcher()
    }
    setImmediate(check)
  }

  // Whether the database has the outbox table (migration 6); once it has, it keeps it.
  let outboxPresent = false
  let outboxCheckedAt = Number.NEGATIVE_INFINITY
  const hasOutbox = () => {
    if (outboxPresent || closed || Date.now() - outboxCheckedAt < OUTBOX_RECHECK_MS) {
      return outboxPresent
    }
    outboxCheckedAt = Date.now()
    try {
      outboxPresent =
        database
          .prepare(`SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'resthooks_outbox'`)
          .get() !== undefined
    } catch {
      // closed meanwhile, or the schema locked: look again next time
      outboxCheckedAt = Number.NEGATIVE_INFINITY
    }
    return outboxPresent
  }

  return createSqlStore({
    dialect: 'sqlite',
    db,
    migrate: async () => {
      await runMigrations(db, 'sqlite')
      outboxCheckedAt = Number.NEGATIVE_INFINITY
    },
    outbox: {
      present: hasOutbox,
      pending: async (on) => hasOutbox() && (await outboxPending(on)),
      relayAll: async (on) => {
        if (hasOutbox()) await relayAll(on)
      },
      relayBatch: async (trx) => {
        await moveOutboxRows(trx)
      },
    },
    bookkeeping: (work) => {
      // A worker runs here: its commits, many and small, leave the WAL's checkpoints to a thread.
      checkpointInBackground()
      return synchronous === 'normal'
        ? work(db)
        : // The one connection is held throughout: nothing else commits while it is relaxed.
          db.connection().execute(async (connection) => {
            await sql`PRAGMA synchronous = NORMAL`.execute(connection)
            try {
              return await work(connection)
            } finally {
              await sql`PRAGMA synchronous = FULL`.execute(connection)
            }
          })
    },
    wroteDeliveries: wakeAfterTransaction,
    watchForWork(onWork) {
      let last: number | undefined
      localWatchers.add(onWork)
      // Read straight from the connection, outside the dialect's queue: the pragma takes no lock
      // and reads a counter, so it may run while a transaction holds the connection, and a
      // check costs a few µs instead of a query's round through Kysely.
      let version: StatementSync | undefined
      const timer = setInterval(() => {
        try {
          version ??= database.prepare('PRAGMA data_version')
          const now = Number((version.get() as { data_version: number }).data_version)
          if (last !== undefined && now !== last) onWork()
          last = now
        } catch {
          // closed meanwhile
        }
      }, watchIntervalMs)
      timer.unref()
      return () => {
        clearInterval(timer)
        localWatchers.delete(onWork)
      }
    },
    close: async () => {
      closed = true
      await checkpointer?.stop()
      await db.destroy()
    },
  })
}
