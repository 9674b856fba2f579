/**
 * A delivery worker process of the PostgreSQL benchmark (bench/postgres.ts), one of:
 *
 *   node bench/pg-worker.ts resthooks <database url> <concurrency>
 *   node bench/pg-worker.ts pg-boss <database url> <localConcurrency> <batchSize>
 *   node bench/pg-worker.ts bare <database url> <concurrency>
 *
 * `resthooks` runs `hooks.worker({ concurrency })` on a postgresStore. `pg-boss` runs pg-boss
 * workers on the benchmark's queue (`work()` with `localConcurrency` fetch loops of `batchSize`
 * jobs each, so up to localConcurrency × batchSize requests in flight) whose handler POSTs each
 * job's body to its URL with undici, all of a batch at once; pg-boss completes the batch when
 * the handler resolves. `bare` runs the least a durable queue does (bench/bare-queue.ts).
 *
 * Talks to its parent over IPC:
 * - sends `{ type: 'ready' }` once connected;
 * - on `{ type: 'start' }` starts working and sends `{ type: 'started' }`;
 * - on `{ type: 'stop' }` stops (finishing what it holds) and sends
 *   `{ type: 'stopped', succeeded, failed }` (counted since the previous start);
 * - on `{ type: 'close' }` closes its connections and exits;
 * - sends `{ type: 'problem', message }` for errors and failed deliveries.
 */

import pg from 'pg'
import { PgBoss } from 'pg-boss'
import { Agent, request } from 'undici'
import { createHooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { bareWorker, postgresBareQueue } from './bare-queue.ts'
import { PGBOSS_QUEUE } from './common.ts'

interface Runner {
  start(): Promise<void>
  stop(): Promise<void>
  close(): Promise<void>
}

let succeeded = 0
let failed = 0
let problems = 0

const send = (message: Record<string, unknown>): void => {
  process.send?.(message)
}

function problem(message: string): void {
  // Enough to say what went wrong, not a flood.
  if (++problems <= 5) send({ type: 'problem', message })
}

async function resthooksRunner(url: string, concurrency: number): Promise<Runner> {
  const hooks = createHooks({
    // BENCH_PG_PREPARED=0 (passed on by bench/postgres.ts): every statement unnamed, for an A/B.
    store: postgresStore({
      connectionString: url,
      preparedStatements: process.env.BENCH_PG_PREPARED !== '0',
    }),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  await hooks.migrate()
  hooks.on('delivery.succeeded', () => {
    succeeded++
  })
  hooks.on('delivery.failed', ({ error }) => {
    failed++
    problem(`delivery failed: ${error}`)
  })
  hooks.on('error', (error) => problem(`resthooks error: ${error.message}`))
  let worker: ReturnType<typeof hooks.worker> | undefined
  return {
    async start() {
      // Every delivery goes to the one local receiver: the per-origin limit would cap it at 10.
      worker = hooks.worker({ concurrency, perTargetConcurrency: concurrency })
      await worker.start()
    },
    async stop() {
      await worker?.stop()
    },
    close: () => hooks.close(),
  }
}

interface DeliveryJob {
  url: string
  body: string
}

async function pgBossRunner(
  url: string,
  localConcurrency: number,
  batchSize: number,
): Promise<Runner> {
  // Maintenance and cron off (the parent's instance installs the schema): only the workers. The
  // pool has room for every fetch loop at once (pg-boss' default is 10 connections).
  const boss = new PgBoss({
    connectionString: url,
    max: Math.max(10, localConcurrency + 2),
    supervise: false,
    schedule: false,
    migrate: false,
    useListenNotify: true,
  })
  boss.on('error', (error: Error) => problem(`pg-boss error: ${error.message}`))
  await boss.start()
  const agent = new Agent()
  const headers = { 'content-type': 'application/json', 'user-agent': 'bench/pg-boss' }

  // A failure fails the job's batch (pg-boss retries it): the handler throws.
  async function post(job: { data: DeliveryJob }): Promise<void> {
    try {
      const response = await request(job.data.url, {
        method: 'POST',
        headers,
        body: job.data.body,
        dispatcher: agent,
      })
      await response.body.text()
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw new Error(`HTTP ${response.statusCode}`)
      }
    } catch (error) {
      failed++
      problem(`delivery failed: ${(error as Error).message}`)
      throw error
    }
    succeeded++
  }

  return {
    async start() {
      await boss.work<DeliveryJob>(
        PGBOSS_QUEUE,
        {
          batchSize,
          localConcurrency,
          // Keep fetching while fetches come back full; the shortest idle poll otherwise.
          burstWhenBatchFull: true,
          pollingIntervalSeconds: 0.5,
          notifyPollingIntervalSeconds: 0.5,
        },
        async (jobs) => {
          await Promise.all(jobs.map(post))
        },
      )
    },
    async stop() {
      await boss.offWork(PGBOSS_QUEUE, { wait: true })
    },
    async close() {
      await boss.stop({ graceful: true, close: true })
      await agent.close()
    },
  }
}

async function bareRunner(url: string, concurrency: number): Promise<Runner> {
  // Its bookkeeping commits without waiting for the WAL flush, as resthooks' worker's does; a
  // claim and a recording may run at once.
  const pool = new pg.Pool({
    connectionString: url,
    max: 3,
    options: '-c synchronous_commit=off',
  })
  pool.on('error', (error) => problem(`bare queue: ${error.message}`))
  await pool.query('SELECT 1')
  const worker = bareWorker(postgresBareQueue(pool), concurrency, (error) =>
    problem(`bare queue: ${error.message}`),
  )
  return {
    async start() {
      worker.start()
    },
    async stop() {
      await worker.stop()
      succeeded = worker.succeeded
      failed = worker.failed
    },
    async close() {
      await worker.close()
      await pool.end()
    },
  }
}

async function main(): Promise<void> {
  const [kind, url, ...numbers] = process.argv.slice(2)
  const [first, second] = numbers.map(Number)
  const valid = (n: number | undefined): n is number => Number.isInteger(n) && (n ?? 0) > 0
  let runner: Runner
  if (kind === 'resthooks' && url && valid(first)) runner = await resthooksRunner(url, first)
  else if (kind === 'bare' && url && valid(first)) runner = await bareRunner(url, first)
  else if (kind === 'pg-boss' && url && valid(first) && valid(second)) {
    runner = await pgBossRunner(url, first, second)
  } else {
    throw new Error(
      'usage: pg-worker.ts resthooks|bare <database url> <concurrency> | pg-boss <database url> <localConcurrency> <batchSize>',
    )
  }

  let queue = Promise.resolve()
  process.on('message', (message: { type?: string }) => {
    // One command at a time, in order.
    queue = queue
      .then(async () => {
        switch (message?.type) {
          case 'start':
            succeeded = 0
            failed = 0
            await runner.start()
            send({ type: 'started' })
            return
          case 'stop':
            await runner.stop()
            send({ type: 'stopped', succeeded, failed })
            return
          case 'close':
            await runner.close()
            process.exit(0)
        }
      })
      .catch((error: unknown) => {
        send({ type: 'problem', message: `worker: ${(error as Error)?.stack ?? error}` })
        process.exit(1)
      })
  })
  // The parent is gone (killed, or interrupted): leave at once.
  process.on('disconnect', () => process.exit(0))
  send({ type: 'ready' })
}

await main()
