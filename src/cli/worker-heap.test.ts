import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import {
  heapFlagsGiven,
  YOUNG_GENERATION_CAP_BYTES,
  youngGenerationGrowthFactor,
} from './worker-heap.ts'

const run = promisify(execFile)
const MODULE = fileURLToPath(new URL('./worker-heap.ts', import.meta.url))

/**
 * A Node process that tunes its heap as `resthooks worker` does, then allocates for a while
 * with some objects surviving each collection (as requests in flight do), and prints what it
 * saw: the young generation's largest size, and the tuning's answer.
 */
async function allocatingProcess(nodeFlags: string[]) {
  const script = `
    import v8 from 'node:v8'
    import { tuneWorkerHeap } from ${JSON.stringify(MODULE)}
    const tuning = tuneWorkerHeap()
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size
    let largest = 0
    const kept = []
    for (let round = 0; round < 150; round++) {
      for (let i = 0; i < 20000; i++) {
        kept.push({ id: i, text: 'delivery ' + i, list: [i, i + 1] })
        if (kept.length > 30000) kept.splice(0, 15000)
      }
      largest = Math.max(largest, newSpace())
      // A turn of the event loop, as a worker takes between requests.
      await new Promise((resolve) => setImmediate(resolve))
    }
    tuning.stop()
    console.log(JSON.stringify({ largest, young: tuning.youngGeneration, old: tuning.oldGeneration }))
  `
  const { stdout } = await run(
    process.execPath,
    [...nodeFlags, '--input-type=module', '--eval', script],
    { env: { ...process.env, NODE_OPTIONS: '' }, timeout: 60_000 },
  )
  return JSON.parse(stdout) as { largest: number; young: boolean; old: boolean }
}

describe('the worker commands tune their heap', () => {
  it('the young generation stops growing at the cap', async () => {
    const seen = await allocatingProcess([])
    expect(seen).toMatchObject({ young: true, old: true })
    expect(seen.largest).toBeGreaterThan(0)
    // V8 counts a few pages more for a moment during some collections (35.25 MB seen at a
    // 32 MB young generation); untuned, it doubles on to 64 and 128 MB on this workload.
    expect(seen.largest).toBeLessThanOrEqual(YOUNG_GENERATION_CAP_BYTES * 1.25)
  })

  it("the user's own young generation size wins, and is used", async () => {
    // The same allocation grows the young generation past the cap when the user allows it.
    const seen = await allocatingProcess(['--max-semi-space-size=64'])
    expect(seen).toMatchObject({ young: false, old: true })
    expect(seen.largest).toBeGreaterThan(YOUNG_GENERATION_CAP_BYTES * 1.25)
  })

  it('lets the young generation double while that keeps it within the cap, so it grows back after V8 shrinks it', () => {
    const MB = 1024 * 1024
    // After a quiet spell V8 halves it (32 → 16 MB was seen after 45 s idle): it may grow again.
    expect(youngGenerationGrowthFactor(8 * MB)).toBe(2)
    expect(youngGenerationGrowthFactor(15.5 * MB)).toBe(2)
    expect(youngGenerationGrowthFactor(16 * MB)).toBe(2)
    expect(youngGenerationGrowthFactor(17 * MB)).toBe(1)
    expect(youngGenerationGrowthFactor(32 * MB)).toBe(1)
  })

  it('reads heap flags however they are spelled', () => {
    expect(heapFlagsGiven(['--max_semi_space_size=8', '--inspect'])).toEqual(
      new Set(['max-semi-space-size']),
    )
    expect(
      heapFlagsGiven(['--heap-growing-percent', '30', '--semi-space-growth-factor=4']),
    ).toEqual(new Set(['heap-growing-percent', 'semi-space-growth-factor']))
    // Other memory flags (the old generation's limit) leave the tuning on.
    expect(heapFlagsGiven(['--max-old-space-size=512', 'semi-space-growth-factor'])).toEqual(
      new Set(),
    )
  })
})
