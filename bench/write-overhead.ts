/**
 * What `modelEvent` adds to an application's write (issues 5 and 9): the application inserts one
 * row into `bench_books` in its own transaction, plain or followed by `hooks.modelEvent(…, { tx })`
 * for an owner with 0, 1 or 5 matching subscriptions, through an instance with the default options
 * and through one with `subscriptionCacheMs: 1000` (the lookup of matching subscriptions served
 * from memory). No worker runs: only the write is measured.
 *
 *   node bench/write-overhead.ts
 *   BENCH_WRITES=2000 BENCH_ROUNDS=20 BENCH_OTHER_SUBSCRIPTIONS=20 node bench/write-overhead.ts
 *   BENCH_PG_STATEMENTS=1 node bench/write-overhead.ts   # adds PostgreSQL's server-side times
 *
 * Knobs: BENCH_WRITES timed transactions per variant (2000), BENCH_ROUNDS rounds they are split
 * into (20, of 100 each), BENCH_WARMUP untimed transactions per variant first (100),
 * BENCH_OTHER_SUBSCRIPTIONS subscriptions that match none of the events (20: other owners' and
 * the same owners' on another event), BENCH_TRACE traced transactions per variant for the
 * breakdown (100), BENCH_PG_STATEMENTS=1 loads pg_stat_statements (a restart of the cluster; it
 * costs every statement a little), BENCH_SQLITE=0 / BENCH_PG=0 skip a store.
 *
 * SQLite: a file in a temporary directory, synchronous=full and WAL (sqliteStore's defaults); the
 * application writes through `hooks.store.db`, the same connection. PostgreSQL: a throwaway
 * durable cluster (bench/cluster.ts); the application writes through its own Kysely over a
 * `pg.Pool` that the store shares (`postgresStore({ pool })`), and passes its Kysely transaction
 * as `{ tx }`. The variants take turns, a round at a time, in an order rotated every round, so
 * that the shared machine's drift weighs on all alike; the mean per transaction is reported.
 * Targets (issue 5): ≤ 1.05× the plain write with no matching subscription, ≤ 1.5× with one.
 * Beside them, a floor: the application storing the event itself, one INSERT of the event's
 * row into a table of its own (`bench_events`, with the index an owner's event feed reads),
 * no modelEvent: the least that storing every event (PRODUCT.md) adds to a write.
 *
 * Then a breakdown: the same transactions again, a few per variant, with the executor wrapped
 * to count and time every statement resthooks runs (the subscription SELECT, SQLite's outbox row,
 * PostgreSQL's function call, or the event and delivery INSERTs of a database without them) and
 * the application's BEGIN, INSERT and COMMIT timed
 * around them. Not a test: it prints tables.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { createHooks, fromKysely, type Hooks, type SqlExecutor } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { PREPARED_STATEMENT } from '../src/store/prepared-statement.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { type Cluster, startCluster } from './cluster.ts'
import { book, machineLine, positiveInt, printTable } from './common.ts'
import { type ReportRow, report } from './report.ts'

const WRITES = positiveInt('BENCH_WRITES', 2000)
const ROUNDS = positiveInt('BENCH_ROUNDS', 20)
const WARMUP = positiveInt('BENCH_WARMUP', 100)
const OTHER_SUBSCRIPTIONS = positiveInt('BENCH_OTHER_SUBSCRIPTIONS', 20)
const TRACE = positiveInt('BENCH_TRACE', 100)
const PG_STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1'
const SKIP_PG = process.env.BENCH_PG === '0'
const SKIP_SQLITE = process.env.BENCH_SQLITE === '0'

// ---------------------------------------------------------------------------------------------
// The variants

interface Variant {
  key: string
  label: string
  /** The owner of the event, or null for the plain write (no modelEvent). */
  owner: string | null
  /** The deliveries modelEvent must queue. */
  matching: number
  /** Through a second instance on the same store with `subscriptionCacheMs: 1000`. */
  cached?: boolean
  /**
   * Instead of modelEvent, the application stores the event itself with one INSERT into a table
   * of its own (`bench_events`, indexed for an owner's feed as resthooks' events are): the least
   * that storing every event costs (PRODUCT.md: every event is stored, for `GET /events`).
   */
  floor?: boolean
  target?: number
}

const VARIANTS: readonly Variant[] = [
  { key: 'plain', label: 'plain write', owner: null, matching: 0 },
  {
    key: 'floor',
    label: '+ one event row in plain SQL (floor)',
    owner: null,
    matching: 0,
    floor: true,
  },
  { key: 'subs0', label: '+ modelEvent, 0 matching', owner: 'owner0', matching: 0, target: 1.05 },
  { key: 'subs1', label: '+ modelEvent, 1 matching', owner: 'owner1', matching: 1, target: 1.5 },
  { key: 'subs5', label: '+ modelEvent, 5 matching', owner: 'owner5', matching: 5 },
  ...[0, 1, 5].map((matching) => ({
    key: `cached${matching}`,
    label: `+ modelEvent, ${matching} matching, cache`,
    owner: `owner${matching}`,
    matching,
    cached: true,
    ...(matching === 0 ? { target: 1.05 } : matching === 1 ? { target: 1.5 } : {}),
  })),
]

/** The instance a variant writes through: the default one, or the one with the lookup cache. */
interface Engines {
  hooks: Hooks
  cached: Hooks
}

/** A second instance on the same store, whose dispatch caches the subscription lookup. */
function withCache(hooks: Hooks): Engines {
  return {
    hooks,
    // Not closed: it shares the store, which the first instance closes.
    cached: createHooks({ store: hooks.store, events: EVENTS, subscriptionCacheMs: 1000 }),
  }
}

const EVENTS = { 'book.added': 'Book.created', 'book.removed': 'Book.deleted' }

/** Subscriptions: 1 and 5 matching ones, and others that match none of the events written. */
async function subscribe(hooks: Hooks): Promise<void> {
  const target = (n: number) => `http://127.0.0.1:9/hooks/${n}`
  let n = 0
  for (const variant of VARIANTS) {
    // The cached variants write for the same owners as the others.
    if (variant.owner === null || variant.cached) continue
    for (let s = 0; s < variant.matching; s++) {
      await hooks.subscribe({ owner: variant.owner, event: 'book.added', target: target(n++) })
    }
  }
  // The others: the variants' owners on another event, and other owners on this one.
  const owners = VARIANTS.flatMap((v) => (v.owner === null ? [] : [v.owner]))
  for (let s = 0; s < OTHER_SUBSCRIPTIONS; s++) {
    const mine = s % 4 === 0
    await hooks.subscribe({
      owner: mine ? (owners[(s / 4) % owners.length] ?? 'owner0') : `other${s}`,
      event: mine ? 'book.removed' : 'book.added',
      target: target(n++),
    })
  }
}

// ---------------------------------------------------------------------------------------------
// One application transaction

// biome-ignore lint/suspicious/noExplicitAny: the application's own database, any schema
type AppDb = Kysely<any>

/** Where a traced transaction spent its time, in ms, by component. */
type Trace = Map<string, { count: number; ms: number }>

const STATEMENT_KINDS: readonly [string, RegExp][] = [
  ['SAVEPOINT', /^\s*savepoint\b/i],
  ['RELEASE', /^\s*release\b/i],
  ['ROLLBACK TO', /^\s*rollback\s+to\b/i],
  ['SELECT subscriptions', /^\s*select\b[\s\S]*\bresthooks_subscriptions\b/i],
  ['INSERT event', /^\s*insert\s+into\s+"?resthooks_events"?/i],
  ['INSERT deliveries', /^\s*insert\s+into\s+"?resthooks_deliveries"?/i],
  // The event and its deliveries in one statement (a data-modifying CTE), should a store do so.
  ['INSERT event + deliveries', /^\s*with\b[\s\S]*\binsert\s+into\b/i],
  ['resthooks_write_event (event + deliveries)', /^\s*select\s+resthooks_write_event\b/i],
  [
    'resthooks_dispatch_event (lookup, event, deliveries)',
    /^\s*select\s+resthooks_dispatch_event\b/i,
  ],
  ['SELECT pg_notify', /\bpg_notify\b/i],
  ['INSERT outbox row (event + deliveries)', /^\s*insert\s+into\s+"?resthooks_outbox"?/i],
]

function kindOf(sql: string): string {
  const text = sql.replace(PREPARED_STATEMENT, '')
  for (const [kind, pattern] of STATEMENT_KINDS) if (pattern.test(text)) return kind
  return `other: ${text.replace(/\s+/g, ' ').slice(0, 40)}`
}

function add(trace: Trace, component: string, ms: number, count = 1): void {
  const entry = trace.get(component) ?? { count: 0, ms: 0 }
  entry.count += count
  entry.ms += ms
  trace.set(component, entry)
}

/** The application's transaction executor, counting and timing each statement resthooks runs. */
function tracing(trx: AppDb, trace: Trace): SqlExecutor & { ms: number } {
  const inner = fromKysely(trx)
  const executor = {
    ms: 0,
    async executeSql(text: string, values: readonly unknown[]) {
      const started = performance.now()
      try {
        return await inner.executeSql(text, values)
      } finally {
        const ms = performance.now() - started
        executor.ms += ms
        add(trace, kindOf(text), ms)
      }
    },
  }
  return executor
}

let nextId = 0

/** An id as long as resthooks' event ids (`evt_` and a ULID), in increasing order. */
const eventId = (n: number) => `evt_01J${String(n).padStart(23, '0')}`

/** One transaction of `variant`; with `trace`, timed part by part. */
async function write(engines: Engines, db: AppDb, variant: Variant, trace?: Trace) {
  const hooks = variant.cached ? engines.cached : engines.hooks
  const row = { ...book(nextId++), ownerId: variant.owner ?? 'nobody' }
  let inside = 0
  let finished = 0
  const started = performance.now()
  await db.transaction().execute(async (trx) => {
    inside = performance.now()
    await sql`insert into bench_books (id, title, owner_id) values (${row.id}, ${row.title}, ${row.ownerId})`.execute(
      trx,
    )
    const inserted = performance.now()
    if (variant.floor) {
      await sql`insert into bench_events (id, name, owner, data, created_at) values (${eventId(row.id)}, ${'book.added'}, ${row.ownerId}, ${JSON.stringify(row)}, ${Date.now()})`.execute(
        trx,
      )
      if (trace) add(trace, 'INSERT bench_events (floor)', performance.now() - inserted)
    }
    if (variant.owner !== null) {
      const executor = trace ? tracing(trx, trace) : undefined
      const result = await hooks.modelEvent('Book', 'created', row, { tx: executor ?? trx })
      if (result?.deliveries !== variant.matching) {
        throw new Error(
          `${variant.label}: modelEvent queued ${result?.deliveries} deliveries, expected ${variant.matching}`,
        )
      }
      if (trace && executor) {
        const total = performance.now() - inserted
        add(trace, 'modelEvent, rest', total - executor.ms)
      }
    }
    if (trace) add(trace, 'app INSERT', inserted - inside)
    finished = performance.now()
  })
  if (trace) {
    const ended = performance.now()
    add(trace, 'BEGIN', inside - started)
    add(trace, 'COMMIT', ended - finished)
    add(trace, 'total', ended - started)
  }
}

// ---------------------------------------------------------------------------------------------
// A store's run

interface Timing {
  variant: Variant
  samples: number[]
}

interface StoreResult {
  name: string
  details: string
  timings: Timing[]
  traces: Trace[]
  serverSide?: string[][]
}

/** The variants' order in round `r`: rotated by one each round. */
function rotated(r: number): Variant[] {
  return VARIANTS.map((_, i) => VARIANTS[(i + r) % VARIANTS.length] as Variant)
}

async function measure(engines: Engines, db: AppDb, createTable: string): Promise<Timing[]> {
  const { hooks } = engines
  await hooks.migrate()
  await sql.raw(createTable).execute(db)
  await sql.raw(EVENTS_TABLE).execute(db)
  await sql.raw(EVENTS_INDEX).execute(db)
  await subscribe(hooks)
  // Past any subscription cache's staleness window (PRODUCT.md allows up to 1 s).
  await new Promise((resolve) => setTimeout(resolve, 1100))
  for (let i = 0; i < WARMUP; i++) {
    for (const variant of rotated(i)) await write(engines, db, variant)
  }
  const timings = VARIANTS.map((variant) => ({ variant, samples: [] as number[] }))
  const perRound = Math.ceil(WRITES / ROUNDS)
  for (let r = 0; r < ROUNDS; r++) {
    for (const variant of rotated(r)) {
      const timing = timings.find((t) => t.variant === variant) as Timing
      const count = Math.min(perRound, WRITES - timing.samples.length)
      for (let i = 0; i < count; i++) {
        const started = performance.now()
        await write(engines, db, variant)
        timing.samples.push(performance.now() - started)
      }
    }
  }
  return timings
}

async function traceAll(engines: Engines, db: AppDb): Promise<Trace[]> {
  const traces = VARIANTS.map(() => new Map() as Trace)
  for (let i = 0; i < TRACE; i++) {
    for (const variant of rotated(i)) {
      await write(engines, db, variant, traces[VARIANTS.indexOf(variant)])
    }
  }
  return traces
}

const BOOKS_TABLE =
  'create table bench_books (id integer primary key, title text not null, owner_id text not null)'

/** The floor variant's events: what the event feed needs of each, as resthooks keeps them. */
const EVENTS_TABLE =
  'create table bench_events (id text primary key, name text not null, owner text, data text not null, created_at bigint not null)'
const EVENTS_INDEX = 'create index bench_events_owner on bench_events (owner, id)'

async function runSqlite(): Promise<StoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-overhead-'))
  const hooks = createHooks({
    store: sqliteStore({ path: join(dir, 'bench.db') }),
    events: EVENTS,
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    const db = hooks.store.db as unknown as AppDb
    const engines = withCache(hooks)
    const timings = await measure(engines, db, BOOKS_TABLE)
    const traces = await traceAll(engines, db)
    return {
      name: 'SQLite',
      details: `SQLite: node:sqlite ${process.versions.sqlite}, synchronous=full, WAL, a file in ${tmpdir()}; the application writes through hooks.store.db`,
      timings,
      traces,
    }
  } finally {
    await hooks.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function runPostgres(cluster: Cluster): Promise<StoreResult> {
  const url = await cluster.createDatabase('write_overhead')
  const pool = new pg.Pool({ connectionString: url, max: 4 })
  pool.on('error', () => {})
  const db: AppDb = new Kysely({ dialect: new PostgresDialect({ pool }) })
  const hooks = createHooks({
    store: postgresStore({ pool }),
    events: EVENTS,
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    const engines = withCache(hooks)
    const timings = await measure(engines, db, BOOKS_TABLE)
    let serverSide: string[][] | undefined
    if (PG_STATEMENTS) {
      await sql`create extension if not exists pg_stat_statements`.execute(db)
      await sql`select pg_stat_statements_reset()`.execute(db)
    }
    const traces = await traceAll(engines, db)
    if (PG_STATEMENTS) serverSide = await statementStats(db)
    return {
      name: 'PostgreSQL',
      details: `PostgreSQL: ${cluster.version}, ${cluster.settings}, data in ${tmpdir()}, ${cluster.transport}; the application writes through its own Kysely over a pg.Pool the store shares${PG_STATEMENTS ? '; pg_stat_statements loaded' : ''}`,
      timings,
      traces,
      ...(serverSide ? { serverSide } : {}),
    }
  } finally {
    await hooks.close()
    await db.destroy()
  }
}

/** pg_stat_statements over the traced transactions: calls and server-side time per statement. */
async function statementStats(db: AppDb): Promise<string[][]> {
  const { rows } = await sql<{ query: string; calls: number; mean: number; total: number }>`
    select query, calls::int as calls, mean_exec_time as mean, total_exec_time as total
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
    order by total_exec_time desc`.execute(db)
  const byKind = new Map<string, { calls: number; total: number }>()
  for (const row of rows) {
    const text = row.query.trim()
    const kind = /^(begin|commit)\b/i.test(text)
      ? text.toUpperCase()
      : /^insert into bench_books/i.test(text)
        ? 'app INSERT'
        : kindOf(text)
    if (kind.startsWith('other') || /pg_stat_statements/i.test(text)) continue
    const entry = byKind.get(kind) ?? { calls: 0, total: 0 }
    entry.calls += Number(row.calls)
    entry.total += Number(row.total)
    byKind.set(kind, entry)
  }
  return [
    ['statement', 'calls', 'server µs per call'],
    ...[...byKind].map(([kind, { calls, total }]) => [
      kind,
      String(calls),
      ((total / calls) * 1000).toFixed(1),
    ]),
  ]
}

// ---------------------------------------------------------------------------------------------
// Output

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(xs.length, 1)

function quantile(xs: readonly number[], q: number): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN
}

const us = (ms: number) => Math.round(ms * 1000).toLocaleString('en-US')

function print(result: StoreResult): ReportRow[] {
  const plain = mean(result.timings[0]?.samples ?? [])
  const plainP50 = quantile(result.timings[0]?.samples ?? [], 0.5)
  const rows: ReportRow[] = []
  console.log('')
  console.log(result.details)
  console.log(
    `${WRITES} transactions per variant, in ${ROUNDS} rounds (variant order rotated each round), after ${WARMUP} per variant of warm-up`,
  )
  console.log('')
  printTable([
    ['variant', 'mean µs', 'p50 µs', 'p90 µs', 'ratio of means', 'target', 'met', 'ratio of p50s'],
    ...result.timings.map(({ variant, samples }) => {
      const ratio = mean(samples) / plain
      const met = variant.target === undefined ? undefined : ratio <= variant.target
      if (variant.floor) {
        rows.push({
          bench: 'write overhead',
          measure: `${result.name}, the event row alone in plain SQL (floor)`,
          value: `${ratio.toFixed(2)}× plain (${us(mean(samples))} vs ${us(plain)} µs)`,
        })
      }
      if (variant.owner !== null) {
        rows.push({
          bench: 'write overhead',
          measure: `${result.name}, ${variant.matching} matching${variant.cached ? ', subscriptionCacheMs 1000' : ''}`,
          value: `${ratio.toFixed(2)}× plain (${us(mean(samples))} vs ${us(plain)} µs)`,
          ...(variant.target !== undefined ? { target: `≤ ${variant.target}× plain` } : {}),
          ...(met !== undefined ? { met } : {}),
        })
      }
      return [
        variant.label,
        us(mean(samples)),
        us(quantile(samples, 0.5)),
        us(quantile(samples, 0.9)),
        `${ratio.toFixed(3)}×`,
        variant.target === undefined ? '' : `≤ ${variant.target}×`,
        met === undefined ? '' : met ? 'yes' : 'NO',
        `${(quantile(samples, 0.5) / plainP50).toFixed(3)}×`,
      ]
    }),
  ])

  // The breakdown: components as rows, variants as columns, mean µs per transaction (count).
  console.log('')
  console.log(
    `where the time goes: ${TRACE} traced transactions per variant, mean µs per transaction (statements per transaction); tracing adds a little`,
  )
  const components = [
    'BEGIN',
    'app INSERT',
    'SELECT subscriptions',
    'SAVEPOINT',
    'INSERT event',
    'INSERT deliveries',
    'INSERT event + deliveries',
    'resthooks_write_event (event + deliveries)',
    'resthooks_dispatch_event (lookup, event, deliveries)',
    'SELECT pg_notify',
    'INSERT outbox row (event + deliveries)',
    'RELEASE',
    'ROLLBACK TO',
  ]
  for (const trace of result.traces) {
    for (const key of trace.keys()) if (!components.includes(key)) components.push(key)
  }
  const ordered = [
    ...components.filter((c) => !['modelEvent, rest', 'COMMIT', 'total'].includes(c)),
    'modelEvent, rest',
    'COMMIT',
    'total',
  ]
  const table: string[][] = [['component', ...VARIANTS.map((v) => v.label)]]
  for (const component of ordered) {
    if (!result.traces.some((t) => t.has(component))) continue
    const statement = !['BEGIN', 'app INSERT', 'modelEvent, rest', 'COMMIT', 'total'].includes(
      component,
    )
    table.push([
      component === 'modelEvent, rest' ? 'modelEvent, rest (JS: owner, JSON, ids, SQL)' : component,
      ...result.traces.map((trace) => {
        const entry = trace.get(component)
        if (!entry) return '-'
        const perTx = entry.ms / TRACE
        const count = entry.count / TRACE
        const times = Number.isInteger(count) ? String(count) : count.toFixed(2)
        return statement ? `${us(perTx)} (${times}×)` : us(perTx)
      }),
    ])
  }
  table.push([
    'statements per modelEvent',
    ...result.traces.map((trace) => {
      let n = 0
      for (const [key, entry] of trace) {
        if (!['BEGIN', 'app INSERT', 'modelEvent, rest', 'COMMIT', 'total'].includes(key)) {
          n += entry.count
        }
      }
      const count = n / TRACE
      return Number.isInteger(count) ? String(count) : count.toFixed(2)
    }),
  ])
  table.push([
    'extra over plain',
    ...result.traces.map((trace) => {
      const plainTotal = (result.traces[0]?.get('total')?.ms ?? 0) / TRACE
      return us((trace.get('total')?.ms ?? 0) / TRACE - plainTotal)
    }),
  ])
  printTable(table)
  if (result.serverSide) {
    console.log('')
    console.log(
      'PostgreSQL server-side execution (pg_stat_statements, over the traced transactions):',
    )
    printTable(result.serverSide)
  }
  return rows
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  console.log(machineLine('shared: figures vary between runs'))
  console.log(
    `workload: one application transaction = insert one bench_books row, then modelEvent('Book', 'created', row, { tx }) or not; ${OTHER_SUBSCRIPTIONS} other subscriptions match none of the events; no worker`,
  )
  const rows: ReportRow[] = []
  if (SKIP_SQLITE) console.log('\nSQLite: skipped (BENCH_SQLITE=0)')
  else rows.push(...print(await runSqlite()))

  if (SKIP_PG) {
    console.log('\nPostgreSQL: skipped (BENCH_PG=0)')
  } else {
    let cluster: Cluster | undefined
    try {
      cluster = await startCluster({ statements: PG_STATEMENTS })
    } catch (error) {
      console.log(
        `\nPostgreSQL: skipped, it did not start (${(error as Error).message.split('\n')[0]}); install it with 'bash scripts/postgres.sh install'`,
      )
    }
    if (cluster) {
      try {
        rows.push(...print(await runPostgres(cluster)))
      } finally {
        await cluster.stop()
      }
    }
  }
  console.log('')
  report(rows)
}

await main()
