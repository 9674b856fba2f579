/**
 * An application process that dispatches events over PostgreSQL, for the scale-out and restart
 * tests:
 *
 *   node test/support/pg-ingest-process.ts <url> <first book> <count> <concurrency> <pause ms>
 *
 * It calls `hooks.modelEvent('Book', 'created', book)` for books `first`, `first + 1`, … (owner
 * `u1`), `concurrency` calls at a time, each caller pausing `pause ms` between its calls. A count
 * of 0 means: until told `{ type: 'stop' }`. It tells its parent (over IPC):
 *
 *   { type: 'ready' }                           once it is set up; it starts on `{ type: 'go' }`
 *   { type: 'dispatched', book, id, deliveries } for every dispatch that resolved
 *   { type: 'failed', book, message }            for every dispatch that rejected
 *   { type: 'done', dispatched, failed }         at the end; then it closes the store and exits 0
 */

import { createHooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { bookEvents } from './bookstore.ts'

const [url, firstArg, countArg, concurrencyArg, pauseArg] = process.argv.slice(2)
if (!url || !firstArg || !countArg || !concurrencyArg || !pauseArg) {
  console.error('usage: pg-ingest-process.ts <url> <first book> <count> <concurrency> <pause ms>')
  process.exit(2)
}
const first = Number(firstArg)
const count = Number(countArg)
const concurrency = Number(concurrencyArg)
const pauseMs = Number(pauseArg)

const send = (message: Record<string, unknown>, then?: () => void): void => {
  if (process.send) process.send(message, undefined, {}, () => then?.())
  else then?.()
}

const hooks = createHooks({
  store: postgresStore({ connectionString: url, maxConnections: Math.max(2, concurrency) }),
  events: { ...bookEvents },
  allowTargets: ['127.0.0.0/8'],
})

let next = first
let stopping = false
let dispatched = 0
let failed = 0

/** The next book number to dispatch, or undefined when done. */
function take(): number | undefined {
  if (stopping || (count > 0 && next >= first + count)) return undefined
  return next++
}

async function caller(): Promise<void> {
  for (let book = take(); book !== undefined; book = take()) {
    try {
      const result = await hooks.modelEvent('Book', 'created', {
        id: book,
        title: `Book ${book}`,
        ownerId: 'u1',
      })
      if (!result) throw new Error('dispatch is off')
      dispatched++
      send({ type: 'dispatched', book, id: result.id, deliveries: result.deliveries })
    } catch (error) {
      failed++
      send({
        type: 'failed',
        book,
        message: error instanceof Error ? error.message : String(error),
      })
    }
    if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs))
  }
}

async function run(): Promise<void> {
  await Promise.all(Array.from({ length: concurrency }, caller))
  await hooks.close()
  send({ type: 'done', dispatched, failed }, () => process.exit(0))
}

process.on('message', (message: { type?: string }) => {
  if (message?.type === 'go') {
    run().catch((error: unknown) => {
      console.error('pg-ingest-process:', error)
      process.exit(1)
    })
  } else if (message?.type === 'stop') {
    stopping = true
  }
})

send({ type: 'ready' })
