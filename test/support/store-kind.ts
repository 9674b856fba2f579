import { it } from 'vitest'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import type { Store } from '../../src/store/store.ts'
import { createTestDatabase } from './postgres.ts'
import { temporaryDatabase } from './sqlite-file.ts'

/**
 * The store the conformance tests run on: the `postgres` project of vitest.config.ts sets
 * RESTHOOKS_TEST_STORE=postgres and runs the same test files again.
 */
export const storeKind: 'sqlite' | 'postgres' =
  process.env.RESTHOOKS_TEST_STORE === 'postgres' ? 'postgres' : 'sqlite'

/** `it` on the given store only (a behaviour of that store's own, like SQLite's query plan). */
export const itOn = (kind: typeof storeKind) => it.skipIf(storeKind !== kind)

/** A fresh, empty database of the kind under test, not opened yet. */
export interface TemporaryDatabase {
  /** The SQLite file or the PostgreSQL URL. */
  location: string
  /** How the CLI names it: `--db <file>` or `--database-url <url>`. */
  cliArgs: string[]
  /** Opens a store on it (as a process of its own would). */
  open(): Store
  remove(): Promise<void>
}

export async function temporaryDatabaseOfKind(): Promise<TemporaryDatabase> {
  if (storeKind === 'postgres') {
    const database = await createTestDatabase()
    return {
      location: database.url,
      cliArgs: ['--database-url', database.url],
      open: () => postgresStore({ connectionString: database.url, maxConnections: 4 }),
      remove: () => database.drop(),
    }
  }
  const database = temporaryDatabase()
  return {
    location: database.path,
    cliArgs: ['--db', database.path],
    open: () => sqliteStore({ path: database.path }),
    remove: async () => database.remove(),
  }
}

/** A fresh database of the kind under test with a store open on it. */
export async function temporaryStore(): Promise<{
  store: Store
  location: string
  /** Opens another store on the same database, as another process would. */
  reopen(): Store
  remove(): Promise<void>
}> {
  const database = await temporaryDatabaseOfKind()
  return {
    store: database.open(),
    location: database.location,
    reopen: database.open,
    remove: database.remove,
  }
}
