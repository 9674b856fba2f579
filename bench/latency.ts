/**
 * Latency (issue 9, item 4): at a steady 100 events/s, the time from an event's committed
 * transaction to its receipt by the receiver, p50 and p99, on SQLite and on PostgreSQL.
 * Targets: p50 < 10 ms and p99 < 50 ms on SQLite; p50 < 20 ms and p99 < 100 ms on PostgreSQL.
 *
 *   node bench/latency.ts
 *   BENCH_LATENCY_SECONDS=60 BENCH_LATENCY_SUBSCRIPTIONS=5 node bench/latency.ts
 *
 * Each event is written as an application would: its own row and `modelEvent(…, { tx })` in one
 * transaction of the application's; the clock starts right after that transaction commits. The
 * receiver (this file, forked with `receiver`) runs in a process of its own and notes when each
 * request arrived; the two processes' clocks are compared once over IPC (the offset is printed
 * and taken off). Three ways of running the worker, each on a fresh database:
 * - `process`: in a process of its own (this file, forked with `worker`), as deployed beside an
 *   API: it learns of new work from the store's watch (SQLite: `PRAGMA data_version` polled
 *   every `watchIntervalMs`, 10 ms by default; PostgreSQL: LISTEN/NOTIFY) or its 1 s poll;
 * - `inprocess-tx`: in the ingesting process, the events written in the application's
 *   transaction (`{ tx }`): resthooks cannot see that commit, so the worker is not woken at once;
 * - `inprocess`: in the ingesting process, `modelEvent()` without `tx` (resthooks' own
 *   transaction), which wakes the process's workers as soon as it commits.
 *
 * Knobs: BENCH_LATENCY_SECONDS (measured, per store and mode, default 10), BENCH_LATENCY_WARMUP
 * (seconds, not measured, default 3), BENCH_LATENCY_RATE (events/s, default 100),
 * BENCH_LATENCY_SUBSCRIPTIONS (deliveries per event, default 1), BENCH_CONCURRENCY (the
 * worker's, default 50), BENCH_LATENCY_WATCH_MS (SQLite's `watchIntervalMs`, default 10, the store's),
 * BENCH_LATENCY_STORES (`sqlite,postgres`), BENCH_LATENCY_MODES
 * (`process,inprocess-tx,inprocess`). Also printed: the events/s actually written, how long the
 * application's transactions took, the ingesting process's event-loop delay (node:sqlite is
 * synchronous: a commit's fsync blocks the loop; in-process, the worker shares that loop) and
 * the attempts' own `durationMs` (sign, send, read the answer), the rest of the latency being
 * the wake-up and the claim. PostgreSQL is a throwaway cluster (bench/cluster.ts) with
 * fsync on; SQLite runs with synchronous=FULL in WAL mode. Runs where PostgreSQL is not
 * installed skip it.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { sql } from 'kysely'
import { createHooks, type Hooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { type Cluster, onExit, tryStartCluster } from './cluster.ts'
import { forkChild, type IpcChild, machineLine, positiveInt, printTable } from './common.ts'
import { type ReportRow, report } from './report.ts'

/** Wall-clock time in ms with sub-ms resolution, comparable between processes. */
const wall = (): number => performance.timeOrigin + performance.now()

// ---------------------------------------------------------------------------------------------

type Kind = 'sqlite' | 'postgres'
type Mode = 'process' | 'inprocess-tx' | 'inprocess'

interface Result {
  kind: Kind
  mode: Mode
  events: number
  samples: number[]
  missing: number
  /** Events per second actually written. */
  rate: number
  /** How long the application's transactions took (begin to commit), sorted. */
  commits: number[]
  /** The attempts' durationMs (whole ms), sorted. */
  durations: number[]
  /** The ingesting process's event-loop delay while measuring, ms. */
  loopDelayP99: number
  loopDelayMax: number
}

function openStore(kind: Kind, location: string) {
  return kind === 'sqlite'
    ? sqliteStore({ path: location, watchIntervalMs: WATCH_MS })
    : postgresStore(location)
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))

/** The receiver's clock minus this one's, from the exchange with the shortest round trip. */
async function clockOffset(receiver: IpcChild): Promise<{ offset: number; rtt: number }> {
  let best = { offset: 0, rtt: Number.POSITIVE_INFINITY }
  for (let i = 0; i < 20; i++) {
    const reply = receiver.next('clock')
    const sent = wall()
    receiver.send({ type: 'clock' })
    const at = Number((await reply).at)
    const back = wall()
    if (back - sent < best.rtt) best = { offset: at - (sent + back) / 2, rtt: back - sent }
  }
  return best
}

async function run(
  kind: Kind,
  mode: Mode,
  location: string,
  receiver: IpcChild,
  url: string,
  offset: number,
): Promise<Result> {
  const hooks: Hooks = createHooks({
    store: openStore(kind, location),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  let child: IpcChild | undefined
  try {
    await hooks.migrate()
    await sql`create table bench_books (id integer primary key, title text not null, owner_id text not null)`.execute(
      hooks.store.db,
    )
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${url}/${s}` })
    }
    let durations: number[] = []
    hooks.on('delivery.succeeded', (event) => durations.push(event.durationMs))
    const worker = hooks.worker({ concurrency: CONCURRENCY, perTargetConcurrency: CONCURRENCY })
    if (mode === 'process') {
      child = forkChild('./latency.ts', ['worker', kind, location])
      await child.next('ready')
    } else {
      await worker.start()
    }

    // One event every 1/RATE s, on a fixed schedule (an event that falls behind is sent at once).
    const committedAt = new Map<number, number>()
    const interval = 1000 / RATE
    const total = Math.round((WARMUP + SECONDS) * RATE)
    const measuredFrom = Math.round(WARMUP * RATE)
    const started = performance.now()
    const commits: number[] = []
    const loopDelay = monitorEventLoopDelay({ resolution: 1 })
    for (let i = 0; i < total; i++) {
      if (i === measuredFrom) loopDelay.enable()
      const wait = started + i * interval - performance.now()
      if (wait > 0) await sleep(wait)
      const begun = performance.now()
      const row = { id: i + 1, title: `Book ${i + 1}`, ownerId: 'u1' }
      if (mode === 'inprocess') {
        await hooks.modelEvent('Book', 'created', row)
      } else {
        await hooks.store.db.transaction().execute(async (trx) => {
          await sql`insert into bench_books (id, title, owner_id) values (${row.id}, ${row.title}, ${row.ownerId})`.execute(
            trx,
          )
          await hooks.modelEvent('Book', 'created', row, { tx: trx })
        })
      }
      // The clock starts once the transaction has committed.
      if (i >= measuredFrom) committedAt.set(row.id, wall())
      commits.push(performance.now() - begun)
    }
    loopDelay.disable()
    const rate = total / ((performance.now() - started) / 1000)
    commits.sort((a, b) => a - b)

    // Wait (up to 10 s) for the last deliveries, then collect what arrived.
    const expected = total * SUBSCRIPTIONS
    let arrivals: [number, number][] = []
    const deadline = Date.now() + 10_000
    for (;;) {
      const reply = receiver.next('arrivals')
      receiver.send({ type: 'take' })
      arrivals = arrivals.concat((await reply).arrivals as [number, number][])
      if (arrivals.length >= expected || Date.now() > deadline) break
      await sleep(100)
    }
    if (child) {
      const reply = child.next('durations')
      child.send({ type: 'durations' })
      durations = (await reply).durations as number[]
    }
    // The attempts' own time (signing, the request, its answer), in whole ms, warm-up included.
    durations.sort((a, b) => a - b)
    const samples: number[] = []
    for (const [id, at] of arrivals) {
      const committed = committedAt.get(id)
      if (committed !== undefined) samples.push(at - offset - committed)
    }
    samples.sort((a, b) => a - b)
    return {
      kind,
      mode,
      events: committedAt.size,
      samples,
      missing: committedAt.size * SUBSCRIPTIONS - samples.length,
      rate,
      commits,
      durations,
      loopDelayP99: loopDelay.percentile(99) / 1e6,
      loopDelayMax: loopDelay.max / 1e6,
    }
  } finally {
    if (child) {
      child.send({ type: 'stop' })
      await child.exited()
    }
    await hooks.close()
  }
}

const SECONDS = positiveInt('BENCH_LATENCY_SECONDS', 10)
const WARMUP = positiveInt('BENCH_LATENCY_WARMUP', 3)
const RATE = positiveInt('BENCH_LATENCY_RATE', 100)
const SUBSCRIPTIONS = positiveInt('BENCH_LATENCY_SUBSCRIPTIONS', 1)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 50)
const WATCH_MS = positiveInt('BENCH_LATENCY_WATCH_MS', 10)
const STORES = (process.env.BENCH_LATENCY_STORES || 'sqlite,postgres').split(',') as Kind[]
const MODES = (process.env.BENCH_LATENCY_MODES || 'process,inprocess-tx,inprocess').split(
  ',',
) as Mode[]

const TARGETS: Record<Kind, { p50: number; p99: number }> = {
  sqlite: { p50: 10, p99: 50 },
  postgres: { p50: 20, p99: 100 },
}
const STORE_NAMES: Record<Kind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
const MODE_NAMES: Record<Mode, string> = {
  process: 'worker in own process',
  'inprocess-tx': 'worker in-process, app tx',
  inprocess: 'worker in-process, own tx',
}

async function main(): Promise<void> {
  for (const kind of STORES) {
    if (kind !== 'sqlite' && kind !== 'postgres') {
      throw new Error(`BENCH_LATENCY_STORES: unknown store '${kind}'`)
    }
  }
  for (const mode of MODES) {
    if (!(mode in MODE_NAMES)) throw new Error(`BENCH_LATENCY_MODES: unknown mode '${mode}'`)
  }
  console.log(machineLine())
  console.log(
    `workload: ${RATE} events/s × ${SUBSCRIPTIONS} subscription${SUBSCRIPTIONS === 1 ? '' : 's'} per event, ${WARMUP} s warm-up + ${SECONDS} s measured per store and mode, worker concurrency ${CONCURRENCY}; latency = receipt - commit of the app transaction`,
  )

  const receiver = forkChild('./latency.ts', ['receiver'])
  const url = String((await receiver.next('listening')).url)
  const { offset, rtt } = await clockOffset(receiver)
  console.log(
    `receiver in its own process; clock offset ${offset.toFixed(3)} ms (IPC round trip ${rtt.toFixed(3)} ms), taken off`,
  )
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-latency-'))
  onExit(() => rmSync(dir, { recursive: true, force: true }))
  const results: Result[] = []
  let cluster: Cluster | undefined
  try {
    for (const kind of STORES) {
      if (kind === 'postgres') {
        const started = await tryStartCluster()
        if (typeof started === 'string') {
          console.log(`PostgreSQL: skipped, ${started}`)
          continue
        }
        cluster = started
        console.log(`PostgreSQL ${cluster.version}: ${cluster.settings}`)
      } else {
        console.log(`SQLite: synchronous=FULL, WAL, in ${tmpdir()}`)
      }
      for (const [m, mode] of MODES.entries()) {
        const location =
          kind === 'sqlite'
            ? join(dir, `latency-${m}.db`)
            : await (cluster as Cluster).createDatabase(`latency_${m}`)
        const result = await run(kind, mode, location, receiver, url, offset)
        results.push(result)
        const s = result.samples
        console.log(
          `  ${STORE_NAMES[kind]}, ${MODE_NAMES[mode]}: p50 ${percentile(s, 50).toFixed(1)} ms, p99 ${percentile(s, 99).toFixed(1)} ms (${s.length} deliveries)`,
        )
      }
      await cluster?.stop()
      cluster = undefined
    }
  } finally {
    await cluster?.stop()
    receiver.send({ type: 'close' })
    await receiver.exited()
    rmSync(dir, { recursive: true, force: true })
  }

  console.log('')
  printTable([
    [
      'store',
      'worker',
      'events/s',
      'app commit p50/p99 ms',
      'loop delay p99/max ms',
      'attempt p50/p99 ms',
      'deliveries',
      'p50 ms',
      'p90 ms',
      'p99 ms',
      'max ms',
      'missing',
    ],
    ...results.map((r) => [
      STORE_NAMES[r.kind],
      MODE_NAMES[r.mode],
      r.rate.toFixed(0),
      `${percentile(r.commits, 50).toFixed(1)} / ${percentile(r.commits, 99).toFixed(1)}`,
      `${r.loopDelayP99.toFixed(1)} / ${r.loopDelayMax.toFixed(1)}`,
      `${percentile(r.durations, 50)} / ${percentile(r.durations, 99)}`,
      String(r.samples.length),
      percentile(r.samples, 50).toFixed(1),
      percentile(r.samples, 90).toFixed(1),
      percentile(r.samples, 99).toFixed(1),
      (r.samples.at(-1) ?? Number.NaN).toFixed(1),
      String(r.missing),
    ]),
  ])
  console.log('')
  const rows: ReportRow[] = []
  for (const r of results) {
    const target = TARGETS[r.kind]
    for (const p of [50, 99] as const) {
      const value = percentile(r.samples, p)
      const limit = p === 50 ? target.p50 : target.p99
      rows.push({
        bench: 'latency',
        measure: `${STORE_NAMES[r.kind]}, ${MODE_NAMES[r.mode]}, p${p}`,
        value: `${value.toFixed(1)} ms`,
        target: `< ${limit} ms`,
        met: value < limit && r.missing === 0,
      })
    }
  }
  report(rows)
}

// ---------------------------------------------------------------------------------------------
// The worker process: `node bench/latency.ts worker <sqlite|postgres> <file|url>`

async function workerProcess(kind: Kind, location: string): Promise<void> {
  const hooks = createHooks({ store: openStore(kind, location), allowTargets: ['127.0.0.0/8'] })
  hooks.on('error', (error) => console.error(`latency worker: ${error.message}`))
  const durations: number[] = []
  hooks.on('delivery.succeeded', (event) => durations.push(event.durationMs))
  const worker = hooks.worker({ concurrency: CONCURRENCY, perTargetConcurrency: CONCURRENCY })
  await worker.start()
  process.send?.({ type: 'ready' })
  process.on('message', async (message: { type: string }) => {
    if (message.type === 'durations') process.send?.({ type: 'durations', durations })
    if (message.type !== 'stop') return
    await worker.stop()
    await hooks.close()
    process.exit(0)
  })
  process.on('disconnect', () => process.exit(0))
}

// ---------------------------------------------------------------------------------------------
// The receiver process: `node bench/latency.ts receiver`

function receiverProcess(): void {
  let arrivals: [number, number][] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const at = wall()
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { id: number } }
      arrivals.push([body.data.id, at])
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2' }).end('ok')
    })
  })
  server.keepAliveTimeout = 60_000
  process.on('message', (message: { type: string }) => {
    if (message.type === 'clock') process.send?.({ type: 'clock', at: wall() })
    if (message.type === 'take') {
      process.send?.({ type: 'arrivals', arrivals })
      arrivals = []
    }
    if (message.type === 'close') {
      server.closeAllConnections()
      server.close(() => process.exit(0))
    }
  })
  process.on('disconnect', () => process.exit(0))
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo
    process.send?.({ type: 'listening', url: `http://127.0.0.1:${port}/hooks` })
  })
}

if (process.argv[2] === 'receiver') receiverProcess()
else if (process.argv[2] === 'worker')
  await workerProcess(process.argv[3] as Kind, process.argv[4] ?? '')
else await main()
