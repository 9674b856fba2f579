/**
 * The Kysely tests' bookstore: the application's `book` and `chapter` tables, Kysely over them
 * (its SqliteDialect over better-sqlite3 on a SQLite file; its PostgresDialect over a pg.Pool),
 * resthooks on the same database, and the helpers for both tables.
 */
import Database from 'better-sqlite3'
import { type Generated, Kysely, PostgresDialect, SqliteDialect, sql } from 'kysely'
import pg from 'pg'
import { createHooks, type HooksOptions } from '../../../src/index.ts'
import { kyselyModel } from '../../../src/integrations/kysely.ts'
import { postgresStore } from '../../../src/store/postgres/index.ts'
import { sqliteStore } from '../../../src/store/sqlite/index.ts'
import { countSql } from '../../support/committed-rows.ts'

export interface BookTable {
  id: Generated<number>
  title: string
  status: Generated<string>
  pages: number | null
  owner_id: string
}

export interface ChapterTable {
  id: Generated<number>
  book_id: number
  title: string
}

export interface AppDatabase {
  book: BookTable
  chapter: ChapterTable
}

const DDL = {
  sqlite: [
    `CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'draft', pages INTEGER, owner_id TEXT NOT NULL)`,
    `CREATE TABLE chapter (id INTEGER PRIMARY KEY,
      book_id INTEGER NOT NULL REFERENCES book (id), title TEXT NOT NULL)`,
  ],
  postgres: [
    `CREATE TABLE book (id SERIAL PRIMARY KEY, title TEXT NOT NULL,
      status TEXT NOT NULL DEFAULT 'draft', pages INTEGER, owner_id TEXT NOT NULL)`,
    `CREATE TABLE chapter (id SERIAL PRIMARY KEY,
      book_id INTEGER NOT NULL REFERENCES book (id), title TEXT NOT NULL)`,
  ],
}

export const bookstoreEvents = {
  'book.added': 'Book.created',
  'book.changed': 'Book.updated+',
  'book.removed': 'Book.deleted',
  'book.read': 'Book.read',
  'chapter.added': 'Chapter.created',
  'user.logged_in': null,
} as const

export interface OwnerCall {
  model: string
  action: string
  tx: unknown
}

/**
 * Opens the bookstore on `location` (a SQLite file or a PostgreSQL URL). With `setup`, creates
 * the application's tables and resthooks' (a fresh database); without, opens them as another
 * process would.
 */
export async function openKyselyBookstore(
  kind: 'sqlite' | 'postgres',
  location: string,
  {
    setup = false,
    hooksOptions = {},
  }: { setup?: boolean; hooksOptions?: Partial<HooksOptions> } = {},
) {
  let db: Kysely<AppDatabase>
  let store: HooksOptions['store']
  if (kind === 'sqlite') {
    db = new Kysely<AppDatabase>({
      dialect: new SqliteDialect({ database: new Database(location) }),
    })
    store = sqliteStore({ path: location })
  } else {
    const pool = new pg.Pool({ connectionString: location, max: 4 })
    db = new Kysely<AppDatabase>({ dialect: new PostgresDialect({ pool }) })
    store = postgresStore({ pool })
  }
  const run = async (text: string): Promise<unknown[]> =>
    (await sql.raw<Record<string, unknown>>(text).execute(db)).rows
  if (setup) for (const statement of DDL[kind]) await run(statement)

  const ownerCalls: OwnerCall[] = []
  const hooks = createHooks({
    store,
    events: { ...bookstoreEvents },
    allowTargets: ['127.0.0.0/8'],
    retry: { schedule: [50, 50, 50], jitter: 0 },
    // A chapter belongs to its book's owner: read the book in the caller's transaction.
    owner: async (instance, model, { action, tx }) => {
      ownerCalls.push({ model, action, tx })
      if (model !== 'Chapter') return instance.owner_id
      const book = await ((tx ?? db) as Kysely<AppDatabase>)
        .selectFrom('book')
        .select('owner_id')
        .where('id', '=', instance.book_id)
        .executeTakeFirst()
      return book?.owner_id
    },
    ...hooksOptions,
  })
  if (setup) await hooks.migrate()

  return {
    kind,
    db,
    hooks,
    books: kyselyModel(hooks, db, 'book', { model: 'Book' }),
    chapters: kyselyModel(hooks, db, 'chapter', { model: 'Chapter' }),
    ownerCalls,
    /** Runs SQL on the application's connection. */
    run,
    async count(table: string): Promise<number> {
      const [row] = (await run(countSql(table, kind))) as { n: number | string }[]
      return Number(row?.n)
    },
    /** Empties the application's and resthooks' tables between tests. */
    async reset(): Promise<void> {
      ownerCalls.length = 0
      for (const table of [
        'chapter',
        'book',
        'resthooks_attempts',
        'resthooks_deliveries',
        'resthooks_events',
        'resthooks_subscriptions',
        ...(kind === 'sqlite' ? ['resthooks_outbox'] : []),
      ]) {
        await run(`DELETE FROM ${table}`)
      }
    },
    /** Closes resthooks, then the application's connection (after work has stopped). */
    async close(): Promise<void> {
      await hooks.close()
      await db.destroy()
    },
  }
}

export type KyselyBookstore = Awaited<ReturnType<typeof openKyselyBookstore>>
