/**
 * A delivery worker in a process of its own, on SQLite or PostgreSQL, for the reliability,
 * scale-out and restart tests:
 *
 *   node test/support/worker-child.ts '<json options>'
 *
 * The options: `{ kind: 'sqlite' | 'postgres', location, leaseMs, concurrency, pollIntervalMs,
 * perTargetConcurrency? }` (location: the SQLite file or the PostgreSQL URL). It runs
 * `hooks.worker()` and tells its parent (over IPC):
 *
 *   { type: 'started', pid }              once the worker runs
 *   { type: 'progress', succeeded }       every 100 ms while the count changes
 *   { type: 'error', message }            for every error the worker reports
 *   { type: 'stopped', succeeded }        after `{ type: 'stop' }`; then it exits 0
 *
 * The parent may also SIGKILL it at any moment.
 */

import { createHooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { bookEvents } from './bookstore.ts'

/** What the parent passes, as JSON in the first argument. */
export interface WorkerChildOptions {
  kind: 'sqlite' | 'postgres'
  location: string
  leaseMs: number
  concurrency: number
  pollIntervalMs: number
  perTargetConcurrency?: number
}

const raw = process.argv[2]
if (!raw) {
  console.error("usage: worker-child.ts '<json options>'")
  process.exit(2)
}
const options = JSON.parse(raw) as WorkerChildOptions

const send = (message: Record<string, unknown>, then?: () => void): void => {
  if (process.send) process.send(message, undefined, {}, () => then?.())
  else then?.()
}

const hooks = createHooks({
  store:
    options.kind === 'postgres'
      ? postgresStore({ connectionString: options.location, maxConnections: 4 })
      : sqliteStore({ path: options.location }),
  events: { ...bookEvents },
  allowTargets: ['127.0.0.0/8'],
})
let succeeded = 0
hooks.on('delivery.succeeded', () => {
  succeeded++
})
hooks.on('error', (error) => {
  send({ type: 'error', message: error.message })
})

const worker = hooks.worker({
  leaseMs: options.leaseMs,
  concurrency: options.concurrency,
  pollIntervalMs: options.pollIntervalMs,
  ...(options.perTargetConcurrency ? { perTargetConcurrency: options.perTargetConcurrency } : {}),
})

let reported = 0
const progress = setInterval(() => {
  if (succeeded === reported) return
  reported = succeeded
  send({ type: 'progress', succeeded })
}, 100)

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop') return
  clearInterval(progress)
  worker
    .stop()
    .then(() => hooks.close())
    .then(
      () => send({ type: 'stopped', succeeded }, () => process.exit(0)),
      (error: unknown) => {
        console.error('worker-child: stop failed:', error)
        process.exit(1)
      },
    )
})

await worker.start()
send({ type: 'started', pid: process.pid })
