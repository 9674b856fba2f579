/**
 * Storage per delivery, for the sizing note in docs/scaling.md: the bench workload's events
 * (a ~400-byte book) to 5 subscriptions each, delivered once to a local receiver, then the bytes
 * each resthooks table and its indexes take, on SQLite and on PostgreSQL.
 *
 *   node bench/sizing.ts
 *   BENCH_EVENTS=5000 node bench/sizing.ts
 *
 * PostgreSQL runs in a throwaway cluster of its own (scripts/postgres.sh); when it cannot start,
 * only SQLite is measured.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import { createHooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import type { Store } from '../src/store/store.ts'
import { freePort } from '../test/support/ports-and-dirs.ts'
import { book } from './common.ts'

const EVENTS = Number(process.env.BENCH_EVENTS ?? 2000)
const SUBSCRIPTIONS = 5
const TABLES = ['resthooks_deliveries', 'resthooks_attempts', 'resthooks_events']
const script = fileURLToPath(new URL('../scripts/postgres.sh', import.meta.url))

const receiver = createServer((req, res) => {
  req.resume().on('end', () => res.writeHead(200).end('ok'))
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`

/** Fills the store with the workload, delivered; resolves with the row counts. */
async function fill(store: Store): Promise<void> {
  const hooks = createHooks({
    store,
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  await hooks.migrate()
  for (let s = 0; s < SUBSCRIPTIONS; s++) {
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${target}/${s}` })
  }
  for (let i = 0; i < EVENTS; i++) await hooks.modelEvent('Book', 'created', book(i))
  const totals = await hooks.deliverPending({ concurrency: 50 })
  if (totals.succeeded !== EVENTS * SUBSCRIPTIONS) throw new Error('not everything was delivered')
}

interface TableSize {
  table: string
  rows: number
  bytes: number
}

async function sqliteSizes(): Promise<TableSize[]> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-sizing-'))
  const store = sqliteStore({ path: join(dir, 'sizing.db') })
  try {
    await fill(store)
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(store.db)
    const sizes: TableSize[] = []
    for (const table of TABLES) {
      // dbstat names each index separately: sum the table with its indexes.
      const { rows } = await sql<{ bytes: number }>`
        SELECT sum(pgsize) AS bytes FROM dbstat
        WHERE name = ${table} OR name IN (SELECT name FROM sqlite_master WHERE tbl_name = ${table})`.execute(
        store.db,
      )
      sizes.push({ table, rows: await count(store, table), bytes: Number(rows[0]?.bytes) })
    }
    return sizes
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function postgresSizes(): Promise<TableSize[] | string> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-sizing-pg-'))
  let url: string
  try {
    const out = execFileSync('bash', [script, 'start', dir, String(await freePort())], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    url = out.trim().split('\n').at(-1) ?? ''
  } catch (error) {
    rmSync(dir, { recursive: true, force: true })
    return `PostgreSQL did not start (${(error as Error).message.split('\n')[0]})`
  }
  const store = postgresStore(url)
  try {
    await fill(store)
    await sql`VACUUM ANALYZE`.execute(store.db)
    const sizes: TableSize[] = []
    for (const table of TABLES) {
      const { rows } = await sql<{ bytes: number }>`
        SELECT pg_total_relation_size(${table}::regclass) AS bytes`.execute(store.db)
      sizes.push({ table, rows: await count(store, table), bytes: Number(rows[0]?.bytes) })
    }
    return sizes
  } finally {
    await store.close()
    execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore' })
  }
}

async function count(store: Store, table: string): Promise<number> {
  const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.table(table)}`.execute(
    store.db,
  )
  return Number(rows[0]?.n)
}

function print(name: string, sizes: TableSize[]): void {
  const deliveries = sizes.find((s) => s.table === 'resthooks_deliveries')?.rows ?? 1
  console.log(`\n${name}`)
  console.log('table                  rows      bytes (with indexes)   per row   per delivery')
  let total = 0
  for (const { table, rows, bytes } of sizes) {
    total += bytes
    console.log(
      `${table.padEnd(22)} ${String(rows).padStart(7)} ${String(bytes).padStart(14)} ${String(
        Math.round(bytes / Math.max(rows, 1)),
      ).padStart(15)} ${String(Math.round(bytes / deliveries)).padStart(14)}`,
    )
  }
  console.log(
    `${'all three'.padEnd(22)} ${' '.repeat(7)} ${String(total).padStart(14)} ${' '.repeat(15)} ${String(Math.round(total / deliveries)).padStart(14)}`,
  )
}

console.log(
  `storage per delivery: ${EVENTS} events × ${SUBSCRIPTIONS} subscriptions, each delivered in one attempt (200 "ok")`,
)
print('SQLite', await sqliteSizes())
const pg = await postgresSizes()
if (typeof pg === 'string') console.log(`\nPostgreSQL: skipped, ${pg}`)
else print('PostgreSQL', pg)
receiver.close()
