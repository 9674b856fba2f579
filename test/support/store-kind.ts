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

/** A fresh, empty database of the kind under test, and a way to remove it. */
export async function temporaryStore(): Promise<{
  store: Store
  /** The SQLite file (sqlite) or connection URL (postgres). */
  location: string
  /** Opens another store on the same database (another process would). */
  reopen(): Store
  remove(): Promise<void>
}> {
  if (storeKind === 'postgres') {
    const database = await createTestDatabase()
    return {
      location: database.url,
      store: postgresStore({ connectionString: database.url, maxConnections: 4 }),
      reopen: () => postgresStore({ connectionString: database.url, maxConnections: 4 }),
      remove: () => database.drop(),
    }
  }
  const database = temporaryDatabase()
  return {
    location: database.path,
    store: sqliteStore({ path: database.path }),
    reopen: () => sqliteStore({ path: database.path }),
    remove: async () => database.remove(),
  }
}
