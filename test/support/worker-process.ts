/**
 * A delivery worker in a process of its own, for the crash test:
 *
 *   node test/support/worker-process.ts <db path> <lease ms> [concurrency] [poll interval ms]
 *
 * It opens the SQLite file, runs `hooks.worker()` and tells its parent (over IPC, when there is
 * a channel) `{ type: 'started' }` once the worker runs, and `{ type: 'delivered', ... }` for
 * every delivery that succeeds. On `{ type: 'stop' }` it stops the worker, closes the store and
 * exits 0. The parent may also SIGKILL it at any moment: that is what the crash test does.
 */

import { createHooks } from '../../src/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { bookEvents } from './bookstore.ts'

const [path, lease, concurrencyArg, pollArg] = process.argv.slice(2)
if (!path || !lease) {
  console.error('usage: worker-process.ts <db path> <lease ms> [concurrency] [poll interval ms]')
  process.exit(2)
}

const send = (message: Record<string, unknown>): void => {
  process.send?.(message)
}

const hooks = createHooks({
  store: sqliteStore({ path }),
  events: { ...bookEvents },
  allowTargets: ['127.0.0.0/8'],
})
hooks.on('delivery.succeeded', ({ deliveryId, eventId, subscriptionId }) => {
  send({ type: 'delivered', deliveryId, eventId, subscriptionId, at: Date.now() })
})
hooks.on('error', (error) => {
  console.error('worker-process:', error)
})

const worker = hooks.worker({
  leaseMs: Number(lease),
  concurrency: Number(concurrencyArg ?? 10),
  pollIntervalMs: Number(pollArg ?? 1000),
})

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop') return
  worker
    .stop()
    .then(() => hooks.close())
    .then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('worker-process: stop failed:', error)
        process.exit(1)
      },
    )
})

await worker.start()
send({ type: 'started', pid: process.pid, at: Date.now() })
