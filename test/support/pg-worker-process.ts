/**
 * A delivery worker in a process of its own over PostgreSQL, for the scale-out and restart tests:
 *
 *   node test/support/pg-worker-process.ts <url> <lease ms> <concurrency> <poll interval ms>
 *
 * It opens the database, runs `hooks.worker()` and tells its parent (over IPC):
 *
 *   { type: 'started', pid }              once the worker runs
 *   { type: 'progress', succeeded }       every 100 ms while the count changes
 *   { type: 'error', message }            for every error the worker reports
 *   { type: 'stopped', succeeded }        after `{ type: 'stop' }`: the worker stopped and the
 *                                         store closed; then it exits 0
 *
 * The parent may also SIGKILL it at any moment.
 */

import { createHooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { bookEvents } from './bookstore.ts'

const [url, lease, concurrency, poll] = process.argv.slice(2)
if (!url || !lease || !concurrency || !poll) {
  console.error('usage: pg-worker-process.ts <url> <lease ms> <concurrency> <poll interval ms>')
  process.exit(2)
}

const send = (message: Record<string, unknown>, then?: () => void): void => {
  if (process.send) process.send(message, undefined, {}, () => then?.())
  else then?.()
}

const hooks = createHooks({
  store: postgresStore({ connectionString: url, maxConnections: 4 }),
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
  leaseMs: Number(lease),
  concurrency: Number(concurrency),
  pollIntervalMs: Number(poll),
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
        console.error('pg-worker-process: stop failed:', error)
        process.exit(1)
      },
    )
})

await worker.start()
send({ type: 'started', pid: process.pid })
