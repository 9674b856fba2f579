/**
 * Delivery throughput: N model events × M matching subscriptions to a local receiver that
 * answers 200 at once, against a raw undici baseline sending the same bodies to the same
 * receiver at the same concurrency.
 *
 *   node bench/throughput.ts
 *   BENCH_EVENTS=2000 BENCH_SUBSCRIPTIONS=5 BENCH_CONCURRENCY=50 node bench/throughput.ts
 *
 * The receiver (bench/receiver.ts) runs in a process of its own. Not a test: it prints a table.
 * BENCH_SQLITE_STATEMENTS=1 also prints the SQLite statements of the timed delivery (calls,
 * time, rows; COMMITs included).
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'kysely'
import { createHooks, type Hooks } from '../src/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import {
  book,
  fmt,
  machineLine,
  positiveInt,
  printTable,
  rawBaseline,
  startReceiverProcess,
} from './common.ts'
import { deliverAll } from './deliver-all.ts'
import { report } from './report.ts'
import { countSqliteStatements } from './sqlite-statements.ts'

const EVENTS = positiveInt('BENCH_EVENTS', 2000)
const SUBSCRIPTIONS = positiveInt('BENCH_SUBSCRIPTIONS', 5)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 50)
const DELIVERIES = EVENTS * SUBSCRIPTIONS
const WARMUP_EVENTS = Math.max(1, Math.min(200, Math.floor(EVENTS / 10)))
const WARMUP_REQUESTS = WARMUP_EVENTS * SUBSCRIPTIONS

// ---------------------------------------------------------------------------------------------
// (b) resthooks on SQLite

async function dispatchEvents(hooks: Hooks, from: number, count: number): Promise<number> {
  const { db } = hooks.store
  const started = performance.now()
  for (let i = from; i < from + count; i++) {
    const row = book(i)
    // As an application would: its own row and the event, in one transaction.
    await db.transaction().execute(async (trx) => {
      await sql`insert into bench_books (id, title, owner_id) values (${row.id}, ${row.title}, ${row.ownerId})`.execute(
        trx,
      )
      await hooks.modelEvent('Book', 'created', row, { tx: trx })
    })
  }
  return (performance.now() - started) / 1000
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const receiver = await startReceiverProcess()
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-'))
  const hooks = createHooks({
    store: sqliteStore({ path: join(dir, 'bench.db') }),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    // (a) raw baseline, after a warm-up
    {
      const { reached } = await receiver.expect(WARMUP_REQUESTS)
      await rawBaseline(receiver.url, WARMUP_REQUESTS, CONCURRENCY, SUBSCRIPTIONS)
      await reached
    }
    const { reached: rawReached } = await receiver.expect(DELIVERIES)
    const rawSeconds = await rawBaseline(receiver.url, DELIVERIES, CONCURRENCY, SUBSCRIPTIONS)
    await rawReached

    // (b) resthooks
    await hooks.migrate()
    await sql`create table bench_books (id integer primary key, title text not null, owner_id text not null)`.execute(
      hooks.store.db,
    )
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      await hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/hooks/${s}`,
      })
    }
    await dispatchEvents(hooks, 0, WARMUP_EVENTS)
    await deliverAll(hooks, receiver, WARMUP_REQUESTS, CONCURRENCY)

    const dispatchSeconds = await dispatchEvents(hooks, WARMUP_EVENTS, EVENTS)
    const statements =
      process.env.BENCH_SQLITE_STATEMENTS === '1' ? countSqliteStatements() : undefined
    const deliverySeconds = await deliverAll(hooks, receiver, DELIVERIES, CONCURRENCY)
    statements?.stop()

    const rawRate = DELIVERIES / rawSeconds
    const dispatchRate = EVENTS / dispatchSeconds
    const deliveryRate = DELIVERIES / deliverySeconds
    console.log(machineLine())
    console.log(
      `workload: ${EVENTS} events × ${SUBSCRIPTIONS} subscriptions = ${DELIVERIES} deliveries, concurrency ${CONCURRENCY}, SQLite (synchronous=full, WAL) in ${tmpdir()}`,
    )
    console.log('')
    const rows: [string, string, string][] = [
      ['measure', 'count', 'rate'],
      [
        'raw undici baseline',
        `${DELIVERIES} req in ${rawSeconds.toFixed(2)} s`,
        `${fmt(rawRate)} req/s`,
      ],
      [
        'resthooks dispatch',
        `${EVENTS} events in ${dispatchSeconds.toFixed(2)} s`,
        `${fmt(dispatchRate)} events/s`,
      ],
      [
        'resthooks delivery',
        `${DELIVERIES} deliveries in ${deliverySeconds.toFixed(2)} s`,
        `${fmt(deliveryRate)} deliveries/s`,
      ],
      ['ratio delivery / raw', '', `${(deliveryRate / rawRate).toFixed(2)} (target ≥ 0.70)`],
    ]
    printTable(rows)
    if (statements) {
      console.log('\nSQLite statements during the timed delivery:')
      statements.print()
    }
    report([
      {
        bench: 'throughput',
        measure: 'raw undici baseline (SQLite run)',
        value: `${fmt(rawRate)} req/s`,
      },
      {
        bench: 'throughput',
        measure: 'SQLite, 1 worker',
        value: `${fmt(deliveryRate)}/s = ${(deliveryRate / rawRate).toFixed(2)} of raw`,
        target: '≥ 0.7 of raw',
        met: deliveryRate / rawRate >= 0.7,
      },
    ])
  } finally {
    await hooks.close()
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
