import { createHooks, type HooksOptions } from '../../src/index.ts'
import { temporaryStore } from './store-kind.ts'

/** The bookstore events the seeds' docs use. */
export const bookEvents = {
  'book.added': 'Book.created',
  'book.changed': 'Book.updated+',
  'book.removed': 'Book.deleted',
  'book.read': 'Book.read',
  'user.logged_in': null,
} as const

/**
 * createHooks over a fresh, migrated database of the store under test (SQLite, or PostgreSQL in
 * the `postgres` project), with loopback targets allowed (the receivers
 * run on 127.0.0.1) and a retry schedule fast enough for tests unless overridden.
 */
export async function bookstoreHooks(options: Partial<HooksOptions> = {}) {
  const database = await temporaryStore()
  const hooks = createHooks({
    store: database.store,
    events: { ...bookEvents },
    allowTargets: ['127.0.0.0/8', '::1/128'],
    retry: { schedule: [50, 50, 50], jitter: 0 },
    ...options,
  })
  await hooks.migrate()
  return {
    hooks,
    /** The SQLite file or PostgreSQL URL. */
    path: database.location,
    /** Another store on the same database, as another process would open it. */
    reopen: database.reopen,
    async close() {
      await hooks.close()
      await database.remove()
    },
  }
}
