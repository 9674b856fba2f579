import { PerformanceObserver } from 'node:perf_hooks'
import v8 from 'node:v8'

/**
 * V8's heap sized for a long-running delivery process (`resthooks worker`, `resthooks serve`).
 *
 * Node sizes V8's young generation for the machine: on a 24 GiB one it lets it grow to two
 * 64 MB semi-spaces, and a worker allocating thousands of requests a second soon commits them
 * all. Its old generation is collected when it has grown by a factor V8 picks from its own
 * measurements, up to 4: a busy worker with 35 MB of live objects was seen carrying 70 MB of
 * garbage between collections. Together they took the worker to 300 MB and more, for 40 MB of
 * live data.
 *
 * So the command tunes its own process, with V8 flags that are read at every collection and
 * therefore take effect after start-up: the old generation is collected once it has grown by
 * half, and the young generation grows to 32 MB at most (the size
 * `--max-semi-space-size=16` gives, which only a start-up flag can set). On the benchmark of
 * docs/performance.md this keeps a worker delivering 100,000 deliveries at 160–180 MB,
 * flat, with no measurable loss of throughput.
 *
 * A heap flag of the user's own (in the command line or NODE_OPTIONS) wins: the setting it
 * touches is left alone.
 */

/** The young generation's largest size, in bytes (both semi-spaces). */
export const YOUNG_GENERATION_CAP_BYTES = 32 * 1024 * 1024
/** V8's `--semi-space-growth-factor` by default. */
const DEFAULT_GROWTH_FACTOR = 2
/** How much the old generation may grow between major collections, in percent. */
export const OLD_GENERATION_GROWTH_PERCENT = 50

/** The flags that say the user sized the young generation, or the old generation's growth. */
const YOUNG_GENERATION_FLAGS = [
  'max-semi-space-size',
  'min-semi-space-size',
  'semi-space-growth-factor',
  'max-heap-size',
]
const OLD_GENERATION_FLAGS = ['heap-growing-percent']
const HEAP_FLAGS = new Set([...YOUNG_GENERATION_FLAGS, ...OLD_GENERATION_FLAGS])

export interface HeapTuning {
  /** Whether the young generation is capped (false when the user sized it). */
  youngGeneration: boolean
  /** Whether the old generation's growth is bounded (false when the user set it). */
  oldGeneration: boolean
  /** Stops watching the young generation. */
  stop(): void
}

/**
 * The V8 flags among `args` (the process's execArgv, then NODE_OPTIONS split on white space),
 * by name: `--max_semi_space_size=8` and `--max-semi-space-size 8` both give
 * `max-semi-space-size`.
 */
export function heapFlagsGiven(args: readonly string[]): Set<string> {
  const given = new Set<string>()
  for (const arg of args) {
    if (!arg.startsWith('--')) continue
    const name = arg.slice(2).split('=')[0]?.replaceAll('_', '-') ?? ''
    if (HEAP_FLAGS.has(name)) given.add(name)
  }
  return given
}

/** Tunes this process's heap for a delivery worker; see the module's comment. */
export function tuneWorkerHeap(
  args: readonly string[] = [
    ...process.execArgv,
    ...(process.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean),
  ],
): HeapTuning {
  const given = heapFlagsGiven(args)
  const oldGeneration = !OLD_GENERATION_FLAGS.some((flag) => given.has(flag))
  if (oldGeneration)
    v8.setFlagsFromString(`--heap-growing-percent=${OLD_GENERATION_GROWTH_PERCENT}`)
  const youngGeneration = !YOUNG_GENERATION_FLAGS.some((flag) => given.has(flag))
  if (!youngGeneration) return { youngGeneration, oldGeneration, stop() {} }

  // The young generation doubles (`--semi-space-growth-factor`, 2) after a collection when
  // enough has survived since it last grew, and V8 shrinks it again after a quiet spell. Looked
  // at after every collection: it may double while that keeps it within the cap, and not once
  // it would not (a factor of 1), so that it grows back after a shrink.
  let factor = DEFAULT_GROWTH_FACTOR
  const govern = () => {
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')
    if (!space) return
    const wanted = youngGenerationGrowthFactor(space.space_size)
    if (wanted === factor) return
    v8.setFlagsFromString(`--semi-space-growth-factor=${wanted}`)
    factor = wanted
  }
  govern()
  const observer = new PerformanceObserver(govern)
  observer.observe({ entryTypes: ['gc'] })
  return { youngGeneration, oldGeneration, stop: () => observer.disconnect() }
}

/**
 * The growth factor the young generation gets at `size` bytes: V8's own (2) while doubling keeps
 * it within the cap, 1 (no growth) from there on.
 */
export function youngGenerationGrowthFactor(size: number): 1 | 2 {
  return size * 2 <= YOUNG_GENERATION_CAP_BYTES ? DEFAULT_GROWTH_FACTOR : 1
}
