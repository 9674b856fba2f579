/**
 * Fan-out (issue 9, item 2): one event to 10,000 subscriptions. On SQLite and on PostgreSQL,
 * 10,000 active subscriptions of one owner to `book.added` (targets `${receiver}/hooks/<i>` on
 * one local receiver process). Each round times:
 * - the write: one `modelEvent` in an application transaction (1 event + 10,000 deliveries,
 *   commit included); target < 1 s on SQLite, none on PostgreSQL;
 * - the delivery of those 10,000 with a worker (concurrency 50, perTargetConcurrency 50), from
 *   its start until the receiver has answered every one and none is left pending;
 * - the raw undici baseline: 10,000 requests to the same receiver at the same concurrency.
 * The table shows the median round of each, after a warm-up round (write + delivery).
 *
 *   node bench/fanout.ts
 *   BENCH_FANOUT_SUBSCRIPTIONS=10000 BENCH_FANOUT_ROUNDS=3 BENCH_FANOUT_STORES=sqlite node bench/fanout.ts
 *
 * Knobs: BENCH_FANOUT_SUBSCRIPTIONS (default 10000), BENCH_FANOUT_ROUNDS (timed rounds per
 * store, default 3), BENCH_CONCURRENCY (the worker's and the baseline's, default 50),
 * BENCH_FANOUT_STORES (`sqlite,postgres`). The subscriptions are inserted with SQL (ids and
 * secrets in resthooks' formats), not one `subscribe()` each. SQLite runs with
 * synchronous=FULL in WAL mode in a temporary directory; PostgreSQL is a throwaway durable
 * cluster (bench/cluster.ts); without PostgreSQL installed that part is skipped.
 */

import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { monotonicFactory } from 'ulid'
import { createHooks, type Hooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { onExit, tryStartCluster } from './cluster.ts'
import {
  book,
  fmt,
  machineLine,
  positiveInt,
  printTable,
  type Receiver,
  rawBaseline,
  startReceiverProcess,
} from './common.ts'
import { deliverAll } from './deliver-all.ts'
import { type ReportRow, report } from './report.ts'

const SUBSCRIPTIONS = positiveInt('BENCH_FANOUT_SUBSCRIPTIONS', 10_000)
const ROUNDS = positiveInt('BENCH_FANOUT_ROUNDS', 3)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 50)
const STORES = (process.env.BENCH_FANOUT_STORES || 'sqlite,postgres').split(',')
const OWNER = 'u1'
/** Subscriptions per multi-row INSERT while setting up (20 parameters a row). */
const INSERT_BATCH = 250
const WRITE_TARGET_S = 1

interface Round {
  writeSeconds: number
  deliverySeconds: number
  rawSeconds: number
}

interface StoreResult {
  store: string
  setupSeconds: number
  rounds: Round[]
}

// ---------------------------------------------------------------------------------------------
// Setting up

const nextUlid = monotonicFactory()

/** Inserts `count` active subscriptions of OWNER to book.added, the rows subscribe() stores. */
async function insertSubscriptions(hooks: Hooks, receiver: Receiver, count: number) {
  const { db } = hooks.store
  const now = Date.now()
  await db.transaction().execute(async (trx) => {
    for (let from = 0; from < count; from += INSERT_BATCH) {
      const rows = []
      for (let i = from; i < Math.min(count, from + INSERT_BATCH); i++) {
        rows.push({
          id: `hook_${nextUlid()}`,
          owner: OWNER,
          event: 'book.added',
          target: `${receiver.url}/hooks/${i}`,
          status: 'active' as const,
          disabled_reason: null,
          method: 'POST',
          content_type: 'application/json',
          headers: '{}',
          filter: null,
          template: null,
          payload: 'full' as const,
          hmac_digest: null,
          metadata: '{}',
          secret: `whsec_${randomBytes(32).toString('base64')}`,
          previous_secret: null,
          previous_secret_expires_at: null,
          failing_since: null,
          created_at: now,
          updated_at: now,
        })
      }
      await trx.insertInto('resthooks_subscriptions').values(rows).execute()
    }
  })
}

// ---------------------------------------------------------------------------------------------
// Measuring

/** One modelEvent in an application transaction; resolves with the seconds, commit included. */
async function writeOnce(hooks: Hooks, i: number): Promise<number> {
  const started = performance.now()
  const result = await hooks.store.db
    .transaction()
    .execute((trx) => hooks.modelEvent('Book', 'created', book(i), { tx: trx }))
  const seconds = (performance.now() - started) / 1000
  if (result?.deliveries !== SUBSCRIPTIONS) {
    throw new Error(`the event queued ${result?.deliveries} deliveries, not ${SUBSCRIPTIONS}`)
  }
  return seconds
}

async function rawOnce(receiver: Receiver): Promise<number> {
  const { reached } = await receiver.expect(SUBSCRIPTIONS)
  const seconds = await rawBaseline(receiver.url, SUBSCRIPTIONS, CONCURRENCY, SUBSCRIPTIONS)
  await reached
  return seconds
}

async function measure(
  name: string,
  hooks: Hooks,
  receiver: Receiver,
  analyze: () => Promise<void>,
): Promise<StoreResult> {
  await hooks.migrate()
  const setupStarted = performance.now()
  await insertSubscriptions(hooks, receiver, SUBSCRIPTIONS)
  await analyze()
  const setupSeconds = (performance.now() - setupStarted) / 1000
  console.log(`${name}: ${SUBSCRIPTIONS} subscriptions inserted in ${setupSeconds.toFixed(2)} s`)

  // Warm-up: a whole round, untimed.
  await rawOnce(receiver)
  await writeOnce(hooks, 0)
  await deliverAll(hooks, receiver, SUBSCRIPTIONS, CONCURRENCY)

  const rounds: Round[] = []
  for (let r = 1; r <= ROUNDS; r++) {
    const rawSeconds = await rawOnce(receiver)
    const writeSeconds = await writeOnce(hooks, r)
    const deliverySeconds = await deliverAll(hooks, receiver, SUBSCRIPTIONS, CONCURRENCY)
    console.log(
      `${name} round ${r}: write ${(writeSeconds * 1000).toFixed(0)} ms, delivery ${deliverySeconds.toFixed(2)} s (${fmt(SUBSCRIPTIONS / deliverySeconds)}/s), raw ${rawSeconds.toFixed(2)} s (${fmt(SUBSCRIPTIONS / rawSeconds)}/s)`,
    )
    rounds.push({ writeSeconds, deliverySeconds, rawSeconds })
  }
  return { store: name, setupSeconds, rounds }
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]
  if (middle === undefined) throw new Error('no rounds')
  return middle
}

// ---------------------------------------------------------------------------------------------

async function sqliteRun(receiver: Receiver): Promise<StoreResult> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-fanout-'))
  onExit(() => rmSync(dir, { recursive: true, force: true }))
  const hooks = createHooks({
    store: sqliteStore({ path: join(dir, 'fanout.db') }),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    return await measure('SQLite', hooks, receiver, async () => {})
  } finally {
    await hooks.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

async function postgresRun(receiver: Receiver): Promise<StoreResult | string> {
  const cluster = await tryStartCluster()
  if (typeof cluster === 'string') return cluster
  console.log(`PostgreSQL ${cluster.version}: ${cluster.settings}`)
  const url = await cluster.createDatabase('fanout')
  const hooks = createHooks({
    store: postgresStore(url),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    return await measure('PostgreSQL', hooks, receiver, async () => {
      await sql`VACUUM ANALYZE resthooks_subscriptions`.execute(hooks.store.db)
    })
  } finally {
    await hooks.close()
    await cluster.stop()
  }
}

async function main(): Promise<void> {
  console.log(machineLine('shared: other benches may run meanwhile'))
  console.log(
    `workload: 1 event × ${SUBSCRIPTIONS} subscriptions of one owner, ${ROUNDS} timed rounds after a warm-up; worker and baseline concurrency ${CONCURRENCY} (perTargetConcurrency ${CONCURRENCY}), one receiver process`,
  )
  const receiver = await startReceiverProcess()
  onExit(() => receiver.kill())
  const results: StoreResult[] = []
  let skipped: string | undefined
  try {
    for (const store of STORES) {
      if (store === 'sqlite') results.push(await sqliteRun(receiver))
      else if (store === 'postgres') {
        const result = await postgresRun(receiver)
        if (typeof result === 'string') {
          skipped = result
          console.log(`PostgreSQL: skipped, ${result}`)
        } else results.push(result)
      } else throw new Error(`BENCH_FANOUT_STORES: unknown store '${store}'`)
    }
  } finally {
    await receiver.close()
  }

  console.log('')
  const table: string[][] = [
    ['store', 'write 1 event (median)', 'delivery', 'raw baseline', 'delivery / raw'],
  ]
  const rows: ReportRow[] = []
  for (const { store, rounds } of results) {
    const write = median(rounds.map((r) => r.writeSeconds))
    const delivery = median(rounds.map((r) => r.deliverySeconds))
    const raw = median(rounds.map((r) => r.rawSeconds))
    const deliveryRate = SUBSCRIPTIONS / delivery
    const rawRate = SUBSCRIPTIONS / raw
    const ratio = deliveryRate / rawRate
    table.push([
      store,
      `${(write * 1000).toFixed(0)} ms (${fmt(SUBSCRIPTIONS / write)} deliveries/s)`,
      `${delivery.toFixed(2)} s (${fmt(deliveryRate)}/s)`,
      `${raw.toFixed(2)} s (${fmt(rawRate)}/s)`,
      ratio.toFixed(2),
    ])
    const sqlite = store === 'SQLite'
    rows.push(
      {
        bench: 'fan-out',
        measure: `${store}, write 1 event × ${fmt(SUBSCRIPTIONS)} deliveries`,
        value: `${(write * 1000).toFixed(0)} ms`,
        ...(sqlite ? { target: `< ${WRITE_TARGET_S} s`, met: write < WRITE_TARGET_S } : {}),
      },
      {
        bench: 'fan-out',
        measure: `${store}, deliver ${fmt(SUBSCRIPTIONS)}`,
        value: `${fmt(deliveryRate)} deliveries/s, ${ratio.toFixed(2)} of raw`,
      },
    )
  }
  printTable(table)
  if (skipped) console.log(`PostgreSQL: skipped, ${skipped}`)
  console.log('')
  report(rows)
}

await main()
