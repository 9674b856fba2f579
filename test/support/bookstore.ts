import { createHooks, type HooksOptions } from '../../src/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { temporaryDatabase } from './sqlite-file.ts'

/** The bookstore events the seeds' docs use. */
export const bookEvents = {
  'book.added': 'Book.created',
  'book.changed': 'Book.updated+',
  'book.removed': 'Book.deleted',
  'book.read': 'Book.read',
  'user.logged_in': null,
} as const

/**
 * createHooks over a fresh, migrated SQLite file, with loopback targets allowed (the receivers
 * run on 127.0.0.1) and a retry schedule fast enough for tests unless overridden.
 */
export async function bookstoreHooks(options: Partial<HooksOptions> = {}) {
  const database = temporaryDatabase()
  const hooks = createHooks({
    store: sqliteStore({ path: database.path }),
    events: { ...bookEvents },
    allowTargets: ['127.0.0.0/8', '::1/128'],
    retry: { schedule: [50, 50, 50], jitter: 0 },
    ...options,
  })
  await hooks.migrate()
  return {
    hooks,
    path: database.path,
    async close() {
      await hooks.close()
      database.remove()
    },
  }
}
