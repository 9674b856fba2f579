/**
 * Delivery throughput: N model events × M matching subscriptions to a local receiver that
 * answers 200 at once, against a raw undici baseline sending the same bodies to the same
 * receiver at the same concurrency. A first round warms up the client, the receiver and
 * resthooks (shown, not counted: with a warm-up of 1,000 requests the baseline's first round
 * came out at half its later rate); then BENCH_ROUNDS rounds (default 3) each measure the
 * baseline, then resthooks right after it. The ratio shown is the median of the rounds' ratios,
 * so that the machine's drift between two measures weighs little.
 *
 *   node bench/throughput.ts
 *   BENCH_EVENTS=2000 BENCH_SUBSCRIPTIONS=5 BENCH_CONCURRENCY=50 node bench/throughput.ts
 *
 * The receiver (bench/receiver.ts) runs in a process of its own. Not a test: it prints a table.
 * Beside each rate, the CPU time this process spent per request (the baseline's client) and per
 * delivery (the worker, all its threads): on two shared cores the ratio of rates follows the
 * ratio of CPU, which moves less from run to run.
 * BENCH_SQLITE_STATEMENTS=1 also prints the SQLite statements of the timed delivery (calls,
 * time, rows; COMMITs included).
 *
 * Each round also measures, right after resthooks, the least a durable queue does
 * (bench/bare-queue.ts: a table of deliveries in SQLite, claimed with a lease and POSTed with
 * undici, no signing, no attempt rows), then the same with what PRODUCT.md asks of every
 * delivery (signed, an attempt row with the response), then with the request kept on the
 * attempt too (as resthooks' delivery log keeps it), each on a database file of its own:
 * ceilings for what a sender that keeps its deliveries in SQLite reaches on this machine.
 * BENCH_BARE=0 leaves them out.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { sql } from 'kysely'
import { createHooks, type Hooks } from '../src/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { BARE_SQLITE_SCHEMA, bareWorker, sqliteBareEnqueue, sqliteBareQueue } from './bare-queue.ts'
import {
  book,
  envelope,
  fmt,
  machineLine,
  medianOf,
  positiveInt,
  printTable,
  type Receiver,
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
const ROUNDS = positiveInt('BENCH_ROUNDS', 3)
const BARE = process.env.BENCH_BARE !== '0'

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
// (c) the least a durable queue does, on SQLite

interface BareSqlite {
  /** Dispatches `count` events from `from`: a transaction each, with its deliveries. */
  dispatch(from: number, count: number): void
  /** Delivers every pending delivery; resolves with the seconds taken. */
  deliver(receiver: Receiver): Promise<number>
  close(): Promise<void>
}

function openBareSqlite(
  path: string,
  targets: readonly string[],
  options: { contract?: boolean; keepRequests?: boolean },
): BareSqlite {
  // The application's connection, durable as the store's own; the worker's, NORMAL.
  const app = new DatabaseSync(path)
  app.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 5000')
  app.exec(BARE_SQLITE_SCHEMA)
  const enqueue = sqliteBareEnqueue(app)
  const pending = app.prepare('SELECT count(*) AS n FROM bare_deliveries WHERE status = 0')
  const workerDb = new DatabaseSync(path)
  workerDb.exec('PRAGMA busy_timeout = 5000')
  const worker = bareWorker(
    sqliteBareQueue(workerDb),
    CONCURRENCY,
    (error) => console.error(`bare queue: ${error.message}`),
    options,
  )
  return {
    dispatch(from, count) {
      for (let i = from; i < from + count; i++) {
        app.exec('BEGIN IMMEDIATE')
        enqueue(
          targets.map((url, s) => ({
            url,
            body: envelope(i * targets.length + s, url, targets.length),
          })),
        )
        app.exec('COMMIT')
      }
    },
    async deliver(receiver) {
      const { reached } = await receiver.expect(DELIVERIES)
      const started = performance.now()
      worker.start()
      await reached
      while ((pending.get() as { n: number }).n > 0) {
        await new Promise((resolve) => setTimeout(resolve, 1))
      }
      const seconds = (performance.now() - started) / 1000
      await worker.stop()
      if (worker.failed > 0) throw new Error(`bare queue: ${worker.failed} deliveries failed`)
      return seconds
    },
    async close() {
      await worker.close()
      workerDb.close()
      app.close()
    },
  }
}

/** This process's CPU time (user + system, all threads) since `from`, in µs. */
function cpuMicros(from: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(from)
  return user + system
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const receiver = await startReceiverProcess()
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-'))
  let closeBare: () => Promise<void> = async () => {}
  const hooks = createHooks({
    store: sqliteStore({ path: join(dir, 'bench.db') }),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
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
    const targets = Array.from({ length: SUBSCRIPTIONS }, (_, s) => `${receiver.url}/hooks/${s}`)
    // The ceilings, each on a database file of its own (bench/bare-queue.ts): the bare queue,
    // the same with what the contract asks of every delivery, and with the request kept too.
    const ceiling = (
      label: string,
      measure: string,
      options: Parameters<typeof openBareSqlite>[2],
    ) => ({
      label,
      measure,
      queue: openBareSqlite(join(dir, `${label.replace(/\W+/g, '-')}.db`), targets, options),
    })
    const ceilings = BARE
      ? [
          ceiling('bare queue', 'the least a durable queue does (bare queue)', {}),
          ceiling('+ contract', 'the same, signed, an attempt row with the response', {
            contract: true,
          }),
          ceiling('+ request', 'the same, the request kept on the attempt too', {
            contract: true,
            keepRequests: true,
          }),
        ]
      : []
    closeBare = async () => {
      for (const { queue } of ceilings) await queue.close()
    }
    const statements =
      process.env.BENCH_SQLITE_STATEMENTS === '1' ? countSqliteStatements() : undefined
    const rounds: {
      raw: number
      dispatch: number
      delivery: number
      rawCpu: number
      deliveryCpu: number
      /** Each ceiling's rate and CPU per delivery, in `ceilings`' order. */
      ceilings: { rate: number; cpu: number }[]
    }[] = []
    // Round 0 is the warm-up: the same work, not counted.
    for (let round = 0; round <= ROUNDS; round++) {
      const { reached } = await receiver.expect(DELIVERIES)
      const rawStarted = process.cpuUsage()
      const rawSeconds = await rawBaseline(receiver.url, DELIVERIES, CONCURRENCY, SUBSCRIPTIONS)
      const rawCpu = cpuMicros(rawStarted)
      await reached
      const dispatchSeconds = await dispatchEvents(hooks, round * EVENTS, EVENTS)
      if (round > 0) statements?.start()
      const deliveryStarted = process.cpuUsage()
      const deliverySeconds = await deliverAll(hooks, receiver, DELIVERIES, CONCURRENCY)
      const deliveryCpu = cpuMicros(deliveryStarted)
      statements?.stop()
      const measured: { rate: number; cpu: number }[] = []
      for (const { queue } of ceilings) {
        queue.dispatch(round * EVENTS, EVENTS)
        const started = process.cpuUsage()
        const seconds = await queue.deliver(receiver)
        measured.push({ rate: DELIVERIES / seconds, cpu: cpuMicros(started) / DELIVERIES })
      }
      rounds.push({
        raw: DELIVERIES / rawSeconds,
        dispatch: EVENTS / dispatchSeconds,
        delivery: DELIVERIES / deliverySeconds,
        rawCpu: rawCpu / DELIVERIES,
        deliveryCpu: deliveryCpu / DELIVERIES,
        ceilings: measured,
      })
    }
    const warmup = rounds.shift()

    const ratios = rounds.map((round) => round.delivery / round.raw)
    const ratio = medianOf(ratios)
    // The round whose ratio is the median: its rates are the ones reported.
    const shown = rounds[ratios.indexOf(ratio)] ?? {
      raw: medianOf(rounds.map((round) => round.raw)),
      dispatch: medianOf(rounds.map((round) => round.dispatch)),
      delivery: medianOf(rounds.map((round) => round.delivery)),
    }
    const cpuRatio = medianOf(rounds.map((round) => round.rawCpu / round.deliveryCpu))
    const labels = ceilings.map((ceiling) => ceiling.label)
    console.log(machineLine())
    console.log(
      `workload: ${EVENTS} events × ${SUBSCRIPTIONS} subscriptions = ${DELIVERIES} deliveries, concurrency ${CONCURRENCY}, SQLite (synchronous=full, WAL) in ${tmpdir()}; a warm-up round, then ${ROUNDS} rounds of the baseline then resthooks${labels.length > 0 ? `, then the ceilings: ${labels.join(', ')} (bench/bare-queue.ts)` : ''}`,
    )
    console.log(
      'CPU: of this process (all its threads) while each sent or delivered, per request or delivery; the receiver is the same for all',
    )
    console.log('')
    type Round = (typeof rounds)[number]
    const cpu = (round: Round) =>
      `${[round.rawCpu, round.deliveryCpu, ...round.ceilings.map((c) => c.cpu)].map((µs) => µs.toFixed(0)).join(' / ')} µs`
    const ceilingCells = (round: Round) =>
      round.ceilings.flatMap((c) => [`${fmt(c.rate)}/s`, (c.rate / round.raw).toFixed(2)])
    const ceilingRatios = labels.map((_, i) =>
      rounds.map((round) => (round.ceilings[i]?.rate ?? 0) / round.raw),
    )
    const rows: string[][] = [
      [
        'round',
        'raw undici baseline',
        'resthooks dispatch',
        'resthooks delivery',
        'ratio',
        ...labels.flatMap((label) => [label, 'ratio']),
        `CPU: ${['raw', 'resthooks', ...labels].join(' / ')}`,
      ],
      ...(warmup ? [warmup] : []).map((round) => [
        'warm-up',
        `${fmt(round.raw)} req/s`,
        `${fmt(round.dispatch)} events/s`,
        `${fmt(round.delivery)} deliveries/s`,
        `(${(round.delivery / round.raw).toFixed(2)})`,
        ...ceilingCells(round).map((cell) => `(${cell})`),
        `(${cpu(round)})`,
      ]),
      ...rounds.map((round, i) => [
        String(i + 1),
        `${fmt(round.raw)} req/s`,
        `${fmt(round.dispatch)} events/s`,
        `${fmt(round.delivery)} deliveries/s`,
        (round.delivery / round.raw).toFixed(2),
        ...ceilingCells(round),
        cpu(round),
      ]),
      [
        'median ratio',
        '',
        '',
        '',
        `${ratio.toFixed(2)} (target ≥ 0.70)`,
        ...ceilingRatios.flatMap((r) => ['', medianOf(r).toFixed(2)]),
        `${cpuRatio.toFixed(2)} (raw ÷ resthooks)`,
      ],
    ]
    printTable(rows)
    if (statements) {
      console.log(`\nSQLite statements during the timed deliveries (${ROUNDS} rounds):`)
      statements.print()
    }
    report([
      {
        bench: 'throughput',
        measure: 'raw undici baseline (SQLite run, median round)',
        value: `${fmt(shown.raw)} req/s`,
      },
      {
        bench: 'throughput',
        measure: 'SQLite, 1 worker (median round)',
        value: `${fmt(shown.delivery)}/s = ${ratio.toFixed(2)} of raw (rounds ${ratios.map((r) => r.toFixed(2)).join(', ')}; CPU ${cpuRatio.toFixed(2)})`,
        target: '≥ 0.7 of raw',
        met: ratio >= 0.7,
      },
      ...ceilings.map(({ measure }, i) => {
        const r = ceilingRatios[i] ?? []
        return {
          bench: 'throughput',
          measure: `SQLite, ${measure}`,
          value: `${fmt(medianOf(rounds.map((round) => round.ceilings[i]?.rate ?? 0)))}/s = ${medianOf(r).toFixed(2)} of raw (rounds ${r.map((x) => x.toFixed(2)).join(', ')})`,
        }
      }),
    ])
  } finally {
    await closeBare()
    await hooks.close()
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
