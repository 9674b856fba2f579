import { createHash } from 'node:crypto'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { ConfigurationError } from '../../errors.ts'
import type { SqlExecutor } from '../../tx/sql-executor.ts'
import { runMigrations } from '../migrator.ts'
import { notifySql } from '../outbox-queries.ts'
import { PREPARED_STATEMENT } from '../prepared-statement.ts'
import type { Schema } from '../schema.ts'
import { createSqlStore, type OutboxFunctions } from '../sql-store.ts'
import type { Store } from '../store.ts'
import { createWorkListener, WORK_CHANNEL } from './work-listener.ts'

/** Options of the PostgreSQL store. */
export interface PostgresStoreOptions {
  /**
   * The application's `pg.Pool`: resthooks borrows connections from it and never ends it. For
   * the transactional outbox, pass the application's own transaction as `{ tx }` (a `pg`
   * client inside `BEGIN`, a Kysely transaction, or any bridge).
   */
  pool?: pg.Pool
  /** A connection string, when resthooks should open a pool of its own. */
  connectionString?: string
  /**
   * Connections in the pool resthooks opens (not used with `pool`). One more is held for
   * LISTEN while a worker runs.
   * @default 10
   */
  maxConnections?: number
  /**
   * Whether the worker's claim and its recording of successes, and dispatch's lookup and event
   * insert when they run on this store's pool, are named prepared statements, parsed and
   * planned once per connection (a claim about three times faster). Set false behind a
   * connection pooler that cannot keep them (PgBouncer in transaction mode before 1.21, or with
   * `max_prepared_statements = 0`).
   * @default true
   */
  preparedStatements?: boolean
}

/** How long a store that found no outbox function waits before it looks again, in ms. */
const OUTBOX_FUNCTION_RECHECK_MS = 10_000
/**
 * Whether the outbox functions of migrations 4 and 5 exist, each as 1 or 0 (integers every
 * bridged client reads alike); `to_regprocedure` answers null for a missing function rather
 * than failing.
 */
const OUTBOX_FUNCTIONS_PRESENT = `SELECT (to_regprocedure(
  'resthooks_write_event(text, text, text, text, text, bigint, json, text)'
) IS NOT NULL)::int AS write, (to_regprocedure(
  'resthooks_dispatch_event(text, text, text, text, text, bigint, json, json, text)'
) IS NOT NULL)::int AS dispatch`

/**
 * The PostgreSQL store, over `pg`: any number of API and worker processes on any number of
 * machines share one database. Workers claim with `FOR UPDATE SKIP LOCKED`, wake on
 * `LISTEN/NOTIFY` when deliveries are written, and migrations take an advisory lock.
 *
 * @example
 * const hooks = createHooks({ store: postgresStore(process.env.DATABASE_URL), events })
 * const hooks = createHooks({ store: postgresStore({ pool }), events }) // the app's pg.Pool
 */
export function postgresStore(options: string | PostgresStoreOptions): Store {
  const config = typeof options === 'string' ? { connectionString: options } : (options ?? {})
  if (config.pool === undefined && typeof config.connectionString !== 'string') {
    throw new ConfigurationError(
      'postgresStore needs a connection string or { pool } (a pg.Pool), e.g. postgresStore(process.env.DATABASE_URL)',
    )
  }
  if (config.pool !== undefined && typeof config.pool?.connect !== 'function') {
    throw new ConfigurationError('options.pool must be a pg.Pool')
  }
  const maxConnections = config.maxConnections ?? 10
  if (!Number.isInteger(maxConnections) || maxConnections < 1) {
    throw new ConfigurationError('options.maxConnections must be a positive integer')
  }
  if (config.preparedStatements !== undefined && typeof config.preparedStatements !== 'boolean') {
    throw new ConfigurationError('options.preparedStatements must be true or false')
  }
  const ownsPool = config.pool === undefined
  const pool =
    config.pool ??
    new pg.Pool({ connectionString: config.connectionString, max: maxConnections, types })
  // A broken idle connection (PostgreSQL restarted) is dropped by the pool; without a listener
  // its 'error' would crash the process. The next query opens a fresh connection.
  if (ownsPool) pool.on('error', () => {})

  const db = new Kysely<Schema>({
    dialect: new PostgresDialect({
      pool: borrowingPool(pool, ownsPool, config.preparedStatements ?? true),
    }),
  })
  const listener = createWorkListener(() => new pg.Client(pool.options))

  // Which outbox functions (migrations 4 and 5) exist: known once this store migrated, else
  // asked at the first event, and again every 10 s while one is missing (another process may
  // migrate meanwhile). Asked through the event's own executor: a connection of the store's pool
  // could be one the application's transactions are all waiting for.
  let functions: OutboxFunctions | undefined
  let functionsCheckedAt = 0
  const outboxFunctions = async (executor: SqlExecutor): Promise<OutboxFunctions> => {
    if (
      functions !== undefined &&
      ((functions.write && functions.dispatch) ||
        Date.now() - functionsCheckedAt < OUTBOX_FUNCTION_RECHECK_MS)
    ) {
      return functions
    }
    const { rows } = await executor.executeSql(OUTBOX_FUNCTIONS_PRESENT, [])
    const row = rows[0] as { write?: unknown; dispatch?: unknown } | undefined
    // The answer of a check that failed is not kept: the next event asks again.
    functions = { write: Number(row?.write) === 1, dispatch: Number(row?.dispatch) === 1 }
    functionsCheckedAt = Date.now()
    return functions
  }

  return createSqlStore({
    dialect: 'postgres',
    db,
    migrate: async () => {
      await runMigrations(db, 'postgres', async (trx) => {
        // Concurrent migrators wait here, then find the migrations applied.
        await sql`SELECT pg_advisory_xact_lock(hashtext('resthooks.migrations'))`.execute(trx)
      })
      functions = { write: true, dispatch: true }
    },
    outboxFunctions,
    // Delivered to listeners when the writing transaction commits; never if it rolls back.
    workChannel: WORK_CHANNEL,
    signalWork: async (executor) => {
      await executor.executeSql(`SELECT ${notifySql(WORK_CHANNEL)}`, [])
    },
    watchForWork: (onWork) => listener.watch(onWork),
    close: async () => {
      await listener.close()
      await db.destroy()
    },
  })
}

/**
 * BIGINT (timestamps in ms, counts) as a JavaScript number rather than pg's default string:
 * every value resthooks stores fits in 2^53.
 */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return (value: string) => Number(value)
    // biome-ignore lint/suspicious/noExplicitAny: pg's overloads do not accept a union format
    return pg.types.getTypeParser(oid, format as any)
  },
}

const ignoreError = (): void => {}

const statementNames = new Map<string, string>()

/**
 * The name a statement is prepared under, for a statement of fixed text that asks for it
 * (PREPARED_STATEMENT first): the same text always gets the same name, in every connection.
 */
function statementName(text: string): string | undefined {
  if (!text.startsWith(PREPARED_STATEMENT)) return undefined
  let name = statementNames.get(text)
  if (name === undefined) {
    name = `resthooks_${createHash('sha256').update(text).digest('hex').slice(0, 24)}`
    statementNames.set(text, name)
  }
  return name
}

/**
 * The pool as Kysely sees it: each query runs with resthooks' type parsers (so the
 * application's pool keeps its own), and destroying the store ends only a pool it opened.
 */
function borrowingPool(pool: pg.Pool, ownsPool: boolean, prepare: boolean) {
  const clients = new WeakMap<pg.PoolClient, object>()
  return {
    options: pool.options,
    Client: pg.Client,
    async connect() {
      const client = await pool.connect()
      // While a client is borrowed, the pool no longer listens to its 'error': a connection cut
      // then (PostgreSQL restarting) would crash the process with an unhandled 'error' event,
      // even with a query under way. The query fails by itself, a later one finds the client
      // unusable, and the pool drops it on release.
      client.on('error', ignoreError)
      let wrapped = clients.get(client)
      if (!wrapped) {
        wrapped = {
          get processID() {
            return (client as unknown as { processID?: number }).processID
          },
          query: (text: string, values?: unknown[]) => {
            const name = prepare ? statementName(text) : undefined
            return client.query({
              text,
              ...(values ? { values } : {}),
              ...(name ? { name } : {}),
              types,
            })
          },
          release: (error?: Error | boolean) => {
            client.off('error', ignoreError)
            client.release(error)
          },
        }
        clients.set(client, wrapped)
      }
      return wrapped
    },
    end: async () => {
      if (ownsPool) await pool.end()
    },
  } as unknown as pg.Pool
}
