/**
 * Kysely integration: a table's writes (`create`, `update`, `delete`) that record their model
 * events in the same transaction. Kysely has no lifecycle hooks, so the writes go through these
 * helpers; conditions are Kysely's own expressions (`(eb) => eb('id', '=', 7)`).
 *
 * @example
 * import { kyselyModel } from 'resthooks/kysely'
 * const books = kyselyModel(hooks, db, 'book', { model: 'Book' })
 * const book = await books.create({ title: 'Emma', owner_id: 'u1' })         // book.added
 * await books.update((eb) => eb('id', '=', book.id), { title: 'Persuasion' }) // book.changed
 * await books.delete((eb) => eb('id', '=', book.id))                          // book.removed
 *
 * @module
 */
import {
  CompiledQuery,
  type ExpressionOrFactory,
  type Insertable,
  type Kysely,
  type Selectable,
  type SqlBool,
  type Transaction,
  type UpdateObject,
} from 'kysely'
import type { DispatchResult } from '../dispatch/dispatcher.ts'
import { ConfigurationError, ValidationError } from '../errors.ts'
import { isKyselyLike } from '../tx/kysely.ts'
import { checkSet, checkWhere, type HooksLike, modelEvents, modelNameOf } from './model-events.ts'

/** Options of `kyselyModel()`. */
export interface KyselyModelOptions<DB, TB extends keyof DB> {
  /**
   * The model the table's rows are events of, as the events map names it (`Book` for
   * `'book.added': 'Book.created'`).
   * @default the table's name in PascalCase (`book` → `Book`, `book_chapter` → `BookChapter`)
   */
  model?: string
  /**
   * The primary key column(s), which pair each updated row with its previous values.
   * @default 'id'
   */
  primaryKey?: (keyof DB[TB] & string) | readonly (keyof DB[TB] & string)[]
}

/** Where a helper's write runs. */
export interface KyselyWriteOptions<DB> {
  /**
   * The transaction to run in (`db.transaction().execute(async (trx) => …)`). Without it, the
   * write and its events run in a transaction of their own.
   */
  tx?: Transaction<DB>
}

/** A table's writes, each recording its model event in the same transaction. */
export interface KyselyModel<DB, TB extends keyof DB & string> {
  /** The model name the events are dispatched as. */
  readonly model: string
  readonly table: TB
  /**
   * Inserts one row (`insert … returning *`) and dispatches `Model.created` for it.
   * @returns the row as stored (defaults and generated ids filled in)
   */
  create(values: Insertable<DB[TB]>, options?: KyselyWriteOptions<DB>): Promise<Selectable<DB[TB]>>
  /** Inserts rows in one statement and dispatches `Model.created` for each, in order. */
  createMany(
    values: readonly Insertable<DB[TB]>[],
    options?: KyselyWriteOptions<DB>,
  ): Promise<Selectable<DB[TB]>[]>
  /**
   * Updates the rows `where` selects and dispatches `Model.updated` for each, with the row as it
   * was before as `{ previous }` (read in the same transaction; locked `FOR UPDATE` on
   * PostgreSQL), so that change conditions (`changed`, `changedTo`) work.
   * @returns the rows after the update
   */
  update(
    where: ExpressionOrFactory<DB, TB, SqlBool>,
    set: UpdateObject<DB, TB>,
    options?: KyselyWriteOptions<DB>,
  ): Promise<Selectable<DB[TB]>[]>
  /**
   * Deletes the rows `where` selects and dispatches `Model.deleted` for each, with its last values.
   * @returns the deleted rows
   */
  delete(
    where: ExpressionOrFactory<DB, TB, SqlBool>,
    options?: KyselyWriteOptions<DB>,
  ): Promise<Selectable<DB[TB]>[]>
  /**
   * Dispatches a custom action (`Model.read`) for a row, in `tx` when given.
   * @example await books.event('read', book)
   */
  event(
    action: string,
    row: Selectable<DB[TB]>,
    options?: KyselyWriteOptions<DB>,
  ): Promise<DispatchResult | null>
}

/** The query builders used here, typed loosely: the public signatures carry the table's types. */
interface Builder {
  values(values: unknown): Builder
  set(values: unknown): Builder
  where(condition: unknown): Builder
  selectAll(): Builder
  forUpdate(): Builder
  returningAll(): Builder
  execute(): Promise<object[]>
}

interface Queries {
  readonly isTransaction: boolean
  insertInto(table: string): Builder
  updateTable(table: string): Builder
  deleteFrom(table: string): Builder
  selectFrom(table: string): Builder
  transaction(): { execute<T>(run: (trx: Queries) => Promise<T>): Promise<T> }
  connection(): { execute<T>(run: (connection: Queries) => Promise<T>): Promise<T> }
  executeQuery(query: CompiledQuery): Promise<unknown>
  getExecutor(): { adapter: { supportsReturning?: boolean } }
}

/**
 * A Kysely table's writes, each recording its model event (created, updated, deleted) in the
 * same transaction, so that a change that rolls back sends nothing and one that commits is
 * never lost.
 *
 * Without `{ tx }`, a write opens its own transaction: on PostgreSQL `db.transaction()`; on
 * SQLite `BEGIN IMMEDIATE` on a connection of `db` (so that reading the previous rows and
 * updating them cannot fail halfway on another connection's write).
 *
 * @example
 * const books = kyselyModel(hooks, db, 'book', { model: 'Book' })
 * await db.transaction().execute(async (trx) => {
 *   const book = await books.create({ title: 'Emma', owner_id: 'u1' }, { tx: trx })
 *   await books.update((eb) => eb('id', '=', book.id), { status: 'published' }, { tx: trx })
 * })
 */
export function kyselyModel<DB, TB extends keyof DB & string>(
  hooks: HooksLike,
  db: Kysely<DB>,
  table: TB,
  options: KyselyModelOptions<DB, TB> = {},
): KyselyModel<DB, TB> {
  if (typeof table !== 'string' || table === '') {
    throw new ConfigurationError('kyselyModel(hooks, db, table): table must be the table name')
  }
  const caller = `kyselyModel(${table})`
  if (!isKyselyLike(db)) {
    throw new ConfigurationError(`${caller}: db must be a Kysely instance`)
  }
  const base = db as unknown as Queries
  if (base.getExecutor?.().adapter?.supportsReturning === false) {
    throw new ConfigurationError(
      `${caller}: the database must support RETURNING (SQLite 3.35 or later, PostgreSQL), as the store's does`,
    )
  }
  const primaryKey = options.primaryKey ?? 'id'
  const keys: string[] = Array.isArray(primaryKey) ? [...primaryKey] : [primaryKey as string]
  if (keys.length === 0 || keys.some((key) => typeof key !== 'string' || key === '')) {
    throw new ConfigurationError(`${caller}: options.primaryKey must name the key column(s)`)
  }
  const events = modelEvents(hooks, options.model ?? modelNameOf(table), keys, caller)
  const postgres = hooks.store.dialect === 'postgres'

  /** Runs `work` in the caller's transaction, or in one of its own. */
  async function transact<T>(given: unknown, work: (tx: Queries) => Promise<T>): Promise<T> {
    if (given !== undefined) return work(checkTransaction(given, caller))
    if (postgres) return base.transaction().execute(work)
    // SQLite: BEGIN IMMEDIATE takes the write lock up front (Kysely's own BEGIN is deferred).
    return base.connection().execute(async (connection) => {
      await connection.executeQuery(CompiledQuery.raw('BEGIN IMMEDIATE'))
      try {
        const result = await work(connection)
        await connection.executeQuery(CompiledQuery.raw('COMMIT'))
        return result
      } catch (error) {
        await connection.executeQuery(CompiledQuery.raw('ROLLBACK')).catch(() => {})
        throw error
      }
    })
  }

  const plain = (given: unknown): Queries =>
    given === undefined ? base : checkTransaction(given, caller)

  const insert = (tx: Queries, values: unknown) =>
    tx.insertInto(table).values(values).returningAll().execute()

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
        ? await transact(writeOptions.tx, async (tx) => {
            const created = await insert(tx, values)
            await events.dispatch('created', created, tx)
            return created
          })
        : await insert(plain(writeOptions.tx), values)
      return rows[0] as Selectable<DB[TB]>
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
      if (!events.fires('created')) {
        return (await insert(plain(writeOptions.tx), values)) as Selectable<DB[TB]>[]
      }
      return transact(writeOptions.tx, async (tx) => {
        const created = await insert(tx, values)
        await events.dispatch('created', created, tx)
        return created as Selectable<DB[TB]>[]
      })
    },

    async update(where, set, writeOptions = {}) {
      checkWhere(where, caller, 'update')
      checkSet(set, caller)
      const update = async (tx: Queries) =>
        (await tx.updateTable(table).set(set).where(where).returningAll().execute()) as Selectable<
          DB[TB]
        >[]
      if (!events.fires('updated')) return update(plain(writeOptions.tx))
      return transact(writeOptions.tx, async (tx) => {
        const select = tx.selectFrom(table).selectAll().where(where)
        // PostgreSQL: lock the rows, so that nobody changes them between this read and the update.
        const previous = await (postgres ? select.forUpdate() : select).execute()
        const updated = await update(tx)
        await events.dispatch('updated', updated, tx, previous)
        return updated
      })
    },

    async delete(where, writeOptions = {}) {
      checkWhere(where, caller, 'delete')
      const remove = async (tx: Queries) =>
        (await tx.deleteFrom(table).where(where).returningAll().execute()) as Selectable<DB[TB]>[]
      if (!events.fires('deleted')) return remove(plain(writeOptions.tx))
      return transact(writeOptions.tx, async (tx) => {
        const deleted = await remove(tx)
        await events.dispatch('deleted', deleted, tx)
        return deleted
      })
    },

    event(action, row, writeOptions = {}) {
      const { tx } = writeOptions
      return events.one(
        action,
        row as object,
        tx === undefined ? undefined : checkTransaction(tx, caller),
      )
    },
  }
}

/**
 * A Kysely transaction, or a clear error: a plain `Kysely` instance runs each statement on
 * whichever connection is free, so the change and its events could not commit together.
 */
function checkTransaction(tx: unknown, caller: string): Queries {
  if (!isKyselyLike(tx) || (tx as Partial<Queries>).isTransaction !== true) {
    throw new ConfigurationError(
      `${caller}: options.tx must be a Kysely transaction (db.transaction().execute(async (trx) => …)); without it the write runs in a transaction of its own`,
    )
  }
  return tx as unknown as Queries
}
