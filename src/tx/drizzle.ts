import { ConfigurationError } from '../errors.ts'
import { isPgPool } from './pg.ts'
import type { SqlExecutor } from './sql-executor.ts'
import { preparedOn } from './statement-cache.ts'

/**
 * The part of a Drizzle database or transaction that resthooks needs, typed here so that
 * resthooks loads without `drizzle-orm` installed. On PostgreSQL (`drizzle-orm/node-postgres`
 * and the other `pg-core` drivers) resthooks runs its statements with `execute`, which takes
 * Drizzle's `SQLWrapper`; on SQLite (`drizzle-orm/better-sqlite3`) directly on the driver's
 * connection, which Drizzle keeps as `session.client` (`$client` on the database).
 */
export interface DrizzleLike {
  select(...args: never[]): unknown
}

/**
 * A query as Drizzle's `execute` takes it (`SQLWrapper`): Drizzle's dialect turns `getSQL()`
 * into `{ sql, params }` by calling its `toQuery()`, which here hands over resthooks' text and
 * values as they are (`$1` placeholders, the driver's own).
 */
interface DrizzleQueryLike {
  getSQL(): { toQuery(config: unknown): { sql: string; params: unknown[] } }
}

/** The part of a better-sqlite3 `Database` that resthooks uses. */
interface BetterSqliteLike {
  prepare(source: string): BetterSqliteStatement
  readonly inTransaction: boolean
}

interface BetterSqliteStatement {
  readonly reader: boolean
  all(...values: unknown[]): unknown[]
  run(...values: unknown[]): unknown
}

/** Drizzle's class tag (`drizzle-orm/entity`): `Symbol.for`, so no import is needed. */
const ENTITY_KIND = Symbol.for('drizzle:entityKind')

/** The Drizzle class tags of `value`'s class and its ancestors (empty when not Drizzle's). */
function entityKinds(value: unknown): string[] {
  if (value === null || typeof value !== 'object') return []
  const kinds: string[] = []
  let cls = (value as { constructor?: unknown }).constructor as Record<symbol, unknown> | null
  while (cls && typeof cls === 'function') {
    if (Object.hasOwn(cls, ENTITY_KIND) && typeof cls[ENTITY_KIND] === 'string') {
      kinds.push(cls[ENTITY_KIND] as string)
    }
    cls = Object.getPrototypeOf(cls) as Record<symbol, unknown> | null
  }
  return kinds
}

/** Whether `value` looks like a Drizzle database or transaction (of any dialect). */
export function isDrizzleLike(value: unknown): value is DrizzleLike {
  const kinds = entityKinds(value)
  return kinds.some((kind) => kind.endsWith('Database') || kind.endsWith('Transaction'))
}

/**
 * The SQL dialect of a Drizzle database or transaction: `postgres` (`pg-core`), `sqlite`
 * (`sqlite-core`), or null for a dialect resthooks cannot store events in (MySQL, …).
 */
export function drizzleDialect(value: unknown): 'postgres' | 'sqlite' | null {
  const kinds = entityKinds(value)
  if (kinds.includes('PgDatabase')) return 'postgres'
  if (kinds.includes('BaseSQLiteDatabase')) return 'sqlite'
  return null
}

/** Whether `value` is a Drizzle transaction (`db.transaction(async (tx) => …)`'s `tx`). */
export function isDrizzleTransaction(value: unknown): boolean {
  return entityKinds(value).some((kind) => kind.endsWith('Transaction'))
}

/**
 * The driver's client under a Drizzle database or transaction (a `pg.Pool` or `PoolClient`, a
 * better-sqlite3 `Database`, …), when Drizzle keeps one where it usually does.
 */
export function drizzleClient(db: unknown): Record<string, unknown> | undefined {
  const session = (db as { session?: { client?: unknown } }).session
  const client = session?.client ?? (db as { $client?: unknown }).$client
  return client !== null && typeof client === 'object'
    ? (client as Record<string, unknown>)
    : undefined
}

function query(text: string, values: readonly unknown[]): DrizzleQueryLike {
  const built = { sql: text, params: [...values] }
  return { getSQL: () => ({ toQuery: () => built }) }
}

/**
 * Drizzle wraps driver errors (`DrizzleQueryError: Failed query: …`, `DrizzleError: Failed to
 * run the query …`); for resthooks' own statements the driver's error says more.
 */
function driverError(error: unknown): unknown {
  if (!(error instanceof Error) || !(error.cause instanceof Error)) return error
  const name = error.constructor?.name ?? ''
  const wrapped =
    entityKinds(error).includes('DrizzleError') ||
    name === 'DrizzleQueryError' ||
    name === 'DrizzleError'
  return wrapped ? error.cause : error
}

async function run<T>(call: () => T | PromiseLike<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    throw driverError(error)
  }
}

/**
 * Bridges a Drizzle transaction (or database) so that resthooks' outbox rows commit or roll back
 * with it. Works with PostgreSQL databases (`drizzle-orm/node-postgres`: through `tx.execute`)
 * and SQLite ones on better-sqlite3 (`drizzle-orm/better-sqlite3`: on its connection, with
 * resthooks' statements prepared once); the database must be the store's.
 *
 * A Drizzle database over a `pg.Pool` cannot hold a transaction and is refused; pass the
 * transaction. On better-sqlite3, Drizzle's own `db.transaction()` is synchronous (it commits
 * when its callback returns, before anything awaited in it): use `drizzleTransaction()` from
 * `resthooks/drizzle` to await inside a transaction; a transaction that has already ended is
 * refused rather than written to outside it.
 *
 * @example
 * await db.transaction(async (tx) => {
 *   const [book] = await tx.insert(books).values(input).returning()
 *   await hooks.modelEvent('Book', 'created', book, { tx: fromDrizzle(tx) })
 * })
 */
export function fromDrizzle(tx: DrizzleLike, optionPath = 'options.tx'): SqlExecutor {
  const dialect = drizzleDialect(tx)
  if (dialect === null) {
    throw new ConfigurationError(
      `${optionPath} is a Drizzle database of a dialect resthooks does not store events in: use Drizzle on PostgreSQL or SQLite`,
    )
  }
  const isTransaction = isDrizzleTransaction(tx)
  const client = drizzleClient(tx)
  if (dialect === 'postgres') {
    if (!isTransaction && isPgPool(client)) {
      throw new ConfigurationError(
        `${optionPath} is a Drizzle database over a pg.Pool, which cannot hold a transaction: pass the transaction (await db.transaction(async (tx) => { …; await hooks.modelEvent(…, { tx }) }))`,
      )
    }
    const execute = (tx as { execute?: (query: DrizzleQueryLike) => PromiseLike<unknown> }).execute
    if (typeof execute !== 'function') {
      throw new ConfigurationError(
        `${optionPath} is a Drizzle PostgreSQL database without execute()`,
      )
    }
    return {
      async executeSql(text, values) {
        const result = await run(() => execute.call(tx, query(text, values)))
        // node-postgres answers a QueryResult ({ rows }); postgres.js an array of rows. BIGINT
        // columns come back as strings there: resthooks reads every number it stores with
        // Number(), so rows are handed over as they are.
        const rows = Array.isArray(result) ? result : (result as { rows?: unknown[] } | null)?.rows
        return { rows: rows ?? [] }
      },
    }
  }
  if (!isBetterSqlite(client)) {
    throw new ConfigurationError(
      `${optionPath} is a Drizzle SQLite database on a driver resthooks does not bridge: use drizzle-orm/better-sqlite3, or pass an executor of your own ({ executeSql(text, values) })`,
    )
  }
  return {
    async executeSql(text, values) {
      // better-sqlite3's Drizzle transactions are synchronous: once the callback has returned,
      // what is written through its `tx` would land outside the transaction (after a rollback,
      // even). Refuse it instead.
      if (isTransaction && !client.inTransaction) {
        throw new ConfigurationError(
          `${optionPath} is a Drizzle transaction that has already ended (better-sqlite3 transactions are synchronous and end when their callback returns): run the change in drizzleTransaction(db, async (tx) => …) from resthooks/drizzle`,
        )
      }
      const statement = preparedOn(client, text)
      const parameters = values.map(toSqliteValue)
      if (statement.reader) return { rows: statement.all(...parameters) }
      statement.run(...parameters)
      return { rows: [] }
    },
  }
}

function isBetterSqlite(
  client: Record<string, unknown> | undefined,
): client is BetterSqliteLike & Record<string, unknown> {
  return (
    client !== undefined &&
    typeof client.prepare === 'function' &&
    typeof client.exec === 'function' &&
    typeof client.pragma === 'function' &&
    typeof client.inTransaction === 'boolean'
  )
}

function toSqliteValue(value: unknown): unknown {
  if (value === undefined) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.getTime()
  return value
}
