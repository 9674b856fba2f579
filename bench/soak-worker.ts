/**
 * The delivery worker of the soak run (bench/soak.ts), in a process of its own so that its
 * memory can be watched alone:
 *
 *   node bench/soak-worker.ts sqlite <file> <concurrency>
 *   node bench/soak-worker.ts postgres <database url> <concurrency>
 *
 * Talks to its parent over IPC: sends `{ type: 'ready' }` once its worker runs; on
 * `{ type: 'stop' }` stops (finishing what it holds), closes and exits.
 */

import { createHooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'

const [kind, location = '', concurrencyText = '50'] = process.argv.slice(2)
if (kind !== 'sqlite' && kind !== 'postgres') {
  throw new Error('usage: soak-worker.ts sqlite <file> | postgres <url> <concurrency>')
}
const concurrency = Number(concurrencyText)
const hooks = createHooks({
  store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
  allowTargets: ['127.0.0.0/8'],
})
hooks.on('error', (error) => console.error(`soak worker: ${error.message}`))
// Every delivery goes to the one local receiver: let the worker use all its slots on it.
const worker = hooks.worker({ concurrency, perTargetConcurrency: concurrency })
await worker.start()
process.send?.({ type: 'ready' })
process.on('message', async (message: { type: string }) => {
  if (message.type !== 'stop') return
  await worker.stop()
  await hooks.close()
  process.exit(0)
})
