/**
 * Memory (issue 9, item 6): the worker's RSS while it delivers 100,000 deliveries, on SQLite and
 * on PostgreSQL. Target: under 200 MB at its peak, and flat after warm-up (growth from 10 % done
 * to the end ≤ 10 % or ≤ 15 MB).
 *
 *   node bench/memory.ts
 *   BENCH_MEMORY_EVENTS=4000 BENCH_MEMORY_STORES=postgres node bench/memory.ts
 *   BENCH_MEMORY_SNAPSHOTS=1 node bench/memory.ts          # heap snapshots, compared by type
 *   BENCH_MEMORY_NODE_FLAGS='--max-semi-space-size=1' node bench/memory.ts
 *   node bench/memory.ts summarize <a.heapsnapshot> [<b.heapsnapshot>]
 *
 * The deliveries are written first (BENCH_MEMORY_EVENTS events × BENCH_MEMORY_SUBSCRIPTIONS
 * matching subscriptions, default 20,000 × 5, through `modelEvent()` in transactions of
 * BENCH_MEMORY_BATCH events, 4 at a time); then a worker (concurrency BENCH_CONCURRENCY,
 * default 50, as many per origin) delivers them to a receiver process (bench/receiver.ts). The
 * worker is, by default, the command users run: `resthooks worker` from the built package (the
 * bench runs `npm run build` first); this process reads its VmRSS from /proc every 500 ms and
 * its progress from the store. With BENCH_MEMORY_WORKER=source it is bench/memory-worker.ts,
 * run from the TypeScript sources (Node's type stripping adds about 27 MB), which also reports
 * V8's heap spaces over IPC; heap snapshots need it. Warm-up ends at 10 % delivered.
 *
 * Each store runs once, with node's default flags: the command tunes its own heap
 * (src/cli/worker-heap.ts), and so does bench/memory-worker.ts. BENCH_MEMORY_NODE_FLAGS gives
 * the worker node flags (space-separated) instead; a heap flag among them turns the matching
 * tuning off, e.g. `--max-semi-space-size=64 --heap-growing-percent=0` for V8's own sizing.
 *
 * Knobs: BENCH_MEMORY_EVENTS, BENCH_MEMORY_SUBSCRIPTIONS, BENCH_MEMORY_BATCH (default 200),
 * BENCH_CONCURRENCY, BENCH_MEMORY_STORES (`sqlite,postgres`), BENCH_MEMORY_NODE_FLAGS,
 * BENCH_MEMORY_WORKER (`cli` or `source`; `source` when snapshots are asked for),
 * BENCH_MEMORY_SNAPSHOTS=1 (run the worker with --expose-gc and write a heap snapshot after a
 * full GC at 10 % and at the end, then print the types that grew; slows the run). PostgreSQL is
 * a throwaway cluster (bench/cluster.ts) with fsync on; SQLite runs with synchronous=FULL in WAL
 * mode. Runs where PostgreSQL is not installed skip it. Takes about 2 minutes with the
 * defaults on 2 cores.
 */

import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createHooks, type Hooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { type Cluster, onExit, tryStartCluster } from './cluster.ts'
import {
  book,
  forkChild,
  type IpcMessage,
  machineLine,
  positiveInt,
  printTable,
  type Receiver,
  startReceiverProcess,
} from './common.ts'
import { type ReportRow, report } from './report.ts'

type Kind = 'sqlite' | 'postgres'
const STORE_NAMES: Record<Kind, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' }
const MB = 2 ** 20
const mb = (bytes: number) => (bytes / MB).toFixed(1)

// ---------------------------------------------------------------------------------------------
// Heap snapshots, summed by constructor

interface TypeTotal {
  count: number
  bytes: number
}

/** A snapshot's objects by constructor (objects) or by `(type)` (strings, code, …). */
export function summarizeSnapshot(path: string): Map<string, TypeTotal> {
  const snapshot = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
    nodes: number[]
    strings: string[]
  }
  const { node_fields: fields, node_types: types } = snapshot.snapshot.meta
  const width = fields.length
  const typeAt = fields.indexOf('type')
  const nameAt = fields.indexOf('name')
  const sizeAt = fields.indexOf('self_size')
  const typeNames = types[0]
  const totals = new Map<string, TypeTotal>()
  const { nodes, strings } = snapshot
  for (let i = 0; i < nodes.length; i += width) {
    const type = typeNames[nodes[i + typeAt] ?? 0] ?? '?'
    const name = strings[nodes[i + nameAt] ?? 0] ?? '?'
    const key =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${name}${type === 'object' ? '' : ` (${type})`}`
        : `(${type})`
    const total = totals.get(key) ?? { count: 0, bytes: 0 }
    total.count++
    total.bytes += nodes[i + sizeAt] ?? 0
    totals.set(key, total)
  }
  return totals
}

/** Prints the types of `b` that grew most since `a` (or the largest of `a` alone). */
export function printSnapshotComparison(a: string, b?: string, top = 15): void {
  const before = summarizeSnapshot(a)
  const after = b ? summarizeSnapshot(b) : new Map<string, TypeTotal>()
  const sum = (m: Map<string, TypeTotal>) => [...m.values()].reduce((s, t) => s + t.bytes, 0)
  if (!b) {
    console.log(`heap snapshot ${a}: ${mb(sum(before))} MB in objects`)
    const rows = [...before].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, top)
    printTable([
      ['type', 'count', 'self MB'],
      ...rows.map(([name, t]) => [name.slice(0, 60), String(t.count), mb(t.bytes)]),
    ])
    return
  }
  console.log(`heap objects: ${mb(sum(before))} MB at warm-up → ${mb(sum(after))} MB at the end`)
  const names = new Set([...before.keys(), ...after.keys()])
  const rows = [...names]
    .map((name) => {
      const x = before.get(name) ?? { count: 0, bytes: 0 }
      const y = after.get(name) ?? { count: 0, bytes: 0 }
      return { name, x, y, grew: y.bytes - x.bytes }
    })
    .sort((p, q) => Math.abs(q.grew) - Math.abs(p.grew))
    .slice(0, top)
  printTable([
    ['type', 'count warm-up', 'count end', 'MB warm-up', 'MB end', 'Δ MB'],
    ...rows.map((r) => [
      r.name.slice(0, 60),
      String(r.x.count),
      String(r.y.count),
      mb(r.x.bytes),
      mb(r.y.bytes),
      (r.grew >= 0 ? '+' : '') + mb(r.grew),
    ]),
  ])
}

// ---------------------------------------------------------------------------------------------
// The run

const EVENTS = positiveInt('BENCH_MEMORY_EVENTS', 20_000)
const SUBSCRIPTIONS = positiveInt('BENCH_MEMORY_SUBSCRIPTIONS', 5)
const BATCH = positiveInt('BENCH_MEMORY_BATCH', 200)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 50)
const STORES = (process.env.BENCH_MEMORY_STORES || 'sqlite,postgres').split(',') as Kind[]
const SNAPSHOTS = process.env.BENCH_MEMORY_SNAPSHOTS === '1'
/** The worker's node flags: none (as users run the command), or as given. */
const NODE_FLAGS = (process.env.BENCH_MEMORY_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean)
const WORKER = process.env.BENCH_MEMORY_WORKER ?? (SNAPSHOTS ? 'source' : 'cli')
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url))
const DELIVERIES = EVENTS * SUBSCRIPTIONS
const SAMPLE_MS = 500

interface Sample {
  seconds: number
  delivered: number
  /** VmRSS read from /proc, and its anonymous and file-backed parts. */
  rss: number
  anon: number
  file: number
  /** V8's heap spaces, committed bytes, as the worker last reported them. */
  spaces: Record<string, number>
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
}

interface Result {
  kind: Kind
  samples: Sample[]
  seconds: number
  /** VmHWM: the most the RSS ever was. */
  hwm: number
  snapshots: string[]
}

function procStatus(pid: number): { rss: number; hwm: number; anon: number; file: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const field = (name: string) =>
    Number(new RegExp(`${name}:\\s+(\\d+) kB`).exec(status)?.[1] ?? Number.NaN) * 1024
  return {
    rss: field('VmRSS'),
    hwm: field('VmHWM'),
    anon: field('RssAnon'),
    file: field('RssFile'),
  }
}

/** Writes `EVENTS` events through modelEvent, `BATCH` a transaction, 4 transactions at a time. */
async function prewrite(hooks: Hooks): Promise<void> {
  let next = 0
  async function lane(): Promise<void> {
    for (;;) {
      const from = next
      next += BATCH
      if (from >= EVENTS) return
      const to = Math.min(EVENTS, from + BATCH)
      await hooks.store.db.transaction().execute(async (trx) => {
        for (let i = from; i < to; i++) {
          await hooks.modelEvent('Book', 'created', book(i), { tx: trx })
        }
      })
    }
  }
  await Promise.all(Array.from({ length: 4 }, lane))
}

async function run(kind: Kind, location: string, receiver: Receiver, dir: string) {
  const hooks = createHooks({
    store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    await hooks.migrate()
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${s}` })
    }
    const writing = performance.now()
    await prewrite(hooks)
    const pending = await hooks.countDeliveries({ status: 'pending' })
    console.log(
      `  ${STORE_NAMES[kind]}: ${pending} deliveries pending, written in ${((performance.now() - writing) / 1000).toFixed(1)} s`,
    )
    if (pending !== DELIVERIES) throw new Error(`expected ${DELIVERIES} pending deliveries`)
  } finally {
    await hooks.close()
  }

  if (WORKER === 'cli') return runCli(kind, location, receiver)
  const { reached } = await receiver.expect(DELIVERIES)
  const execArgv = [...NODE_FLAGS, ...(SNAPSHOTS ? ['--expose-gc'] : [])]
  const worker = forkChild('./memory-worker.ts', [kind, location, String(CONCURRENCY)], execArgv)
  const pid = worker.child.pid ?? 0
  const samples: Sample[] = []
  const snapshots: string[] = []
  let last: IpcMessage = { type: 'sample', delivered: 0 }
  worker.child.on('message', (message: IpcMessage) => {
    if (message.type === 'sample') last = message
  })
  await worker.next('ready')
  const started = performance.now()
  let done = false
  void reached.then(() => {
    done = true
  })
  let snapshotAt = SNAPSHOTS ? DELIVERIES / 10 : Number.POSITIVE_INFINITY
  let hwm = 0
  let seconds = 0
  try {
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))
      const status = procStatus(pid)
      hwm = status.hwm
      const delivered = Number(last.delivered ?? 0)
      samples.push({
        seconds: (performance.now() - started) / 1000,
        delivered,
        rss: status.rss,
        anon: status.anon,
        file: status.file,
        spaces: (last.spaces ?? {}) as Record<string, number>,
        heapUsed: Number(last.heapUsed ?? 0),
        heapTotal: Number(last.heapTotal ?? 0),
        external: Number(last.external ?? 0),
        arrayBuffers: Number(last.arrayBuffers ?? 0),
      })
      if (delivered >= snapshotAt || (SNAPSHOTS && done && delivered >= DELIVERIES)) {
        const path = join(dir, `${kind}-${snapshots.length === 0 ? 'warmup' : 'end'}.heapsnapshot`)
        const answer = worker.next('snapshot')
        worker.send({ type: 'snapshot', path })
        const after = await answer
        console.log(
          `  heap snapshot at ${after.delivered} delivered, after a full GC: rss ${mb(Number(after.rss))} MB, heapUsed ${mb(Number(after.heapUsed))} MB, heapTotal ${mb(Number(after.heapTotal))} MB, external ${mb(Number(after.external))} MB, arrayBuffers ${mb(Number(after.arrayBuffers))} MB`,
        )
        snapshots.push(path)
        snapshotAt = snapshots.length === 1 ? Number.POSITIVE_INFINITY : snapshotAt
        if (snapshots.length === 2) {
          seconds = (performance.now() - started) / 1000
          break
        }
        continue
      }
      if (done && delivered >= DELIVERIES) break
    }
    seconds = (performance.now() - started) / 1000
  } finally {
    worker.send({ type: 'stop' })
    await worker.exited()
  }
  return { kind, samples, seconds, hwm, snapshots } satisfies Result
}

/**
 * The same run with the command users run as a dedicated worker, `resthooks worker` from the
 * built package (`npm run build` first): RSS from /proc, progress from the store (the deliveries
 * still pending), no V8 figures (the command has no IPC).
 */
async function runCli(kind: Kind, location: string, receiver: Receiver): Promise<Result> {
  const { reached } = await receiver.expect(DELIVERIES)
  const storeArgs = kind === 'sqlite' ? ['--db', location] : ['--database-url', location]
  // Every delivery goes to the one local receiver: the per-origin limit would cap the run at 10.
  const limits = [
    '--concurrency',
    String(CONCURRENCY),
    '--per-target-concurrency',
    String(CONCURRENCY),
  ]
  const child = spawn(
    process.execPath,
    [
      ...NODE_FLAGS,
      CLI,
      'worker',
      ...storeArgs,
      '--allow-targets',
      '127.0.0.0/8',
      ...limits,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, DATABASE_URL: '' } },
  )
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
  const hooks = createHooks({
    store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
  })
  const samples: Sample[] = []
  let hwm = 0
  let started = performance.now()
  try {
    // The command prints its JSON result once its worker runs.
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve())
      void exited.then(() => reject(new Error('resthooks worker exited')))
    })
    started = performance.now()
    let done = false
    void reached.then(() => {
      done = true
    })
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS))
      const status = procStatus(child.pid ?? 0)
      hwm = status.hwm
      const pending = await hooks.countDeliveries({ status: 'pending' })
      samples.push({
        seconds: (performance.now() - started) / 1000,
        delivered: DELIVERIES - pending,
        rss: status.rss,
        anon: status.anon,
        file: status.file,
        spaces: {},
        heapUsed: 0,
        heapTotal: 0,
        external: 0,
        arrayBuffers: 0,
      })
      if (done && pending === 0) break
    }
  } finally {
    child.kill('SIGTERM')
    await exited
    await hooks.close()
  }
  const seconds = (performance.now() - started) / 1000
  return { kind, samples, seconds, hwm, snapshots: [] }
}

function atFraction(samples: readonly Sample[], fraction: number): Sample | undefined {
  return samples.find((s) => s.delivered >= fraction * DELIVERIES) ?? samples.at(-1)
}

function label(r: Result): string {
  return `${STORE_NAMES[r.kind]}${NODE_FLAGS.length > 0 ? ` (${NODE_FLAGS.join(' ')})` : ''}`
}

function printResult(r: Result): ReportRow[] {
  const { samples } = r
  console.log(
    `\n${label(r)}: ${DELIVERIES} deliveries in ${r.seconds.toFixed(1)} s (${Math.round(DELIVERIES / r.seconds)} deliveries/s), ${samples.length} samples`,
  )
  const rows: string[][] = [
    [
      'done',
      'delivered',
      's',
      'RSS MB',
      'anon MB',
      'file MB',
      'heapUsed MB',
      'heapTotal MB',
      'new MB',
      'old MB',
      'external MB',
      'arrayBuf MB',
    ],
  ]
  for (let tenth = 0; tenth <= 10; tenth++) {
    const s = tenth === 10 ? samples.at(-1) : atFraction(samples, tenth / 10)
    if (!s) continue
    rows.push([
      `${tenth * 10}%`,
      String(s.delivered),
      s.seconds.toFixed(1),
      mb(s.rss),
      mb(s.anon),
      mb(s.file),
      mb(s.heapUsed),
      mb(s.heapTotal),
      mb(s.spaces.new ?? 0),
      mb(s.spaces.old ?? 0),
      mb(s.external),
      mb(s.arrayBuffers),
    ])
  }
  printTable(rows)
  const warm = atFraction(samples, 0.1)
  const end = samples.at(-1)
  const peak = Math.max(r.hwm, ...samples.map((s) => s.rss))
  const after = samples.filter((s) => s.delivered >= 0.1 * DELIVERIES)
  const peakAfter = Math.max(...after.map((s) => s.rss))
  const growth = (end?.rss ?? 0) - (warm?.rss ?? 0)
  const growthShare = growth / (warm?.rss ?? 1)
  const flat = growth <= 15 * MB || growthShare <= 0.1
  console.log(
    `RSS: ${mb(warm?.rss ?? 0)} MB at warm-up (10 %), peak ${mb(peak)} MB (VmHWM; ${mb(peakAfter)} MB after warm-up), ${mb(end?.rss ?? 0)} MB at the end: growth ${growth >= 0 ? '+' : ''}${mb(growth)} MB (${(growthShare * 100).toFixed(1)} %)`,
  )
  if (warm && end) {
    const names = [...new Set([...Object.keys(warm.spaces), ...Object.keys(end.spaces)])]
    const show = (s: Sample) =>
      names
        .filter((n) => (s.spaces[n] ?? 0) >= MB / 2)
        .map((n) => `${n} ${mb(s.spaces[n] ?? 0)}`)
        .join(', ')
    console.log(`V8 spaces (committed MB) at warm-up: ${show(warm)}`)
    console.log(`V8 spaces (committed MB) at the end: ${show(end)}`)
  }
  return [
    {
      bench: 'memory',
      measure: `${label(r)}, worker peak RSS`,
      value: `${mb(peak)} MB`,
      target: '< 200 MB',
      met: peak < 200 * MB,
    },
    {
      bench: 'memory',
      measure: `${label(r)}, worker RSS growth after warm-up`,
      value: `${growth >= 0 ? '+' : ''}${mb(growth)} MB (${(growthShare * 100).toFixed(1)} %)`,
      target: '≤ 10 % or ≤ 15 MB',
      met: flat,
    },
  ]
}

async function main(): Promise<void> {
  for (const kind of STORES) {
    if (kind !== 'sqlite' && kind !== 'postgres') {
      throw new Error(`BENCH_MEMORY_STORES: unknown store '${kind}'`)
    }
  }
  console.log(machineLine())
  console.log(
    `workload: ${EVENTS} events × ${SUBSCRIPTIONS} subscriptions = ${DELIVERIES} deliveries written first, then delivered by ${WORKER === 'cli' ? '`resthooks worker` (dist/cli/main.js)' : 'bench/memory-worker.ts'} (concurrency ${CONCURRENCY}${SNAPSHOTS ? ', --expose-gc' : ''}) to a receiver process; RSS sampled every ${SAMPLE_MS} ms`,
  )
  if (WORKER === 'cli') {
    // The command from the built package, as users run it: build it from these sources first.
    execFileSync('npm', ['run', 'build', '--silent'], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      stdio: 'inherit',
    })
  } else if (WORKER !== 'source') {
    throw new Error(`BENCH_MEMORY_WORKER: 'cli' or 'source', not '${WORKER}'`)
  }
  const receiver = await startReceiverProcess()
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-memory-'))
  onExit(() => rmSync(dir, { recursive: true, force: true }))
  const rows: ReportRow[] = []
  let cluster: Cluster | undefined
  try {
    for (const kind of STORES) {
      if (kind === 'postgres') {
        const started = await tryStartCluster()
        if (typeof started === 'string') {
          console.log(`\nPostgreSQL: skipped, ${started}`)
          continue
        }
        cluster = started
        console.log(`PostgreSQL ${cluster.version}: ${cluster.settings}`)
      } else {
        console.log(`SQLite: synchronous=FULL, WAL, in ${tmpdir()}`)
      }
      const location =
        kind === 'postgres' && cluster
          ? await cluster.createDatabase('memory')
          : join(dir, 'memory.db')
      const result = await run(kind, location, receiver, dir)
      rows.push(...printResult(result))
      if (result.snapshots.length > 0) {
        printSnapshotComparison(result.snapshots[0] ?? '', result.snapshots[1])
      }
      await cluster?.stop()
      cluster = undefined
    }
  } finally {
    await cluster?.stop()
    await receiver.close()
    rmSync(dir, { recursive: true, force: true })
  }
  console.log('')
  report(rows)
}

if (process.argv[2] === 'summarize') {
  printSnapshotComparison(process.argv[3] ?? '', process.argv[4], 25)
} else {
  await main()
}
