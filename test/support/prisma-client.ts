/**
 * The Prisma side of test/integrations/prisma.test.ts: the generated client for the store under
 * test (one schema per datasource provider, since a Prisma schema has one), its driver adapter,
 * and the application's tables, created with SQL (`prisma migrate` is not available here).
 */
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { PrismaPg } from '@prisma/adapter-pg'
import pg from 'pg'
import { generatePrismaClient } from '../../examples/prisma/generate.ts'
import type { Hooks } from '../../src/index.ts'
import { type PrismaHooksOptions, prismaHooks } from '../../src/integrations/prisma.ts'
// biome-ignore lint/suspicious/noTsIgnore: generated on first use (untyped in a fresh clone until then); @ts-expect-error would fail once it exists
// @ts-ignore
import type * as Generated from '../integrations/prisma/dist/sqlite/client.ts'
import { countSql } from './committed-rows.ts'

/** The test schema's client (the SQLite and PostgreSQL clients have the same models). */
export type TestPrismaClient = Generated.PrismaClient

/** Extends a test client with prismaHooks. */
export function extend(client: TestPrismaClient, hooks: Hooks, options?: PrismaHooksOptions) {
  return client.$extends(prismaHooks(hooks, options))
}

/** The extended test client. */
export type TestClient = ReturnType<typeof extend>

/** Whether `T` is `any`, as the generated types are before the first generation. */
type IsAny<T> = 0 extends 1 & T ? true : false

/** The client of an interactive transaction of the extended test client (`tx`). */
export type TestTransaction =
  IsAny<TestClient> extends true
    ? // biome-ignore lint/suspicious/noExplicitAny: untyped until the client is generated
      any
    : Parameters<Parameters<TestClient['$transaction']>[0]>[0]

/** The client of an interactive transaction of the non-extended test client. */
export type TestBaseTransaction = Generated.Prisma.TransactionClient

const directory = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const PROVIDERS = { sqlite: 'sqlite', postgres: 'postgresql' } as const

/**
 * Generates (when needed) and loads the test client for `kind`; `open(location)` connects one to
 * the SQLite file or PostgreSQL URL.
 */
export async function loadTestPrisma(kind: 'sqlite' | 'postgres') {
  const provider = PROVIDERS[kind]
  const clientPath = await generatePrismaClient(
    directory(`../integrations/prisma/schema.${provider}.prisma`),
    directory(`../integrations/prisma/dist/${provider}`),
  )
  const { PrismaClient } = (await import(clientPath)) as typeof Generated
  return {
    /** A client on the SQLite file or PostgreSQL URL; `omit`: fields every query leaves out. */
    open(location: string, omit?: Record<string, Record<string, boolean>>): TestPrismaClient {
      const adapter =
        kind === 'sqlite'
          ? new PrismaBetterSqlite3({ url: `file:${location}` })
          : new PrismaPg({ connectionString: location })
      return new PrismaClient({ adapter, ...(omit ? { omit } : {}) })
    },
  }
}

const SQLITE_TABLES = `
  CREATE TABLE book (
    id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft',
    pages INTEGER NOT NULL DEFAULT 0, owner_id TEXT NOT NULL,
    created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP);
  CREATE TABLE chapter (
    id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL,
    book_id INTEGER NOT NULL REFERENCES book (id) ON DELETE CASCADE);
  CREATE TABLE note (id INTEGER PRIMARY KEY AUTOINCREMENT, text TEXT NOT NULL);
  CREATE TABLE shelf (
    owner_id TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, name));`

const POSTGRES_TABLES = `
  CREATE TABLE book (
    id SERIAL PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'draft',
    pages INTEGER NOT NULL DEFAULT 0, owner_id TEXT NOT NULL,
    created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP);
  CREATE TABLE chapter (
    id SERIAL PRIMARY KEY, title TEXT NOT NULL,
    book_id INTEGER NOT NULL REFERENCES book (id) ON DELETE CASCADE);
  CREATE TABLE note (id SERIAL PRIMARY KEY, text TEXT NOT NULL);
  CREATE TABLE shelf (
    owner_id TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (owner_id, name));`

/** Creates the application's tables (book, chapter, note, shelf) in the SQLite file or PostgreSQL URL. */
export async function createAppTables(kind: 'sqlite' | 'postgres', location: string) {
  if (kind === 'sqlite') {
    const db = new DatabaseSync(location)
    try {
      db.exec(SQLITE_TABLES)
    } finally {
      db.close()
    }
    return
  }
  const client = new pg.Client({ connectionString: location })
  await client.connect()
  try {
    await client.query(POSTGRES_TABLES)
  } finally {
    await client.end()
  }
}

/** Counts the rows of `table` with plain SQL, beside Prisma and the store. */
export async function countRows(
  kind: 'sqlite' | 'postgres',
  location: string,
  table: string,
): Promise<number> {
  if (kind === 'sqlite') {
    const db = new DatabaseSync(location, { readOnly: true })
    try {
      const row = db.prepare(countSql(table, 'sqlite')).get() as { n: number }
      return Number(row.n)
    } finally {
      db.close()
    }
  }
  const client = new pg.Client({ connectionString: location })
  await client.connect()
  try {
    const { rows } = await client.query(`SELECT count(*) AS n FROM ${table}`)
    return Number(rows[0].n)
  } finally {
    await client.end()
  }
}
