/**
 * What the Kysely integration costs a write: the same creates (one row each, lone calls, as an
 * application writes them) on a SQLite file, plain (`db.insertInto(…).values(…).returningAll()`)
 * and through `kyselyModel(…).create()`, which writes the row and its event in one transaction,
 * with 0 and with 1 matching subscription. No worker runs: only the write path is measured. Two
 * setups, one after the other: Kysely's own `SqliteDialect` over better-sqlite3, and
 * `NodeSqliteDialect` (from `resthooks/sqlite`) over Node's `node:sqlite`.
 *
 *   node bench/kysely.ts
 *   BENCH_KYSELY_DRIVERS=node-sqlite node bench/kysely.ts    # one setup only
 *   BENCH_SUBSCRIPTION_CACHE_MS=1000 node bench/kysely.ts   # with subscriptionCacheMs
 *   BENCH_CREATES=2000 BENCH_BATCH=100 node bench/kysely.ts
 *
 * The application's connection runs with synchronous=FULL, SQLite's own default and the figure
 * the issue asks for (better-sqlite3 opens a WAL file with NORMAL: BENCH_SYNCHRONOUS=normal).
 * The variants take turns in batches of 100 creates (in a rotating order), so that the disk's
 * and the machine's changing load weigh on all three alike; each one's times are summed.
 * Kysely's `SqliteDialect` prepares every statement anew, the plain insert's and resthooks'
 * alike; `NodeSqliteDialect` keeps them prepared.
 * Targets (issue 5): at most 1.05× the plain write's time with no matching subscription, at
 * most 1.5× with one. Not a test: it prints a table.
 */

import { rmSync } from 'node:fs'
import { type Dialect, type Generated, Kysely, SqliteDialect } from 'kysely'
import { createHooks } from '../src/index.ts'
import { kyselyModel } from '../src/integrations/kysely.ts'
import { NodeSqliteDialect, sqliteStore } from '../src/store/sqlite/index.ts'
import { subscriptionCacheOption } from './common.ts'
import {
  bookValues,
  measureWriteCost,
  openApplicationDatabase,
  openNodeSqliteApplicationDatabase,
} from './orm-write-cost.ts'

interface BenchDatabase {
  bench_book: {
    id: Generated<number>
    title: string
    isbn: string
    pages: number
    published: string
    owner_id: string
  }
}

const DRIVERS = {
  'better-sqlite3': () => {
    // The application's connection, with better-sqlite3's and Kysely's defaults.
    const { dir, path, sqlite, pragma } = openApplicationDatabase('kysely')
    const dialect: Dialect = new SqliteDialect({ database: sqlite })
    return { dir, path, pragma, dialect, setup: "Kysely's SqliteDialect over better-sqlite3" }
  },
  'node-sqlite': () => {
    const { dir, path, database, pragma } = openNodeSqliteApplicationDatabase('kysely')
    const dialect: Dialect = new NodeSqliteDialect({ database })
    return { dir, path, pragma, dialect, setup: "resthooks' NodeSqliteDialect over node:sqlite" }
  },
} as const

function values(i: number) {
  const { ownerId, ...rest } = bookValues(i)
  return { ...rest, owner_id: ownerId }
}

async function measure(driver: keyof typeof DRIVERS): Promise<void> {
  const { dir, path, pragma, dialect, setup } = DRIVERS[driver]()
  const db = new Kysely<BenchDatabase>({ dialect })
  const hooks = createHooks({
    store: sqliteStore({ path }),
    events: { 'book.added': 'Book.created' },
    ...subscriptionCacheOption(),
    owner: (row) => row.owner_id,
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    await hooks.migrate()
    const model = kyselyModel(hooks, db, 'bench_book', { model: 'Book' })
    await measureWriteCost({
      hooks,
      pragma,
      plain: (i) => db.insertInto('bench_book').values(values(i)).returningAll().execute(),
      integration: (i) => model.create(values(i)),
      setup,
      names: [
        'plain Kysely insert',
        'kyselyModel.create, 0 matching subscriptions',
        'kyselyModel.create, 1 matching subscription',
      ],
    })
  } finally {
    await hooks.close()
    await db.destroy()
    rmSync(dir, { recursive: true, force: true })
  }
}

const drivers = (process.env.BENCH_KYSELY_DRIVERS ?? 'better-sqlite3,node-sqlite').split(',')
for (const driver of drivers) {
  if (!Object.hasOwn(DRIVERS, driver)) {
    throw new Error(`BENCH_KYSELY_DRIVERS: unknown driver ${driver} (better-sqlite3, node-sqlite)`)
  }
}
for (const [i, driver] of drivers.entries()) {
  if (i > 0) console.log('')
  await measure(driver as keyof typeof DRIVERS)
}
