/**
 * The soak run (issue 8): steady ingest at a fixed rate for several minutes, on SQLite and on
 * PostgreSQL, printing each minute the throughput, the latency from the committed event to its
 * receipt (p50, p99), the queue depth (deliveries pending) and the worker process's RSS. Memory
 * should stay flat after the first minute.
 *
 *   node bench/soak.ts
 *   BENCH_SOAK_MINUTES=10 BENCH_SOAK_RATE=200 node bench/soak.ts
 *
 * Knobs: BENCH_SOAK_MINUTES (per store, default 3), BENCH_SOAK_RATE (events per second, default
 * 100), BENCH_SOAK_SUBSCRIPTIONS (each event's deliveries, default 5), BENCH_CONCURRENCY (the
 * worker's, default 50), BENCH_SOAK_STORES (`sqlite,postgres`). The ingest (one transaction per
 * event) and the receiver run in this process; the worker runs in its own (bench/soak-worker.ts).
 * PostgreSQL is a throwaway cluster of scripts/postgres.sh with fsync on; SQLite runs with
 * synchronous=FULL in WAL mode.
 */

import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHooks, type Hooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { startCluster } from './cluster.ts'
import { fmt, forkChild, positiveInt, printTable } from './common.ts'

const MINUTES = positiveInt('BENCH_SOAK_MINUTES', 3)
const RATE = positiveInt('BENCH_SOAK_RATE', 100)
const SUBSCRIPTIONS = positiveInt('BENCH_SOAK_SUBSCRIPTIONS', 5)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 50)
const STORES = (process.env.BENCH_SOAK_STORES || 'sqlite,postgres').split(',')

/** Receives webhooks; each records its latency from the event's `sentAt` (set at commit). */
async function startLatencyReceiver() {
  let latencies: number[] = []
  let received = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const arrived = Date.now()
      const sentAt = (
        JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { sentAt: number } }
      ).data.sentAt
      latencies.push(arrived - sentAt)
      received++
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
  })
  server.keepAliveTimeout = 30_000
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`,
    get received() {
      return received
    },
    /** The latencies since the previous call. */
    take(): number[] {
      const taken = latencies
      latencies = []
      return taken
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN
}

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN) * 1024
}

async function soak(kind: 'sqlite' | 'postgres', location: string): Promise<void> {
  const hooks: Hooks = createHooks({
    store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  await hooks.migrate()
  const receiver = await startLatencyReceiver()
  for (let i = 0; i < SUBSCRIPTIONS; i++) {
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${i}` })
  }
  const worker = forkChild('./soak-worker.ts', [kind, location, String(CONCURRENCY)])
  await worker.next('ready')
  const pid = worker.child.pid ?? 0

  const started = Date.now()
  const until = started + MINUTES * 60_000
  let dispatched = 0
  let failed = 0
  const ingest = (async () => {
    while (Date.now() < until) {
      const due = Math.floor(((Date.now() - started) / 1000) * RATE)
      while (dispatched < due) {
        dispatched++
        try {
          await hooks.modelEvent('Book', 'created', {
            id: dispatched,
            ownerId: 'u1',
            sentAt: Date.now(),
          })
        } catch (error) {
          failed++
          console.error(`ingest: ${(error as Error).message}`)
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
  })()

  const rows: string[][] = [
    ['minute', 'events/s', 'deliveries/s', 'p50 ms', 'p99 ms', 'pending', 'worker RSS MB'],
  ]
  let lastReceived = 0
  for (let minute = 1; minute <= MINUTES; minute++) {
    await new Promise((resolve) => setTimeout(resolve, started + minute * 60_000 - Date.now()))
    const latencies = receiver.take().sort((a, b) => a - b)
    const received = receiver.received
    const pending = await hooks.countDeliveries({ status: 'pending' })
    rows.push([
      String(minute),
      fmt(dispatched / ((Date.now() - started) / 1000)),
      fmt((received - lastReceived) / 60),
      String(percentile(latencies, 50)),
      String(percentile(latencies, 99)),
      String(pending),
      (rssOf(pid) / 2 ** 20).toFixed(1),
    ])
    lastReceived = received
  }
  await ingest
  worker.send({ type: 'stop' })
  await worker.exited()
  await receiver.close()
  await hooks.close()
  console.log(`\n${kind}: ${dispatched} events (${failed} failed) × ${SUBSCRIPTIONS} subscriptions`)
  printTable(rows)
}

console.log(
  `soak: ${RATE} events/s × ${SUBSCRIPTIONS} subscriptions for ${MINUTES} min per store, worker concurrency ${CONCURRENCY}, node ${process.version}`,
)
for (const kind of STORES) {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-soak-'))
  try {
    if (kind === 'sqlite') {
      await soak('sqlite', join(dir, 'soak.db'))
    } else if (kind === 'postgres') {
      const cluster = await startCluster()
      try {
        await soak('postgres', cluster.url)
      } finally {
        await cluster.stop()
      }
    } else {
      throw new Error(`BENCH_SOAK_STORES: unknown store '${kind}'`)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}
