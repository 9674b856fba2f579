/**
 * Drizzle ORM integration: a table's writes (`create`, `update`, `delete`) that record their
 * model events in the same transaction, and an awaitable transaction for every Drizzle driver.
 * Drizzle has no lifecycle hooks, so the writes go through these helpers.
 *
 * resthooks never imports `drizzle-orm` at run time (only its types): it loads without it.
 *
 * @example
 * import { drizzleModel } from 'resthooks/drizzle'
 * const books = drizzleModel(hooks, db, booksTable, { model: 'Book' })
 * const book = await books.create({ title: 'Emma', ownerId: 'u1' })      // book.added
 * await books.update(eq(booksTable.id, book.id), { title: 'Persuasion' }) // book.changed
 * await books.delete(eq(booksTable.id, book.id))                          // book.removed
 *
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { SQLWrapper, Table } from 'drizzle-orm'
import type { DispatchResult } from '../dispatch/dispatcher.ts'
import { ConfigurationError, ValidationError } from '../errors.ts'
import {
  type DrizzleLike,
  drizzleClient,
  drizzleDialect,
  fromDrizzle,
  isDrizzleLike,
  isDrizzleTransaction,
} from '../tx/drizzle.ts'
import { checkSet, checkWhere, type HooksLike, modelEvents, modelNameOf } from './model-events.ts'

export { type DrizzleLike, fromDrizzle } from '../tx/drizzle.ts'

/** A Drizzle database (`drizzle(…)`) or transaction, on PostgreSQL or SQLite. */
export interface DrizzleDatabaseLike {
  // biome-ignore lint/suspicious/noExplicitAny: Drizzle's own transaction signatures vary by driver
  transaction(run: (tx: any) => any, config?: any): unknown
}

/** The transaction type of a Drizzle database: what `db.transaction(async (tx) => …)` gives. */
export type DrizzleTransactionOf<TDb> = TDb extends {
  // biome-ignore lint/suspicious/noExplicitAny: matching any driver's signature
  transaction(run: (tx: infer TTx) => any, ...rest: any[]): any
}
  ? TTx
  : never

/** A column of the table (`books.id`). */
export interface DrizzleColumnLike {
  readonly name: string
}

/** Options of `drizzleModel()`. */
export interface DrizzleModelOptions {
  /**
   * The model the table's rows are events of, as the events map names it (`Book` for
   * `'book.added': 'Book.created'`).
   * @default the table's name in PascalCase (`book` → `Book`, `book_chapter` → `BookChapter`)
   */
  model?: string
  /**
   * The primary key, which pairs each updated row with its previous values.
   * @default the columns declared `.primaryKey()`
   * @example { primaryKey: [chapters.bookId, chapters.number] }
   */
  primaryKey?: DrizzleColumnLike | readonly DrizzleColumnLike[]
}

/** Where a helper's write runs. */
export interface DrizzleWriteOptions<TTx> {
  /**
   * The transaction to run in (`db.transaction(async (tx) => …)` on PostgreSQL,
   * `drizzleTransaction(db, async (tx) => …)` on any driver). Without it, the write and its
   * events run in a transaction of their own.
   */
  tx?: TTx
}

/** The values `update` sets: the table's columns, each a value or an SQL expression. */
export type DrizzleSet<TTable extends Table> = {
  [K in keyof TTable['$inferInsert']]?: TTable['$inferInsert'][K] | SQLWrapper
}

/** A table's writes, each recording its model event in the same transaction. */
export interface DrizzleModel<TTable extends Table, TTx> {
  /** The model name the events are dispatched as. */
  readonly model: string
  readonly table: TTable
  /**
   * Inserts one row (`insert … returning`) and dispatches `Model.created` for it.
   * @returns the row as stored (defaults and generated ids filled in)
   */
  create(
    values: TTable['$inferInsert'],
    options?: DrizzleWriteOptions<TTx>,
  ): Promise<TTable['$inferSelect']>
  /** Inserts rows in one statement and dispatches `Model.created` for each, in order. */
  createMany(
    values: readonly TTable['$inferInsert'][],
    options?: DrizzleWriteOptions<TTx>,
  ): Promise<TTable['$inferSelect'][]>
  /**
   * Updates the rows `where` selects and dispatches `Model.updated` for each, with the row as it
   * was before as `{ previous }` (read in the same transaction; locked `FOR UPDATE` on
   * PostgreSQL), so that change conditions (`changed`, `changedTo`) work.
   * @returns the rows after the update
   */
  update(
    where: SQLWrapper | undefined,
    set: DrizzleSet<TTable>,
    options?: DrizzleWriteOptions<TTx>,
  ): Promise<TTable['$inferSelect'][]>
  /**
   * Deletes the rows `where` selects and dispatches `Model.deleted` for each, with its last values.
   * @returns the deleted rows
   */
  delete(
    where: SQLWrapper | undefined,
    options?: DrizzleWriteOptions<TTx>,
  ): Promise<TTable['$inferSelect'][]>
  /**
   * Dispatches a custom action (`Model.read`) for a row, in `tx` when given.
   * @example await books.event('read', book)
   */
  event(
    action: string,
    row: TTable['$inferSelect'],
    options?: DrizzleWriteOptions<TTx>,
  ): Promise<DispatchResult | null>
}

/** The query builders used here, whatever the driver. */
interface QueryBuilder extends PromiseLike<unknown[]> {
  values(values: unknown): QueryBuilder
  set(values: unknown): QueryBuilder
  where(condition: unknown): QueryBuilder
  from(table: unknown): QueryBuilder
  for(strength: 'update'): QueryBuilder
  returning(): QueryBuilder
}

interface QueryDatabase {
  insert(table: unknown): QueryBuilder
  update(table: unknown): QueryBuilder
  delete(table: unknown): QueryBuilder
  select(): QueryBuilder
  transaction<T>(run: (tx: QueryDatabase) => Promise<T>): Promise<T>
}

const TABLE_NAME = Symbol.for('drizzle:Name')
const TABLE_COLUMNS = Symbol.for('drizzle:Columns')
const IS_TABLE = Symbol.for('drizzle:IsDrizzleTable')

/**
 * A Drizzle table's writes, each recording its model event (created, updated, deleted) in the
 * same transaction, so that a change that rolls back sends nothing and one that commits is
 * never lost. Write conditions as Drizzle expressions (`eq(books.id, 7)`).
 *
 * @example
 * const books = drizzleModel(hooks, db, booksTable, { model: 'Book' })
 * const book = await books.create({ title: 'Emma', ownerId: 'u1' })
 * await books.update(eq(booksTable.id, book.id), { status: 'published' })
 * await drizzleTransaction(db, async (tx) => {
 *   const book = await books.create({ title: 'Persuasion', ownerId: 'u1' }, { tx })
 *   await chapters.createMany([{ bookId: book.id, title: 'Volume I' }], { tx })
 * })
 */
export function drizzleModel<TDb extends DrizzleDatabaseLike, TTable extends Table>(
  hooks: HooksLike,
  db: TDb,
  table: TTable,
  options: DrizzleModelOptions = {},
): DrizzleModel<TTable, DrizzleTransactionOf<TDb>> {
  if (table === null || typeof table !== 'object' || !(IS_TABLE in table)) {
    throw new ConfigurationError('drizzleModel(hooks, db, table): table must be a Drizzle table')
  }
  const tableName = String((table as unknown as Record<symbol, unknown>)[TABLE_NAME])
  const caller = `drizzleModel(${tableName})`
  const found = drizzleDialect(db)
  if (!isDrizzleLike(db) || found === null) {
    throw new ConfigurationError(
      `${caller}: db must be a Drizzle database on PostgreSQL or SQLite (drizzle-orm/node-postgres, drizzle-orm/better-sqlite3)`,
    )
  }
  const dialect: 'postgres' | 'sqlite' = found
  if (hooks?.store?.dialect !== undefined && dialect !== hooks.store.dialect) {
    throw new ConfigurationError(
      `${caller}: db is a Drizzle ${dialect} database but the store is ${hooks.store.dialect}: the outbox must be in the application's own database`,
    )
  }
  // SQLite: refuses, at start-up, a driver other than better-sqlite3.
  if (dialect === 'sqlite') fromDrizzle(db as unknown as DrizzleLike, `${caller}: db`)
  const keys = primaryKeyOf(table, options.primaryKey, caller)
  const events = modelEvents(hooks, options.model ?? modelNameOf(tableName), keys, caller)
  if (keys.length === 0 && events.fires('updated')) {
    throw new ConfigurationError(
      `${caller}: the table has no column declared .primaryKey(), which pairs updated rows with their previous values; name it with options.primaryKey`,
    )
  }
  const base = db as unknown as QueryDatabase

  /** Runs `work` in the caller's transaction, or in one of its own. */
  async function transact<T>(
    given: unknown,
    work: (tx: QueryDatabase, eventTx: object) => Promise<T>,
  ): Promise<T> {
    if (given !== undefined) {
      checkTransaction(given, dialect, caller)
      return work(given as QueryDatabase, eventTransaction(given))
    }
    return drizzleTransaction(base as unknown as DrizzleDatabaseLike, (tx: QueryDatabase) =>
      work(tx, eventTransaction(tx)),
    )
  }

  function plain(given: unknown): QueryDatabase {
    if (given === undefined) return base
    checkTransaction(given, dialect, caller)
    return given as QueryDatabase
  }

  const insert = async (tx: QueryDatabase, values: unknown) =>
    (await tx.insert(table).values(values).returning()) as TTable['$inferSelect'][]

  return {
    model: events.model,
    table,

    async create(values, writeOptions = {}) {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new ValidationError([
          { field: 'values', message: `${caller}.create(values): values must be one row's object` },
        ])
      }
      const rows = events.fires('created')
        ? await transact(writeOptions.tx, async (tx, eventTx) => {
            const created = await insert(tx, values)
            await events.dispatch('created', created, eventTx)
            return created
          })
        : await insert(plain(writeOptions.tx), values)
      return rows[0] as TTable['$inferSelect']
    },

    async createMany(values, writeOptions = {}) {
      if (!Array.isArray(values)) {
        throw new ValidationError([
          {
            field: 'values',
            message: `${caller}.createMany(values): values must be an array of rows`,
          },
        ])
      }
      if (values.length === 0) return []
      if (!events.fires('created')) return insert(plain(writeOptions.tx), values)
      return transact(writeOptions.tx, async (tx, eventTx) => {
        const created = await insert(tx, values)
        await events.dispatch('created', created, eventTx)
        return created
      })
    },

    async update(where, set, writeOptions = {}) {
      checkWhere(where, caller, 'update')
      checkSet(set, caller)
      const update = async (tx: QueryDatabase) =>
        (await tx.update(table).set(set).where(where).returning()) as TTable['$inferSelect'][]
      if (!events.fires('updated')) return update(plain(writeOptions.tx))
      return transact(writeOptions.tx, async (tx, eventTx) => {
        const select = tx.select().from(table).where(where)
        // PostgreSQL: lock the rows, so that nobody changes them between this read and the update.
        const previous = (await (dialect === 'postgres'
          ? select.for('update')
          : select)) as object[]
        const updated = await update(tx)
        await events.dispatch('updated', updated, eventTx, previous)
        return updated
      })
    },

    async delete(where, writeOptions = {}) {
      checkWhere(where, caller, 'delete')
      const remove = async (tx: QueryDatabase) =>
        (await tx.delete(table).where(where).returning()) as TTable['$inferSelect'][]
      if (!events.fires('deleted')) return remove(plain(writeOptions.tx))
      return transact(writeOptions.tx, async (tx, eventTx) => {
        const deleted = await remove(tx)
        await events.dispatch('deleted', deleted, eventTx)
        return deleted
      })
    },

    event(action, row, writeOptions = {}) {
      const { tx } = writeOptions
      if (tx === undefined) return events.one(action, row as object)
      checkTransaction(tx, dialect, caller)
      return events.one(action, row as object, eventTransaction(tx))
    },
  }
}

/** The columns' property names of `primaryKey`, or of the columns declared `.primaryKey()`. */
function primaryKeyOf(
  table: Table,
  primaryKey: DrizzleColumnLike | readonly DrizzleColumnLike[] | undefined,
  caller: string,
): string[] {
  const columns = Object.entries(
    ((table as unknown as Record<symbol, unknown>)[TABLE_COLUMNS] ?? {}) as Record<
      string,
      { primary?: boolean }
    >,
  )
  if (primaryKey === undefined) {
    return columns.filter(([, column]) => column.primary === true).map(([key]) => key)
  }
  const wanted = Array.isArray(primaryKey) ? primaryKey : [primaryKey]
  if (wanted.length === 0) {
    throw new ConfigurationError(`${caller}: options.primaryKey must name at least one column`)
  }
  return wanted.map((column: DrizzleColumnLike) => {
    const found = columns.find(([, candidate]) => candidate === column)
    if (!found) {
      throw new ConfigurationError(
        `${caller}: options.primaryKey: ${String(column?.name)} is not a column of this table`,
      )
    }
    return found[0]
  })
}

/**
 * The transaction as `modelEvent` takes it: the Drizzle transaction itself (so an owner
 * resolver can query through it), able to run resthooks' own statements.
 */
function eventTransaction(tx: unknown): object {
  const executor = fromDrizzle(tx as DrizzleLike)
  return Object.create(tx as object, { executeSql: { value: executor.executeSql } })
}

function checkTransaction(tx: unknown, dialect: 'postgres' | 'sqlite', caller: string): void {
  if (!isDrizzleLike(tx)) {
    throw new ConfigurationError(
      `${caller}: options.tx must be a Drizzle transaction (db.transaction(async (tx) => …) or drizzleTransaction(db, async (tx) => …))`,
    )
  }
  if (dialect === 'sqlite' && isDrizzleTransaction(tx)) {
    throw new ConfigurationError(
      `${caller}: options.tx is a synchronous better-sqlite3 transaction, which commits when its callback returns, before anything awaited in it: use drizzleTransaction(db, async (tx) => …) from resthooks/drizzle`,
    )
  }
  if (dialect === 'sqlite' && drizzleClient(tx)?.inTransaction === false) {
    throw new ConfigurationError(
      `${caller}: options.tx is a database with no transaction open on it: use drizzleTransaction(db, async (tx) => …), or leave tx out for a transaction of the write's own`,
    )
  }
  // Refuses what cannot hold a transaction (a database over a pg.Pool), with its message.
  fromDrizzle(tx)
}

// ---------------------------------------------------------------------------------------------
// Awaitable transactions on synchronous SQLite drivers

/** The connections whose transaction the current async context holds. */
const holding = new AsyncLocalStorage<ReadonlySet<object>>()
/** Per connection, the end of the last transaction queued on it. */
const queues = new WeakMap<object, Promise<void>>()
/** The transaction objects handed out by drizzleTransaction on a synchronous driver. */
const openTransactions = new WeakSet<object>()

/** Error thrown by `tx.rollback()`: the transaction rolls back and the error propagates. */
class TransactionRollbackError extends Error {
  override name = 'TransactionRollbackError'
}

/**
 * Runs `run` in one transaction and resolves with its result: committed when it resolves, rolled
 * back when it throws. Write the application's changes and resthooks' events through `tx`.
 *
 * On PostgreSQL this is Drizzle's own `db.transaction(run)`. On better-sqlite3, whose Drizzle transactions are synchronous (they commit when the callback
 * returns, so nothing can be awaited inside them), it is `BEGIN IMMEDIATE` … `COMMIT` on the
 * database's one connection, and `tx` is that database (with `rollback()`). Its transactions
 * queue one after another; anything else run on the same connection meanwhile (a plain
 * `db.insert` from another request) becomes part of the open transaction, as always with one
 * connection: keep `run` free of other I/O.
 *
 * @example
 * await drizzleTransaction(db, async (tx) => {
 *   const [book] = await tx.insert(books).values(input).returning()
 *   await hooks.modelEvent('Book', 'created', book, { tx: fromDrizzle(tx) })
 * })
 */
export async function drizzleTransaction<TDb extends DrizzleDatabaseLike, T>(
  db: TDb,
  run: (tx: DrizzleTransactionOf<TDb>) => Promise<T>,
): Promise<T> {
  if (!isDrizzleLike(db) || drizzleDialect(db) === null) {
    throw new ConfigurationError(
      'drizzleTransaction(db, run): db must be a Drizzle database on PostgreSQL or SQLite',
    )
  }
  if (typeof run !== 'function') {
    throw new ConfigurationError('drizzleTransaction(db, run): run must be an async function')
  }
  if (drizzleDialect(db) === 'postgres') {
    return (db as unknown as QueryDatabase).transaction(
      run as unknown as (tx: QueryDatabase) => Promise<T>,
    )
  }
  if (openTransactions.has(db) || isDrizzleTransaction(db)) {
    throw new ConfigurationError(
      'drizzleTransaction(db, run): db is already a transaction; run the work in it directly',
    )
  }
  const connection = drizzleClient(db) ?? db
  if (holding.getStore()?.has(connection)) {
    throw new ConfigurationError(
      'already inside drizzleTransaction() on this SQLite connection: a write without { tx } (or another drizzleTransaction) would wait for that transaction forever; pass its tx, e.g. books.create(values, { tx })',
    )
  }
  const executor = fromDrizzle(db, 'drizzleTransaction(db, run): db')
  const previous = queues.get(connection) ?? Promise.resolve()
  let release!: () => void
  const mine = new Promise<void>((resolve) => {
    release = resolve
  })
  queues.set(
    connection,
    previous.then(() => mine),
  )
  await previous
  const held = new Set(holding.getStore() ?? [])
  held.add(connection)
  try {
    return await holding.run(held, async () => {
      await executor.executeSql('BEGIN IMMEDIATE', [])
      const tx = Object.create(db, {
        rollback: {
          value: () => {
            throw new TransactionRollbackError('Rollback')
          },
        },
      }) as DrizzleTransactionOf<TDb> & object
      openTransactions.add(tx)
      try {
        const result = await run(tx)
        await executor.executeSql('COMMIT', [])
        return result
      } catch (error) {
        // After a failed COMMIT too; a transaction SQLite already rolled back needs none.
        await executor.executeSql('ROLLBACK', []).catch(() => {})
        throw error
      } finally {
        openTransactions.delete(tx)
      }
    })
  } finally {
    release()
  }
}
