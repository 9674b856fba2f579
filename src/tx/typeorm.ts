import { ConfigurationError } from '../errors.ts'
import type { SqlExecutor } from './sql-executor.ts'
import { preparedOn } from './statement-cache.ts'

/**
 * The part of a TypeORM `QueryRunner` that resthooks needs (typed here so that resthooks loads
 * without TypeORM installed): one connection, with the transaction it may have open.
 */
export interface TypeORMQueryRunnerLike {
  query(text: string, parameters: unknown[], useStructuredResult: true): Promise<unknown>
  /** The runner's database connection (better-sqlite3's `Database`, a `pg` client, …). */
  connect(): Promise<unknown>
  startTransaction(): Promise<void>
  commitTransaction(): Promise<void>
  rollbackTransaction(): Promise<void>
  readonly isTransactionActive: boolean
  readonly isReleased: boolean
}

/**
 * The part of a TypeORM `EntityManager` that resthooks needs: the manager of a transaction
 * (`dataSource.transaction(async (manager) => …)`) carries the query runner of that transaction.
 */
export interface TypeORMEntityManagerLike {
  readonly queryRunner?: TypeORMQueryRunnerLike
  transaction<T>(run: (manager: TypeORMEntityManagerLike) => Promise<T>): Promise<T>
}

/** What `fromTypeORM` takes: a transaction's `EntityManager`, or a `QueryRunner` inside one. */
export type TypeORMTransactionLike = TypeORMEntityManagerLike | TypeORMQueryRunnerLike

const MANAGER = Symbol.for('EntityManager')
const DATA_SOURCE = Symbol.for('DataSource')

type Candidate = Record<string, unknown> | null

const isFunction = (candidate: Record<string, unknown>, ...names: string[]) =>
  names.every((name) => typeof candidate[name] === 'function')

function isQueryRunner(value: unknown): value is TypeORMQueryRunnerLike {
  const candidate = value as Candidate
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    isFunction(
      candidate,
      'query',
      'startTransaction',
      'commitTransaction',
      'rollbackTransaction',
    ) &&
    typeof candidate.isTransactionActive === 'boolean'
  )
}

function isEntityManager(value: unknown): value is TypeORMEntityManagerLike {
  const candidate = value as Candidate
  if (candidate === null || typeof candidate !== 'object') return false
  if (candidate['@instanceof'] === MANAGER) return true
  // A subclass (e.g. TypeORM's SqljsEntityManager) stamps its own symbol: look at its shape.
  return (
    isFunction(candidate, 'query', 'transaction', 'getRepository', 'save') &&
    'queryRunner' in candidate &&
    !isDataSource(candidate)
  )
}

function isDataSource(value: unknown): boolean {
  const candidate = value as Candidate
  if (candidate === null || typeof candidate !== 'object') return false
  return (
    candidate['@instanceof'] === DATA_SOURCE ||
    (isFunction(candidate, 'createQueryRunner', 'transaction', 'getRepository') &&
      typeof candidate.manager === 'object')
  )
}

/**
 * Whether `value` looks like a TypeORM `EntityManager`, `QueryRunner` or `DataSource` (the last
 * cannot carry a transaction: `fromTypeORM` refuses it with a message saying what to pass).
 * `toSqlExecutor` must ask this before it asks whether `value` is a `pg` client, since a
 * `QueryRunner` also has `query`, `connect` and `release`.
 */
export function isTypeORMLike(value: unknown): value is TypeORMTransactionLike {
  return isEntityManager(value) || isQueryRunner(value) || isDataSource(value)
}

/** The query runner that holds the transaction of `tx`, or a clear error. */
function transactionRunner(tx: unknown, optionPath: string): TypeORMQueryRunnerLike {
  if (isDataSource(tx)) {
    throw new ConfigurationError(
      `${optionPath} is a TypeORM DataSource, which cannot hold a transaction: pass the manager of your transaction (dataSource.transaction(async (manager) => …)) or a QueryRunner after startTransaction()`,
    )
  }
  let runner: unknown = tx
  if (isEntityManager(tx)) {
    runner = tx.queryRunner
    if (runner === undefined || runner === null) {
      throw new ConfigurationError(
        `${optionPath} is a TypeORM EntityManager outside a transaction (such as dataSource.manager), whose queries may each run on another connection: pass the manager of your transaction (dataSource.transaction(async (manager) => …))`,
      )
    }
  }
  if (!isQueryRunner(runner)) {
    throw new ConfigurationError(
      `${optionPath} must be a TypeORM EntityManager of a transaction or a QueryRunner inside one`,
    )
  }
  if (runner.isReleased) {
    throw new ConfigurationError(
      `${optionPath} is a released TypeORM QueryRunner: its transaction has ended`,
    )
  }
  if (!runner.isTransactionActive) {
    throw new ConfigurationError(
      `${optionPath} is a TypeORM QueryRunner with no open transaction, so resthooks' rows would not commit or roll back with your change: call queryRunner.startTransaction() first, or use dataSource.transaction(async (manager) => …)`,
    )
  }
  return runner
}

/** The part of a better-sqlite3 `Database` (TypeORM's SQLite connection on Node) used here. */
interface BetterSqlite3Like {
  prepare(source: string): BetterSqlite3StatementLike
}

interface BetterSqlite3StatementLike {
  /** Whether the statement returns rows. */
  readonly reader: boolean
  all(...values: unknown[]): unknown[]
  run(...values: unknown[]): unknown
}

function isBetterSqlite3(value: unknown): value is BetterSqlite3Like {
  const candidate = value as Candidate
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    isFunction(candidate, 'prepare', 'exec', 'pragma') &&
    typeof candidate.inTransaction === 'boolean'
  )
}

/**
 * Bridges a TypeORM transaction, so that resthooks' outbox rows commit or roll back with it:
 * the `EntityManager` that `dataSource.transaction()` hands its callback, or a `QueryRunner`
 * after `startTransaction()`. The DataSource must be connected to the store's database
 * (`better-sqlite3` on the store's SQLite file, or `postgres` on its PostgreSQL database).
 *
 * On PostgreSQL (and any other driver) the SQL runs through `queryRunner.query(text, values)`,
 * and a statement's rows are TypeORM's `records`. On SQLite it runs on the runner's own
 * better-sqlite3 connection (`queryRunner.connect()`, where the transaction is) with prepared
 * statements cached per connection: TypeORM's `query()` costs more than resthooks' small
 * statements themselves, and those statements then do not appear in TypeORM's query log.
 * Values come back as each driver gives them (an int8 is a string on PostgreSQL); resthooks
 * reads its own number columns with `Number()`.
 *
 * @example
 * await dataSource.transaction(async (manager) => {
 *   const book = await manager.save(Book, { title: 'Emma', ownerId: 'u1' })
 *   await hooks.modelEvent('Book', 'read', book, { tx: fromTypeORM(manager) })
 * })
 */
export function fromTypeORM(tx: TypeORMTransactionLike, optionPath = 'options.tx'): SqlExecutor {
  const runner = transactionRunner(tx, optionPath)
  let connection: Promise<unknown> | undefined
  return {
    async executeSql(text, values) {
      connection ??= runner.connect()
      const db = await connection
      if (isBetterSqlite3(db)) {
        const statement = preparedOn(db, text)
        // better-sqlite3 binds no booleans; TypeORM's own query() turns them into 1 and 0 too.
        const bound = values.map((value) => (typeof value === 'boolean' ? Number(value) : value))
        if (statement.reader) return { rows: statement.all(...bound) }
        statement.run(...bound)
        return { rows: [] }
      }
      const result = (await runner.query(text, [...values], true)) as { records?: unknown } | null
      const records = result?.records
      return { rows: Array.isArray(records) ? records : [] }
    },
  }
}
