/**
 * The Drizzle tests' bookstore: the application's `book` and `chapter` tables, Drizzle over
 * them (better-sqlite3 on a SQLite file, node-postgres on a PostgreSQL database), resthooks on
 * the same database, and the helpers for both tables.
 *
 * The two dialects' tables have the same rows, so the tests use the SQLite types for both.
 */
import Database from 'better-sqlite3'
import { eq } from 'drizzle-orm'
import { type BetterSQLite3Database, drizzle as drizzleSqlite } from 'drizzle-orm/better-sqlite3'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { integer as pgInteger, pgTable, text as pgText, serial } from 'drizzle-orm/pg-core'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import pg from 'pg'
import { createHooks, defaultOwner, type HooksOptions } from '../../../src/index.ts'
import { drizzleModel } from '../../../src/integrations/drizzle.ts'
import { postgresStore } from '../../../src/store/postgres/index.ts'
import { sqliteStore } from '../../../src/store/sqlite/index.ts'
import { countSql } from '../../support/committed-rows.ts'

export const sqliteBooks = sqliteTable('book', {
  id: integer('id').primaryKey(),
  title: text('title').notNull(),
  status: text('status').notNull().default('draft'),
  pages: integer('pages'),
  ownerId: text('owner_id').notNull(),
})

export const sqliteChapters = sqliteTable('chapter', {
  id: integer('id').primaryKey(),
  bookId: integer('book_id')
    .notNull()
    .references(() => sqliteBooks.id),
  title: text('title').notNull(),
})

const pgBooks = pgTable('book', {
  id: serial('id').primaryKey(),
  title: pgText('title').notNull(),
  status: pgText('status').notNull().default('draft'),
  pages: pgInteger('pages'),
  ownerId: pgText('owner_id').notNull(),
})

const pgChapters = pgTable('chapter', {
  id: serial('id').primaryKey(),
  bookId: pgInteger('book_id')
    .notNull()
    .references(() => pgBooks.id),
  title: pgText('title').notNull(),
})

export type Db = BetterSQLite3Database

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
export async function openDrizzleBookstore(
  kind: 'sqlite' | 'postgres',
  location: string,
  {
    setup = false,
    hooksOptions = {},
  }: { setup?: boolean; hooksOptions?: Partial<HooksOptions> } = {},
) {
  let db: Db
  let run: (text: string) => Promise<unknown[]>
  let closeApp: () => Promise<void>
  let store: HooksOptions['store']
  if (kind === 'sqlite') {
    const client = new Database(location)
    db = drizzleSqlite(client)
    run = async (text) => {
      const statement = client.prepare(text)
      if (statement.reader) return statement.all()
      statement.run()
      return []
    }
    closeApp = async () => {
      client.close()
    }
    store = sqliteStore({ path: location })
  } else {
    const pool = new pg.Pool({ connectionString: location, max: 4 })
    db = drizzlePg(pool) as unknown as Db
    run = async (text) => (await pool.query(text)).rows
    closeApp = () => pool.end()
    store = postgresStore({ pool })
  }
  const books = (kind === 'sqlite' ? sqliteBooks : pgBooks) as typeof sqliteBooks
  const chapters = (kind === 'sqlite' ? sqliteChapters : pgChapters) as typeof sqliteChapters
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
      if (model !== 'Chapter') return defaultOwner(instance)
      const [book] = await ((tx ?? db) as Db)
        .select({ ownerId: books.ownerId })
        .from(books)
        .where(eq(books.id, instance.bookId))
      return book?.ownerId
    },
    ...hooksOptions,
  })
  if (setup) await hooks.migrate()

  return {
    kind,
    db,
    hooks,
    tables: { books, chapters },
    books: drizzleModel(hooks, db, books, { model: 'Book' }),
    chapters: drizzleModel(hooks, db, chapters, { model: 'Chapter' }),
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
      await closeApp()
    },
  }
}

export type DrizzleBookstore = Awaited<ReturnType<typeof openDrizzleBookstore>>
