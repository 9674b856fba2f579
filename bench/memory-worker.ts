/**
 * The delivery worker of the memory benchmark (bench/memory.ts), in a process of its own so that
 * its memory is measured alone:
 *
 *   node bench/memory-worker.ts sqlite <file> <concurrency>
 *   node bench/memory-worker.ts postgres <database url> <concurrency>
 *
 * Talks to its parent over IPC:
 * - sends `{ type: 'ready' }` once its worker runs, then every 500 ms
 *   `{ type: 'sample', delivered, rss, heapUsed, heapTotal, external, arrayBuffers, spaces }`
 *   (`process.memoryUsage()` and V8's heap spaces' committed sizes, bytes; `delivered` counts
 *   `delivery.succeeded`);
 * - on `{ type: 'snapshot', path }` collects garbage (when run with --expose-gc), writes a heap
 *   snapshot to `path` and answers `{ type: 'snapshot', path, ...memoryUsage }` (taken after the
 *   collection, before the snapshot);
 * - on `{ type: 'stop' }` stops (finishing what it holds), closes and exits.
 *
 * With BENCH_MEMORY_ALLOC_PROFILE=<file>, it samples every allocation (garbage included, not only
 * what is still alive: V8's sampling heap profiler with the objects collected by either GC kept)
 * from the start to the stop, writes the profile to <file> (a .heapprofile for Chrome DevTools)
 * and prints the functions that allocated most.
 */

import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8'
import { tuneWorkerHeap } from '../src/cli/worker-heap.ts'
import { createHooks } from '../src/index.ts'
import { postgresStore } from '../src/store/postgres/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'

const [kind, location = '', concurrencyText = '50'] = process.argv.slice(2)
if (kind !== 'sqlite' && kind !== 'postgres') {
  throw new Error('usage: memory-worker.ts sqlite <file> | postgres <url> <concurrency>')
}
const concurrency = Number(concurrencyText)
// As `resthooks worker` does, so that this stands for the command.
tuneWorkerHeap()
const hooks = createHooks({
  store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
  allowTargets: ['127.0.0.0/8'],
})
let delivered = 0
let failed = 0
hooks.on('error', (error) => console.error(`memory worker: ${error.message}`))
hooks.on('delivery.succeeded', () => {
  delivered++
})
hooks.on('delivery.failed', ({ error }) => {
  if (++failed <= 3) console.error(`memory worker: delivery failed: ${error}`)
})

const usage = () => {
  const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage()
  // V8's spaces, committed bytes: where heapTotal goes (new, old, code, large objects, …).
  const spaces = Object.fromEntries(
    getHeapSpaceStatistics().map((space) => [
      space.space_name.replace(/_space$/, ''),
      space.space_size,
    ]),
  )
  return { rss, heapUsed, heapTotal, external, arrayBuffers, spaces }
}

const profileFile = process.env.BENCH_MEMORY_ALLOC_PROFILE
const session = profileFile ? new Session() : undefined
if (session) {
  session.connect()
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 16 * 1024,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  })
}

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number }
  selfSize: number
  children: ProfileNode[]
}

/** Writes the allocation profile and prints the 25 functions (and lines) that allocated most. */
async function writeAllocationProfile(): Promise<void> {
  if (!session || !profileFile) return
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as {
    profile: { head: ProfileNode }
  }
  writeFileSync(profileFile, JSON.stringify(profile))
  const bySite = new Map<string, number>()
  let total = 0
  const walk = (node: ProfileNode): void => {
    const { functionName, url, lineNumber } = node.callFrame
    const site = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules|src)\//, '$1/')}:${lineNumber + 1}`
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize)
    total += node.selfSize
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  console.log(
    `allocation profile (${profileFile}): ${(total / 2 ** 20).toFixed(0)} MB allocated in all (sampled), ${(total / Math.max(delivered, 1) / 1024).toFixed(1)} KB per delivery; top sites:`,
  )
  for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 25)) {
    console.log(`  ${(bytes / 2 ** 20).toFixed(1).padStart(7)} MB  ${site}`)
  }
}

// Every delivery goes to the one local receiver: let the worker use all its slots on it.
const worker = hooks.worker({ concurrency, perTargetConcurrency: concurrency })
await worker.start()
process.send?.({ type: 'ready' })
const sampler = setInterval(() => {
  process.send?.({ type: 'sample', delivered, failed, ...usage() })
}, 500)

process.on('message', async (message: { type: string; path?: string }) => {
  if (message.type === 'snapshot' && message.path) {
    const gc = (globalThis as { gc?: () => void }).gc
    gc?.()
    const after = usage()
    writeHeapSnapshot(message.path)
    process.send?.({ type: 'snapshot', path: message.path, delivered, ...after })
    return
  }
  if (message.type !== 'stop') return
  clearInterval(sampler)
  await worker.stop()
  await writeAllocationProfile()
  await hooks.close()
  process.exit(0)
})
process.on('disconnect', () => process.exit(0))
