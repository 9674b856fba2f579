/**
 * Delivery throughput on PostgreSQL: N model events × M matching subscriptions to a local
 * receiver that answers 200 at once, delivered by resthooks with 1 and with W worker processes,
 * and by pg-boss with W worker processes, beside a raw undici baseline sending the same bodies
 * to the same receiver at the same total concurrency, all in one run.
 *
 *   node bench/postgres.ts
 *   BENCH_EVENTS=2000 BENCH_SUBSCRIPTIONS=5 BENCH_CONCURRENCY=48 node bench/postgres.ts
 *
 * Knobs (environment):
 * - BENCH_EVENTS, BENCH_SUBSCRIPTIONS: the workload of a round (deliveries = events ×
 *   subscriptions);
 * - BENCH_ROUNDS: timed rounds per measure (default 3); the table shows the median round, and
 *   the median of the rounds' ratios to their own baseline round;
 * - BENCH_CONCURRENCY: requests in flight in all (default 48), split evenly over the worker
 *   processes;
 * - BENCH_WORKERS: worker processes of the multi-process runs (default 4);
 * - BENCH_PGBOSS_BATCH: jobs per pg-boss fetch (default 4); each pg-boss process runs
 *   ceil(its concurrency / batch) fetch loops (`localConcurrency`);
 * - BENCH_DISPATCH_CONNECTIONS: application transactions in parallel while dispatching;
 * - BENCH_PG_PREPARED=0: the workers send every statement unnamed (postgresStore's
 *   `preparedStatements: false`), to compare with the prepared claim and recording;
 * - BENCH_PG_DURABLE=0: keep scripts/postgres.sh's test settings (fsync off) instead of
 *   PostgreSQL's defaults;
 * - BENCH_PG_SOCKET=unix: the workers, pg-boss and the application reach PostgreSQL over its
 *   Unix socket instead of TCP on 127.0.0.1 (on loopback TCP the sender's CPU also pays for the
 *   receiving side's network stack);
 * - BENCH_CPU_PROF_DIR: run the worker processes with --cpu-prof, profiles in that directory;
 * - BENCH_PG_STATEMENTS=1: load pg_stat_statements and print, after each timed run, its
 *   transactions and the statements that took the most time;
 * - BENCH_BARE=0: leave out the bare queue (below).
 *
 * Besides resthooks and pg-boss it measures, with 1 and W processes, the least a durable queue
 * does (bench/bare-queue.ts: a table of deliveries claimed with a lease, `FOR UPDATE SKIP
 * LOCKED`, POSTed with undici, no signing, no attempt rows): a ceiling for any sender that keeps
 * its deliveries in PostgreSQL on this machine, not a competitor.
 *
 * It starts a PostgreSQL cluster of its own (scripts/postgres.sh, in a temporary directory, on
 * a free port), a database per measured system, the receiver (bench/receiver.ts) and the worker
 * processes (bench/pg-worker.ts), and removes them all when done, failed or interrupted.
 *
 * Each system gets a database, its worker processes and a warm-up round. Each timed round
 * dispatches its events first, as an application would (its own row and the event in one
 * transaction), while the workers are stopped; then VACUUM ANALYZE and CHECKPOINT; then the
 * clock starts, the workers start, and the clock stops when the receiver has answered every
 * delivery and none is left pending in the database (the last success recorded). Right before
 * each timed round (after the settling, while the workers wait), a round of the raw baseline
 * runs, and that round's ratio is taken against it: the machine drifts during a run (a baseline
 * measured only at the start once came out at 10,590–24,055 requests/s over its three rounds),
 * so a ratio is only as good as the distance between its two measures. CPU time is
 * read from /proc for each party, and for everything else on the machine ("other"), so that a
 * round disturbed by another workload shows. Not a test: it prints a table.
 */

import { readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pg from 'pg'
import { PgBoss, type Db as PgBossDb } from 'pg-boss'
import { createHooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { BARE_POSTGRES_SCHEMA, enqueueOnPostgres } from './bare-queue.ts'
import { type Cluster, onExit, runCleanups, startCluster } from './cluster.ts'
import {
  book,
  envelope,
  fmt,
  forkChild,
  type IpcChild,
  machineLine,
  medianOf,
  PGBOSS_QUEUE,
  positiveInt,
  printTable,
  type Receiver,
  rawBaseline,
  startReceiverProcess,
} from './common.ts'
import { report } from './report.ts'

const EVENTS = positiveInt('BENCH_EVENTS', 2000)
const SUBSCRIPTIONS = positiveInt('BENCH_SUBSCRIPTIONS', 5)
const CONCURRENCY = positiveInt('BENCH_CONCURRENCY', 48)
const WORKERS = positiveInt('BENCH_WORKERS', 4)
const PGBOSS_BATCH = positiveInt('BENCH_PGBOSS_BATCH', 4)
const ROUNDS = positiveInt('BENCH_ROUNDS', 3)
const DISPATCH_CONNECTIONS = positiveInt('BENCH_DISPATCH_CONNECTIONS', 8)
const DURABLE = process.env.BENCH_PG_DURABLE !== '0'
const CPU_PROF_DIR = process.env.BENCH_CPU_PROF_DIR || undefined
const SOCKET = process.env.BENCH_PG_SOCKET === 'unix' ? 'unix' : 'tcp'
const STATEMENTS = process.env.BENCH_PG_STATEMENTS === '1'
const BARE = process.env.BENCH_BARE !== '0'
const DELIVERIES = EVENTS * SUBSCRIPTIONS
const WARMUP_EVENTS = Math.max(1, Math.min(200, Math.floor(EVENTS / 10)))
const WARMUP_REQUESTS = WARMUP_EVENTS * SUBSCRIPTIONS
/** A run that has not finished in this long has failed. */
const RUN_TIMEOUT_MS = 10 * 60 * 1000

const EVENT_MAP = { 'book.added': 'Book.created' }

function killOnExit(ipc: IpcChild): void {
  onExit(() => {
    if (ipc.child.exitCode === null && ipc.child.signalCode === null) ipc.child.kill('SIGKILL')
  })
}

// ---------------------------------------------------------------------------------------------
// Worker processes

interface WorkerSet {
  /** Starts every worker; resolves when they have all started. */
  start(): Promise<void>
  /** Stops every worker; resolves with how many deliveries each made since its start. */
  stop(): Promise<number[]>
  close(): Promise<void>
  /** The deliveries that failed since the workers last started. */
  readonly failed: number
  readonly pids: readonly number[]
}

async function spawnWorkers(
  processes: number,
  argsOf: (index: number) => string[],
): Promise<WorkerSet> {
  const execArgv = CPU_PROF_DIR ? ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`] : []
  const ipcs = Array.from({ length: processes }, (_, i) => {
    const ipc = forkChild('./pg-worker.ts', argsOf(i), execArgv)
    killOnExit(ipc)
    ipc.child.on('message', (message: { type?: string; message?: string }) => {
      if (message?.type === 'problem') console.error(`worker ${i + 1}: ${message.message}`)
    })
    return ipc
  })
  await Promise.all(ipcs.map((ipc) => ipc.next('ready')))
  let failed = 0
  return {
    get failed() {
      return failed
    },
    pids: ipcs.flatMap((ipc) => (ipc.child.pid === undefined ? [] : [ipc.child.pid])),
    async start() {
      failed = 0
      const started = ipcs.map((ipc) => ipc.next('started'))
      for (const ipc of ipcs) ipc.send({ type: 'start' })
      await Promise.all(started)
    },
    async stop() {
      const stopped = ipcs.map((ipc) => ipc.next('stopped'))
      for (const ipc of ipcs) ipc.send({ type: 'stop' })
      const totals = await Promise.all(stopped)
      failed = totals.reduce((sum, total) => sum + Number(total.failed ?? 0), 0)
      return totals.map((total) => Number(total.succeeded ?? 0))
    },
    async close() {
      await Promise.all(
        ipcs.map(async (ipc) => {
          const exited = ipc.exited()
          if (ipc.child.connected) ipc.send({ type: 'close' })
          await exited
        }),
      )
    },
  }
}

/** `total` split into `parts` as evenly as can be: 50 in 4 is 13, 13, 12, 12. */
function split(total: number, parts: number): number[] {
  return Array.from(
    { length: parts },
    (_, i) => Math.floor(total / parts) + (i < total % parts ? 1 : 0),
  )
}

/** CPU time spent during a run, in seconds, by who spent it. */
interface CpuSpent {
  /** The worker processes (or, for the raw baseline, the sending process). */
  workers: number
  postgres: number
  receiver: number
  /**
   * Everything else: other processes (this one included), interrupts, and time the hypervisor
   * gave to other machines (steal). High when something else disturbed the round.
   */
  other: number
}

/**
 * Starts the workers on `count` dispatched deliveries and resolves, in seconds, when the
 * receiver has answered them all and `pending()` says none is left; then stops the workers.
 */
async function deliverAll(
  cluster: Cluster,
  workers: WorkerSet,
  receiver: Receiver,
  count: number,
  pending: () => Promise<number>,
): Promise<{ seconds: number; perWorker: number[]; cpu: CpuSpent }> {
  const { reached } = await receiver.expect(count)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the deliveries did not finish in ${RUN_TIMEOUT_MS / 1000} s`)),
      RUN_TIMEOUT_MS,
    )
  })
  const cpuNow = (): CpuSpent => ({
    workers: workers.pids.reduce((sum, pid) => sum + processCpu(pid), 0),
    postgres: postgresCpu(cluster.dir),
    receiver: receiver.pid === undefined ? 0 : processCpu(receiver.pid),
    other: machineCpu(),
  })
  try {
    const cpuBefore = cpuNow()
    const started = performance.now()
    await Promise.race([
      (async () => {
        await workers.start()
        await reached
        while ((await pending()) > 0) await new Promise((resolve) => setTimeout(resolve, 2))
      })(),
      timeout,
    ])
    const seconds = (performance.now() - started) / 1000
    const cpu = cpuSpent(cpuBefore, cpuNow())
    const perWorker = await workers.stop()
    if (workers.failed > 0) throw new Error(`${workers.failed} deliveries failed`)
    return { seconds, perWorker, cpu }
  } finally {
    clearTimeout(timer)
  }
}

// CPU accounting from /proc (Linux): user + system time, in clock ticks of 1/100 s.
const TICKS_PER_SECOND = 100

/** What was spent between two readings; `other` is the machine's total less the parties'. */
function cpuSpent(before: CpuSpent, after: CpuSpent): CpuSpent {
  const workers = after.workers - before.workers
  const postgres = after.postgres - before.postgres
  const receiver = after.receiver - before.receiver
  const machine = after.other - before.other
  return {
    workers,
    postgres,
    receiver,
    other: Math.max(0, machine - workers - postgres - receiver),
  }
}

/**
 * CPU seconds every CPU of the machine has been busy (user, nice, system, irq, softirq), plus
 * those the hypervisor gave to someone else (steal).
 */
function machineCpu(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
    const [, user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number)
    const ticks = [user, nice, system, irq, softirq, steal].reduce<number>(
      (sum, value) => sum + (value ?? 0),
      0,
    )
    return ticks / TICKS_PER_SECOND
  } catch {
    return 0
  }
}

/** A process's fields after its name in /proc/<pid>/stat (field 3 onwards), or undefined. */
function procStat(pid: number | string): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return text.slice(text.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** CPU seconds a process has used (all its threads). */
function processCpu(pid: number): number {
  const fields = procStat(pid)
  if (!fields) return 0
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND
}

/**
 * CPU seconds the cluster has used: the postmaster's own and its exited children's, plus
 * every live child's (backends, WAL writer, checkpointer…).
 */
function postgresCpu(dir: string): number {
  let postmaster: number
  try {
    postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0])
  } catch {
    return 0
  }
  const own = procStat(postmaster)
  if (!own) return 0
  let ticks = Number(own[11]) + Number(own[12]) + Number(own[13]) + Number(own[14])
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const fields = procStat(entry)
    if (fields && Number(fields[1]) === postmaster) ticks += Number(fields[11]) + Number(fields[12])
  }
  return ticks / TICKS_PER_SECOND
}

/**
 * Runs `count` application transactions, `DISPATCH_CONNECTIONS` at a time, each calling
 * `write(client, i)` between BEGIN and COMMIT; resolves with the seconds taken.
 */
async function dispatch(
  pool: pg.Pool,
  from: number,
  count: number,
  write: (client: pg.PoolClient, i: number) => Promise<void>,
): Promise<number> {
  let next = from
  const started = performance.now()
  async function lane(): Promise<void> {
    const client = await pool.connect()
    try {
      for (;;) {
        const i = next++
        if (i >= from + count) return
        await client.query('BEGIN')
        try {
          await write(client, i)
          await client.query('COMMIT')
        } catch (error) {
          await client.query('ROLLBACK')
          throw error
        }
      }
    } finally {
      client.release()
    }
  }
  await Promise.all(Array.from({ length: DISPATCH_CONNECTIONS }, lane))
  return (performance.now() - started) / 1000
}

/**
 * With BENCH_PG_STATEMENTS=1: resets pg_stat_statements; the function returned prints what the
 * database did since, in this database: transactions, and the statements that took longest.
 */
async function watchStatements(pool: pg.Pool, label: string): Promise<() => Promise<void>> {
  if (!STATEMENTS) return async () => {}
  await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements')
  const commits = async () => {
    const { rows } = await pool.query<{ n: string }>(
      'SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()',
    )
    return Number(rows[0]?.n ?? 0)
  }
  // Backends report their statistics at most once a second.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  const before = await commits()
  await pool.query('SELECT pg_stat_statements_reset()')
  return async () => {
    await new Promise((resolve) => setTimeout(resolve, 1100))
    const transactions = (await commits()) - before
    const { rows } = await pool.query<{
      calls: string
      total: number
      mean: number
      rows: string
      query: string
    }>(
      `SELECT calls, total_exec_time AS total, mean_exec_time AS mean, rows, query
         FROM pg_stat_statements
        WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
        ORDER BY total_exec_time DESC LIMIT 12`,
    )
    console.log(
      `\n${label}: ${transactions} transactions committed (${(transactions / DELIVERIES).toFixed(2)} per delivery)`,
    )
    printTable([
      ['calls', 'total ms', 'mean ms', 'rows', 'statement'],
      ...rows.map((row) => [
        row.calls,
        row.total.toFixed(0),
        row.mean.toFixed(3),
        row.rows,
        row.query.replace(/\s+/g, ' ').slice(0, 110),
      ]),
    ])
    console.log('')
  }
}

/** The same starting point for every timed run: a checkpoint done, statistics fresh. */
async function settle(pool: pg.Pool): Promise<void> {
  await pool.query('VACUUM ANALYZE')
  await pool.query('CHECKPOINT')
}

function insertBook(client: pg.PoolClient, row: ReturnType<typeof book>) {
  return client.query('INSERT INTO bench_books (id, title, owner_id) VALUES ($1, $2, $3)', [
    row.id,
    row.title,
    row.ownerId,
  ])
}

const BOOKS_TABLE =
  'CREATE TABLE bench_books (id integer PRIMARY KEY, title text NOT NULL, owner_id text NOT NULL)'

interface RunResult {
  seconds: number
  dispatchSeconds: number
  perWorker: number[]
  cpu: CpuSpent
  /** The raw baseline's round run right before this one (none for the baseline itself). */
  baseline?: RunResult
}

/** A system under measure, set up with its database, worker processes and dispatch. */
interface System {
  label: string
  /** The application's own pool: its transactions carry the events. */
  app: pg.Pool
  workers: WorkerSet
  /** The application's transaction for book `i`: its row, and the event. */
  write(client: pg.PoolClient, i: number): Promise<void>
  /** Deliveries not yet recorded as done. */
  pending(): Promise<number>
  /** Deliveries recorded as succeeded, in all. */
  succeeded(): Promise<number>
  close(): Promise<void>
}

/** A warm-up round, then ROUNDS timed rounds of EVENTS events each. */
async function measure(cluster: Cluster, receiver: Receiver, system: System): Promise<RunResult[]> {
  const { app, workers, write, pending } = system
  await dispatch(app, 0, WARMUP_EVENTS, write)
  await deliverAll(cluster, workers, receiver, WARMUP_REQUESTS, pending)
  const rounds: RunResult[] = []
  for (let round = 0; round < ROUNDS; round++) {
    const dispatchSeconds = await dispatch(app, WARMUP_EVENTS + round * EVENTS, EVENTS, write)
    await settle(app)
    const baseline = await rawRound(cluster, receiver)
    const report = await watchStatements(app, `${system.label}, round ${round + 1}`)
    const run = await deliverAll(cluster, workers, receiver, DELIVERIES, pending)
    await report()
    rounds.push({ ...run, dispatchSeconds, baseline })
  }
  const succeeded = await system.succeeded()
  if (succeeded !== WARMUP_REQUESTS + ROUNDS * DELIVERIES) {
    throw new Error(`${system.label}: ${succeeded} deliveries succeeded in all`)
  }
  return rounds
}

/** Sets up `open()`'s system, measures it, and closes it. */
async function measureSystem(
  cluster: Cluster,
  receiver: Receiver,
  open: () => Promise<System>,
): Promise<RunResult[]> {
  const system = await open()
  try {
    return await measure(cluster, receiver, system)
  } finally {
    await system.close()
  }
}

/** A database of the system's own, and the application's pool on it. */
async function systemDatabase(
  cluster: Cluster,
  name: string,
): Promise<{ url: string; app: pg.Pool }> {
  await cluster.admin.query(`CREATE DATABASE ${name}`)
  const url = cluster.urlOf(name)
  const app = new pg.Pool({ connectionString: url, max: DISPATCH_CONNECTIONS })
  app.on('error', () => {})
  return { url, app }
}

// ---------------------------------------------------------------------------------------------
// resthooks

async function resthooksSystem(
  cluster: Cluster,
  receiver: Receiver,
  processes: number,
): Promise<System> {
  const { url, app } = await systemDatabase(cluster, `bench_resthooks_${processes}`)
  const hooks = createHooks({
    store: postgresStore({ connectionString: url }),
    events: EVENT_MAP,
    allowTargets: ['127.0.0.0/8'],
  })
  let workers: WorkerSet | undefined
  const close = async () => {
    await workers?.close()
    await hooks.close()
    await app.end()
  }
  try {
    await hooks.migrate()
    await app.query(BOOKS_TABLE)
    for (let s = 0; s < SUBSCRIPTIONS; s++) {
      await hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/hooks/${s}`,
      })
    }
    const concurrencies = split(CONCURRENCY, processes)
    workers = await spawnWorkers(processes, (i) => [
      'resthooks',
      url,
      String(concurrencies[i] ?? 1),
    ])
  } catch (error) {
    await close()
    throw error
  }
  return {
    label: `resthooks PG ×${processes}`,
    app,
    workers,
    async write(client, i) {
      const row = book(i)
      await insertBook(client, row)
      await hooks.modelEvent('Book', 'created', row, { tx: client })
    },
    pending: () => hooks.countDeliveries({ status: 'pending' }),
    succeeded: () => hooks.countDeliveries({ status: 'succeeded' }),
    close,
  }
}

// ---------------------------------------------------------------------------------------------
// pg-boss and the bare queue: the application's subscriptions in a table of its own

/** The application's subscriptions, as resthooks keeps them: found by event and owner. */
async function createSubscriptions(app: pg.Pool, receiver: Receiver): Promise<void> {
  await app.query(
    'CREATE TABLE bench_subscriptions (id text PRIMARY KEY, owner text NOT NULL, event text NOT NULL, target text NOT NULL)',
  )
  await app.query('CREATE INDEX bench_subscriptions_event ON bench_subscriptions (event, owner)')
  for (let s = 0; s < SUBSCRIPTIONS; s++) {
    await app.query('INSERT INTO bench_subscriptions VALUES ($1, $2, $3, $4)', [
      `hook_01JABCDEFGHJKMNPQRSTVWXYZ${s}`,
      'u1',
      'book.added',
      `${receiver.url}/hooks/${s}`,
    ])
  }
}

/** The subscriptions matching book `row`'s event, in the application's transaction. */
async function matching(client: pg.PoolClient, row: ReturnType<typeof book>) {
  const { rows } = await client.query<{ id: string; target: string }>(
    'SELECT id, target FROM bench_subscriptions WHERE event = $1 AND owner = $2',
    ['book.added', row.ownerId],
  )
  return rows
}

// ---------------------------------------------------------------------------------------------
// pg-boss

/** pg-boss' `db` option over the application's transaction client. */
function pgBossDb(client: pg.PoolClient): PgBossDb {
  return {
    executeSql: (text, values) => client.query(text, values as unknown[] | undefined),
  }
}

function pgBossLoops(concurrency: number): { localConcurrency: number; batchSize: number } {
  const batchSize = Math.min(PGBOSS_BATCH, concurrency)
  return { localConcurrency: Math.ceil(concurrency / batchSize), batchSize }
}

async function pgBossSystem(
  cluster: Cluster,
  receiver: Receiver,
  processes: number,
): Promise<System> {
  const { url, app } = await systemDatabase(cluster, `bench_pgboss_${processes}`)
  // The application's instance: installs the schema and creates the queue; sends jobs only.
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false })
  boss.on('error', (error: Error) => console.error(`pg-boss: ${error.message}`))
  let workers: WorkerSet | undefined
  const close = async () => {
    await workers?.close()
    await boss.stop({ graceful: false, close: true })
    await app.end()
  }
  try {
    await boss.start()
    await boss.createQueue(PGBOSS_QUEUE, { notify: true })
    await app.query(BOOKS_TABLE)
    await createSubscriptions(app, receiver)
    const concurrencies = split(CONCURRENCY, processes)
    workers = await spawnWorkers(processes, (i) => {
      const { localConcurrency, batchSize } = pgBossLoops(concurrencies[i] ?? 1)
      return ['pg-boss', url, String(localConcurrency), String(batchSize)]
    })
  } catch (error) {
    await close()
    throw error
  }
  const count = async (states: string) => {
    const { rows } = await app.query<{ n: string }>(
      `SELECT count(*) AS n FROM pgboss.job WHERE name = $1 AND state IN (${states})`,
      [PGBOSS_QUEUE],
    )
    return Number(rows[0]?.n ?? 0)
  }
  return {
    label: `pg-boss ×${processes}`,
    app,
    workers,
    async write(client, i) {
      const row = book(i)
      await insertBook(client, row)
      const jobs = (await matching(client, row)).map((subscription) => ({
        data: {
          url: subscription.target,
          body: JSON.stringify({
            type: 'book.added',
            timestamp: new Date().toISOString(),
            hook: { id: subscription.id, event: 'book.added', target: subscription.target },
            data: row,
          }),
        },
      }))
      // One job per delivery, in the application's transaction.
      await boss.insert(PGBOSS_QUEUE, jobs, { db: pgBossDb(client) })
    },
    pending: () => count(`'created', 'retry', 'active'`),
    succeeded: () => count(`'completed'`),
    close,
  }
}

// ---------------------------------------------------------------------------------------------
// The bare queue: the least a durable queue does

async function bareSystem(
  cluster: Cluster,
  receiver: Receiver,
  processes: number,
): Promise<System> {
  const { url, app } = await systemDatabase(cluster, `bench_bare_${processes}`)
  let workers: WorkerSet | undefined
  const close = async () => {
    await workers?.close()
    await app.end()
  }
  try {
    await app.query(BOOKS_TABLE)
    await createSubscriptions(app, receiver)
    await app.query(BARE_POSTGRES_SCHEMA)
    const concurrencies = split(CONCURRENCY, processes)
    workers = await spawnWorkers(processes, (i) => ['bare', url, String(concurrencies[i] ?? 1)])
  } catch (error) {
    await close()
    throw error
  }
  const count = async (status: number) => {
    const { rows } = await app.query<{ n: string }>(
      'SELECT count(*) AS n FROM bare_deliveries WHERE status = $1',
      [status],
    )
    return Number(rows[0]?.n ?? 0)
  }
  return {
    label: `bare queue ×${processes}`,
    app,
    workers,
    async write(client, i) {
      const row = book(i)
      await insertBook(client, row)
      const subscriptions = await matching(client, row)
      await enqueueOnPostgres(
        client,
        subscriptions.map((subscription, s) => ({
          url: subscription.target,
          body: envelope(i * subscriptions.length + s, subscription.target, subscriptions.length),
        })),
      )
    },
    pending: () => count(0),
    succeeded: () => count(1),
    close,
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const cluster = await startCluster({
    durable: DURABLE,
    statements: STATEMENTS,
    socket: SOCKET,
  })
  const receiver = await startReceiverProcess()
  onExit(() => receiver.kill())
  try {
    // raw baseline, after a warm-up
    {
      const { reached } = await receiver.expect(WARMUP_REQUESTS)
      await rawBaseline(receiver.url, WARMUP_REQUESTS, CONCURRENCY, SUBSCRIPTIONS)
      await reached
    }
    const one = await measureSystem(cluster, receiver, () => resthooksSystem(cluster, receiver, 1))
    const many = await measureSystem(cluster, receiver, () =>
      resthooksSystem(cluster, receiver, WORKERS),
    )
    const boss = await measureSystem(cluster, receiver, () =>
      pgBossSystem(cluster, receiver, WORKERS),
    )
    const bare = BARE
      ? {
          one: await measureSystem(cluster, receiver, () => bareSystem(cluster, receiver, 1)),
          many: await measureSystem(cluster, receiver, () =>
            bareSystem(cluster, receiver, WORKERS),
          ),
        }
      : undefined
    print(cluster, one, many, boss, bare)
  } finally {
    await receiver.close()
    await cluster.admin.end()
  }
}

/** A round of the raw baseline: this process sends. */
async function rawRound(cluster: Cluster, receiver: Receiver): Promise<RunResult> {
  const { reached } = await receiver.expect(DELIVERIES)
  const cpuNow = (): CpuSpent => {
    const own = process.cpuUsage()
    return {
      workers: (own.user + own.system) / 1e6,
      postgres: postgresCpu(cluster.dir),
      receiver: receiver.pid === undefined ? 0 : processCpu(receiver.pid),
      other: machineCpu(),
    }
  }
  const before = cpuNow()
  const seconds = await rawBaseline(receiver.url, DELIVERIES, CONCURRENCY, SUBSCRIPTIONS)
  await reached
  return { seconds, dispatchSeconds: 0, perWorker: [], cpu: cpuSpent(before, cpuNow()) }
}

const rate = (run: RunResult) => DELIVERIES / run.seconds

/** The round of median rate (the lower middle one of an even number). */
function median(rounds: readonly RunResult[]): RunResult {
  const sorted = [...rounds].sort((a, b) => rate(a) - rate(b))
  const middle = sorted[Math.floor((sorted.length - 1) / 2)]
  if (!middle) throw new Error('no rounds')
  return middle
}

/** The median of the rounds' ratios to the baseline round run right before each. */
function ofRaw(rounds: readonly RunResult[]): number {
  return medianOf(rounds.map((run) => (run.baseline ? rate(run) / rate(run.baseline) : Number.NaN)))
}

function print(
  cluster: Cluster,
  one: RunResult[],
  many: RunResult[],
  boss: RunResult[],
  bare: { one: RunResult[]; many: RunResult[] } | undefined,
): void {
  // Every baseline round of the run, one before each timed round of each system.
  const raw = [...one, ...many, ...boss, ...(bare ? [...bare.one, ...bare.many] : [])].flatMap(
    (run) => (run.baseline ? [run.baseline] : []),
  )
  const rawRate = rate(median(raw))
  const bossVersion = (
    JSON.parse(
      readFileSync(new URL('../node_modules/pg-boss/package.json', import.meta.url), 'utf8'),
    ) as { version: string }
  ).version
  const concurrencies = split(CONCURRENCY, WORKERS)
  const loops = concurrencies.map(pgBossLoops)
  console.log(machineLine())
  console.log(
    `postgresql: ${cluster.version}, ${cluster.settings}${DURABLE ? '' : ' (BENCH_PG_DURABLE=0: test settings)'}, data in ${tmpdir()}, ${cluster.transport}`,
  )
  console.log(
    `workload: ${EVENTS} events × ${SUBSCRIPTIONS} subscriptions = ${DELIVERIES} deliveries a round, ${ROUNDS} timed rounds after a warm-up, the median shown; ${CONCURRENCY} requests in flight in all (×${WORKERS}: ${concurrencies.join(' + ')} per process)`,
  )
  console.log(
    `vs raw: the median of the rounds' ratios, each to a round of the raw baseline run right before it (${raw.length} baseline rounds in all)`,
  )
  console.log(
    `pg-boss ${bossVersion}: a job per delivery, inserted in the event's transaction (insert with { db }); per process localConcurrency × batchSize = ${loops.map((l) => `${l.localConcurrency}×${l.batchSize}`).join(', ')}, burstWhenBatchFull, LISTEN/NOTIFY`,
  )
  console.log(
    'timing: events dispatched before the clock starts; clock from starting the workers to the last success recorded (none pending)',
  )
  console.log('')
  const row = (name: string, rounds: RunResult[]): string[] => {
    const run = median(rounds)
    const rates = rounds.map(rate)
    const { workers, postgres, receiver, other } = run.cpu
    return [
      name,
      `${run.seconds.toFixed(2)} s`,
      fmt(rate(run)),
      (run.baseline ? ofRaw(rounds) : 1).toFixed(2),
      `${fmt(Math.min(...rates))}–${fmt(Math.max(...rates))}`,
      [workers, postgres, receiver, other].map((s) => s.toFixed(1)).join(' / '),
      run.perWorker.length > 1 ? run.perWorker.join(' / ') : '',
    ]
  }
  printTable([
    [
      'measure',
      'time',
      'deliveries/s',
      'vs raw',
      'rounds (min–max)',
      'CPU s: senders / pg / receiver / other',
      'per process',
    ],
    row('raw undici', raw),
    row('resthooks PG ×1', one),
    row(`resthooks PG ×${WORKERS}`, many),
    row(`pg-boss ×${WORKERS}`, boss),
    ...(bare ? [row('bare queue ×1', bare.one), row(`bare queue ×${WORKERS}`, bare.many)] : []),
  ])
  console.log('')
  const manyRate = rate(median(many))
  console.log(`resthooks ×${WORKERS} / raw:     ${ofRaw(many).toFixed(2)} (target ≥ 0.80)`)
  console.log(
    `resthooks ×${WORKERS} / pg-boss: ${(manyRate / rate(median(boss))).toFixed(2)} (target ≥ 3)`,
  )
  const dispatchRate = (rounds: RunResult[]) => {
    const rates = rounds.map((run) => EVENTS / run.dispatchSeconds).sort((a, b) => a - b)
    return fmt(rates[Math.floor((rates.length - 1) / 2)] ?? 0)
  }
  console.log(
    `dispatch, ${DISPATCH_CONNECTIONS} application transactions at a time (not timed above): resthooks ${dispatchRate(many)} events/s, pg-boss ${dispatchRate(boss)} events/s`,
  )
  const bossRate = rate(median(boss))
  const againstRaw = (rounds: RunResult[], target: number, measure: string) => ({
    bench: 'throughput',
    measure,
    value: `${fmt(rate(median(rounds)))}/s = ${ofRaw(rounds).toFixed(2)} of raw`,
    target: `≥ ${target.toFixed(1)} of raw`,
    met: ofRaw(rounds) >= target,
  })
  report([
    {
      bench: 'throughput',
      measure: 'raw undici baseline (PostgreSQL run)',
      value: `${fmt(rawRate)} req/s`,
    },
    againstRaw(one, 0.5, 'PostgreSQL, 1 worker process'),
    againstRaw(many, 0.8, `PostgreSQL, ${WORKERS} worker processes`),
    {
      bench: 'throughput',
      measure: `PostgreSQL ×${WORKERS} vs pg-boss ×${WORKERS}`,
      value: `${(manyRate / bossRate).toFixed(2)}× (pg-boss ${fmt(bossRate)}/s)`,
      target: '≥ 3×',
      met: manyRate / bossRate >= 3,
    },
    ...(bare
      ? [
          {
            bench: 'throughput',
            measure: `PostgreSQL, the least a durable queue does (bare queue, a ceiling), ×1 / ×${WORKERS}`,
            value: `${fmt(rate(median(bare.one)))}/s = ${ofRaw(bare.one).toFixed(2)} / ${fmt(rate(median(bare.many)))}/s = ${ofRaw(bare.many).toFixed(2)} of raw`,
          },
        ]
      : []),
  ])
}

try {
  await main()
} catch (error) {
  console.error(error)
  process.exitCode = 1
} finally {
  runCleanups()
}
