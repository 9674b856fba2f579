/**
 * Lookup scale (issue 9, item 3): the dispatch cost per event with 1,000 and with 1,000,000
 * stored subscriptions, of which 5 match the event (same event name, same owner); target: the
 * cost at 1,000,000 at most 1.5 times the cost at 1,000, on SQLite and on PostgreSQL.
 *
 *   node bench/lookup.ts
 *   BENCH_LOOKUP_LARGE=200000 BENCH_LOOKUP_EVENTS=500 BENCH_LOOKUP_STORES=sqlite node bench/lookup.ts
 *
 * Each size has a database of its own, filled the way a multi-tenant application looks: the
 * owner `u1` has the 5 matching subscriptions (`book.added`, through `subscribe()`) and 10 to
 * other events; the rest belong to size/20 other owners, spread over 90 other event names and
 * patterns, 10% of them under `book.added` itself and 5% under patterns that match it (`*`,
 * `book.*`, `*.added`), 3% disabled. They are inserted with SQL (SQLite: a recursive CTE in
 * one transaction; PostgreSQL: generate_series, then VACUUM ANALYZE as autovacuum would);
 * SQLite is not ANALYZEd (most applications never do).
 *
 * Dispatch: `modelEvent` in an application transaction of its own (commit included), no worker
 * (the deliveries stay pending). After a warm-up on each database, rounds of events alternate
 * between the two sizes so that a disturbance by another process on the machine hits both;
 * the cost is the mean over all timed events, and the ratio the median of the rounds' ratios
 * (each round of the large database against the small one's round beside it), so that a few
 * commits that waited long on the disk weigh on one round rather than on the figure; the ratio
 * of the means is printed beside it. The lookup alone (the store's
 * findMatchingSubscriptions, outside a transaction) is timed in the same rounds (the fastest
 * round shown), and its plan printed (EXPLAIN QUERY PLAN; PostgreSQL: EXPLAIN (ANALYZE,
 * BUFFERS)): it must use the index resthooks_subscriptions_event (event, owner).
 *
 * Knobs: BENCH_LOOKUP_SMALL (default 1000), BENCH_LOOKUP_LARGE (default 1000000),
 * BENCH_LOOKUP_EVENTS (timed events per size, default 600), BENCH_LOOKUP_ROUND (events per
 * alternating round, default 50), BENCH_LOOKUP_WARMUP (events per database before timing,
 * default 100), BENCH_LOOKUP_STORES (`sqlite,postgres`). SQLite runs with synchronous=FULL in
 * WAL mode in a temporary directory; PostgreSQL is a throwaway durable cluster
 * (bench/cluster.ts); without PostgreSQL installed that part is skipped.
 *
 * Most of a dispatch is its commit (an fsync on both stores), whose latency varies on a shared
 * disk: BENCH_LOOKUP_LARGE=1000 runs the same size twice, and the ratio it prints (1.04–1.2 on a
 * loaded 2-core machine) is the noise to read a ratio against.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { createHooks, fromKysely, type Hooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { onExit, tryStartCluster } from './cluster.ts'
import { fmt, machineLine, positiveInt, printTable } from './common.ts'
import { type ReportRow, report } from './report.ts'

const SMALL = positiveInt('BENCH_LOOKUP_SMALL', 1000)
const LARGE = positiveInt('BENCH_LOOKUP_LARGE', 1_000_000)
const EVENTS = positiveInt('BENCH_LOOKUP_EVENTS', 600)
const ROUND = positiveInt('BENCH_LOOKUP_ROUND', 50)
const WARMUP = positiveInt('BENCH_LOOKUP_WARMUP', 100)
/** Every round has ROUND events: the timed events are EVENTS rounded up to whole rounds. */
const ROUNDS = Math.ceil(EVENTS / ROUND)
const TIMED = ROUNDS * ROUND
const STORES = (process.env.BENCH_LOOKUP_STORES || 'sqlite,postgres').split(',')
const TARGET_RATIO = 1.5

const OWNER = 'u1'
const MATCHING = 5
/** u1's subscriptions to other events: the owner has more than the 5 that match. */
const OWN_OTHERS = 10
const EVENT_MAP = {
  'book.added': 'Book.created',
  'order.created': 'Order.created',
  'order.paid': 'Order.paid',
  'author.updated': 'Author.updated',
  'review.added': 'Review.created',
}
const OTHER_EVENTS = Object.keys(EVENT_MAP).filter((name) => name !== 'book.added')
/** The patterns an event `book.added` matches, as dispatch looks them up. */
const PATTERNS = ['book.added', '*', 'book.*', '*.added']
/** Rows per INSERT … SELECT while filling, and progress lines. */
const FILL_CHUNK = 100_000

type Kind = 'SQLite' | 'PostgreSQL'

interface Sized {
  size: number
  hooks: Hooks
  fillSeconds: number
  /** Seconds of each timed dispatch round and of each timed lookup round. */
  dispatch: number[]
  lookup: number[]
}

// ---------------------------------------------------------------------------------------------
// Filling

/**
 * The filler rows' columns as SQL over the integer `n` (the same for both databases, except
 * the id and secret, which take a function each): owners `org_<n % owners>`; events spread
 * over `book.added` (10%), patterns matching it (5%) and 90 other names; 3% disabled.
 */
function fillerColumns(kind: Kind, owners: number, now: number): string {
  const id = kind === 'SQLite' ? `printf('%022d', n)` : `lpad(n::text, 22, '0')`
  const secret = kind === 'SQLite' ? 'hex(randomblob(22))' : `md5(n::text) || 'A0b1C2d3E4f5'`
  const bucket = '((n * 7919) % 100)'
  return `'hook_01JB' || ${id},
    'org_' || (n % ${owners}),
    CASE WHEN ${bucket} < 10 THEN 'book.added'
         WHEN ${bucket} < 12 THEN '*'
         WHEN ${bucket} < 14 THEN 'book.*'
         WHEN ${bucket} < 15 THEN '*.added'
         ELSE 'model' || (n % 30) || '.' || CASE n % 3 WHEN 0 THEN 'created' WHEN 1 THEN 'updated' ELSE 'deleted' END
    END,
    'https://hooks.example.com/' || (n % ${owners}) || '/in/' || n,
    CASE WHEN n % 33 = 0 THEN 'disabled' ELSE 'active' END,
    CASE WHEN n % 33 = 0 THEN 'disabled by its owner' ELSE NULL END,
    'whsec_' || ${secret},
    ${now} - n,
    ${now} - n`
}

const FILLER_INSERT = `INSERT INTO resthooks_subscriptions
  (id, owner, event, target, status, disabled_reason, secret, created_at, updated_at)`

async function fill(kind: Kind, hooks: Hooks, size: number, target: string): Promise<number> {
  const started = performance.now()
  await hooks.migrate()
  for (let i = 0; i < MATCHING; i++) {
    await hooks.subscribe({ owner: OWNER, event: 'book.added', target: `${target}/${i}` })
  }
  for (let i = 0; i < OWN_OTHERS; i++) {
    const event = OTHER_EVENTS[i % OTHER_EVENTS.length] ?? 'order.created'
    await hooks.subscribe({ owner: OWNER, event, target: `${target}/other/${i}` })
  }
  const filler = Math.max(0, size - MATCHING - OWN_OTHERS)
  const owners = Math.max(1, Math.floor(size / 20))
  const columns = fillerColumns(kind, owners, Date.now())
  const { db } = hooks.store
  const label = `${kind} ${fmt(size)}`
  if (kind === 'SQLite') {
    // A bigger page cache while filling only: the load's index inserts are scattered.
    const { rows } = await sql<{ cache_size: number }>`PRAGMA cache_size`.execute(db)
    const cacheSize = Number(rows[0]?.cache_size ?? -2000)
    await sql.raw('PRAGMA cache_size = -262144').execute(db)
    await db.transaction().execute(async (trx) => {
      for (let from = 0; from < filler; from += FILL_CHUNK) {
        const to = Math.min(filler, from + FILL_CHUNK)
        await sql
          .raw(
            `WITH RECURSIVE s(n) AS (SELECT ${from} UNION ALL SELECT n + 1 FROM s WHERE n + 1 < ${to})
             ${FILLER_INSERT} SELECT ${columns} FROM s`,
          )
          .execute(trx)
        if (filler > FILL_CHUNK) progress(label, to, filler, started)
      }
    })
    await sql.raw(`PRAGMA cache_size = ${cacheSize}`).execute(db)
    await sql`PRAGMA wal_checkpoint(TRUNCATE)`.execute(db)
  } else {
    await db.transaction().execute(async (trx) => {
      for (let from = 0; from < filler; from += FILL_CHUNK) {
        const to = Math.min(filler, from + FILL_CHUNK)
        await sql
          .raw(
            `${FILLER_INSERT} SELECT ${columns} FROM generate_series(${from}::bigint, ${to - 1}) AS n`,
          )
          .execute(trx)
        if (filler > FILL_CHUNK) progress(label, to, filler, started)
      }
    })
    await sql`VACUUM ANALYZE`.execute(db)
    await sql`CHECKPOINT`.execute(db)
  }
  const seconds = (performance.now() - started) / 1000
  const { rows } = await sql<{
    n: number
  }>`SELECT count(*) AS n FROM resthooks_subscriptions`.execute(db)
  if (Number(rows[0]?.n) !== Math.max(size, MATCHING + OWN_OTHERS)) {
    throw new Error(`${label}: ${rows[0]?.n} subscriptions stored`)
  }
  console.log(
    `${label}: ${fmt(Number(rows[0]?.n))} subscriptions stored in ${seconds.toFixed(1)} s`,
  )
  return seconds
}

function progress(label: string, done: number, total: number, started: number): void {
  const seconds = (performance.now() - started) / 1000
  console.log(`${label}: filling… ${fmt(done)} / ${fmt(total)} (${seconds.toFixed(1)} s)`)
}

// ---------------------------------------------------------------------------------------------
// Measuring

function bookRow(i: number) {
  return { id: i + 1, title: `Book ${i + 1}`, author: 'J. R. R. Tolkien', ownerId: OWNER }
}

let eventNumber = 0

/** `count` events, each in an application transaction of its own; resolves with the seconds. */
async function dispatchRound(hooks: Hooks, count: number): Promise<number> {
  const { db } = hooks.store
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const row = bookRow(eventNumber++)
    const result = await db
      .transaction()
      .execute((trx) => hooks.modelEvent('Book', 'created', row, { tx: trx }))
    if (result?.deliveries !== MATCHING) {
      throw new Error(`an event queued ${result?.deliveries} deliveries, not ${MATCHING}`)
    }
  }
  return (performance.now() - started) / 1000
}

/** The store's subscription lookup alone, `count` times; resolves with the seconds. */
async function lookupRound(hooks: Hooks, count: number): Promise<number> {
  const executor = fromKysely(hooks.store.db)
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    const found = await hooks.store.findMatchingSubscriptions(executor, PATTERNS, OWNER)
    if (found.length !== MATCHING) throw new Error(`the lookup found ${found.length}`)
  }
  return (performance.now() - started) / 1000
}

/** The lookup's SQL exactly as the store runs it, captured through a recording executor. */
async function lookupQuery(hooks: Hooks): Promise<{ sql: string; parameters: readonly unknown[] }> {
  const executor = fromKysely(hooks.store.db)
  let captured: { sql: string; parameters: readonly unknown[] } | undefined
  await hooks.store.findMatchingSubscriptions(
    {
      executeSql(text, values) {
        captured = { sql: text, parameters: values }
        return executor.executeSql(text, values)
      },
    },
    PATTERNS,
    OWNER,
  )
  if (!captured) throw new Error('the lookup ran no statement')
  return captured
}

/** Prints the lookup's plan; resolves with whether it uses the (event, owner) index. */
async function explain(kind: Kind, sized: Sized): Promise<boolean> {
  const query = await lookupQuery(sized.hooks)
  const prefix = kind === 'SQLite' ? 'EXPLAIN QUERY PLAN ' : 'EXPLAIN (ANALYZE, BUFFERS) '
  const { rows } = await fromKysely(sized.hooks.store.db).executeSql(
    prefix + query.sql,
    query.parameters,
  )
  const lines = (rows as Record<string, unknown>[]).map((row) =>
    kind === 'SQLite' ? `${String(row.detail)}` : String(row['QUERY PLAN']),
  )
  console.log(`\n${kind}, ${fmt(sized.size)} subscriptions: ${query.sql}`)
  for (const line of lines) console.log(`  ${line}`)
  return lines.some((line) => line.includes('resthooks_subscriptions_event'))
}

async function measure(kind: Kind, small: Sized, large: Sized): Promise<boolean> {
  for (const sized of [small, large]) {
    await dispatchRound(sized.hooks, WARMUP)
    await lookupRound(sized.hooks, WARMUP)
  }
  for (let round = 0; round < ROUNDS; round++) {
    // Alternate which size goes first, so neither always follows the other.
    const order = round % 2 === 0 ? [small, large] : [large, small]
    for (const sized of order) sized.dispatch.push(await dispatchRound(sized.hooks, ROUND))
    for (const sized of order) sized.lookup.push(await lookupRound(sized.hooks, ROUND))
  }
  const smallPlan = await explain(kind, small)
  const largePlan = await explain(kind, large)
  return smallPlan && largePlan
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0)
const microsPerEvent = (seconds: readonly number[]) => (sum(seconds) / TIMED) * 1e6

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN
}

/** A round of lookups takes a few ms, which another process's slice can double: the fastest. */
const microsPerLookup = (sized: Sized) => (Math.min(...sized.lookup) / ROUND) * 1e6

interface StoreResult {
  kind: Kind
  small: Sized
  large: Sized
  indexUsed: boolean
}

async function run(kind: Kind, open: (name: string) => Promise<Hooks>): Promise<StoreResult> {
  const target = 'http://127.0.0.1:9/hooks'
  const sizes: Sized[] = []
  try {
    for (const [name, size] of [
      ['small', SMALL],
      ['large', LARGE],
    ] as const) {
      const hooks = await open(name)
      const sized: Sized = { size, hooks, fillSeconds: 0, dispatch: [], lookup: [] }
      sizes.push(sized)
      sized.fillSeconds = await fill(kind, hooks, size, target)
    }
    const [small, large] = sizes as [Sized, Sized]
    const indexUsed = await measure(kind, small, large)
    return { kind, small, large, indexUsed }
  } finally {
    for (const sized of sizes) await sized.hooks.close()
  }
}

function hooksOn(store: ReturnType<typeof sqliteStore>): Hooks {
  // No receiver: the worker does not run, and the targets are never called.
  return createHooks({
    store,
    events: EVENT_MAP,
    allowTargets: ['127.0.0.0/8'],
  })
}

async function sqliteRun(): Promise<StoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-lookup-'))
  onExit(() => rmSync(dir, { recursive: true, force: true }))
  try {
    return await run('SQLite', async (name) =>
      hooksOn(sqliteStore({ path: join(dir, `${name}.db`) })),
    )
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

async function postgresRun(): Promise<StoreResult | string> {
  const cluster = await tryStartCluster()
  if (typeof cluster === 'string') return cluster
  console.log(`PostgreSQL ${cluster.version}: ${cluster.settings}`)
  try {
    return await run('PostgreSQL', async (name) =>
      hooksOn(postgresStore(await cluster.createDatabase(`lookup_${name}`))),
    )
  } finally {
    await cluster.stop()
  }
}

async function main(): Promise<void> {
  console.log(machineLine('shared: other benches may run meanwhile'))
  console.log(
    `workload: modelEvent in its own transaction, ${MATCHING} matching subscriptions among ${fmt(SMALL)} and among ${fmt(LARGE)}; ${TIMED} timed events per size in rounds of ${ROUND}, alternating sizes, after ${WARMUP} warm-up events each; no worker`,
  )
  const results: StoreResult[] = []
  let skipped: string | undefined
  for (const store of STORES) {
    if (store === 'sqlite') results.push(await sqliteRun())
    else if (store === 'postgres') {
      const result = await postgresRun()
      if (typeof result === 'string') {
        skipped = result
        console.log(`PostgreSQL: skipped, ${result}`)
      } else results.push(result)
    } else throw new Error(`BENCH_LOOKUP_STORES: unknown store '${store}'`)
  }

  console.log('')
  const table: string[][] = [
    [
      'store',
      'subscriptions',
      'filled in',
      'dispatch µs/event (mean)',
      'median round (ratio: median of the rounds’ ratios)',
      'lookup alone µs (fastest round)',
    ],
  ]
  const rows: ReportRow[] = []
  for (const { kind, small, large, indexUsed } of results) {
    for (const sized of [small, large]) {
      table.push([
        kind,
        fmt(sized.size),
        `${sized.fillSeconds.toFixed(1)} s`,
        fmt(microsPerEvent(sized.dispatch)),
        fmt((median(sized.dispatch) / ROUND) * 1e6),
        fmt(microsPerLookup(sized)),
      ])
    }
    // Each round's large against the same round's small (they ran side by side), the median
    // of those: a commit that waited long on the disk weighs on one round, not on the figure.
    const ratio = median(large.dispatch.map((seconds, i) => seconds / (small.dispatch[i] ?? 0)))
    const meanRatio = microsPerEvent(large.dispatch) / microsPerEvent(small.dispatch)
    const lookupRatio = microsPerLookup(large) / microsPerLookup(small)
    table.push([
      kind,
      'ratio',
      '',
      `${meanRatio.toFixed(2)}`,
      `${ratio.toFixed(2)} (target ≤ ${TARGET_RATIO})`,
      lookupRatio.toFixed(2),
    ])
    rows.push(
      {
        bench: 'lookup',
        measure: `${kind}, dispatch with ${fmt(small.size)} / ${fmt(large.size)} subscriptions`,
        value: `${fmt(microsPerEvent(small.dispatch))} / ${fmt(microsPerEvent(large.dispatch))} µs/event`,
      },
      {
        bench: 'lookup',
        measure: `${kind}, ratio ${fmt(large.size)} / ${fmt(small.size)}`,
        value: `${ratio.toFixed(2)} (means ${meanRatio.toFixed(2)})${indexUsed ? '' : ' (index (event, owner) NOT used)'}`,
        target: `≤ ${TARGET_RATIO}`,
        met: ratio <= TARGET_RATIO,
      },
    )
  }
  printTable(table)
  if (skipped) console.log(`PostgreSQL: skipped, ${skipped}`)
  console.log('')
  report(rows)
}

await main()
