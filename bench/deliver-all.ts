/**
 * Delivering what is pending with an in-process worker and timing it: shared by the throughput
 * and fan-out benchmarks.
 */

import type { Hooks } from '../src/index.ts'
import type { Receiver } from './common.ts'

/**
 * Starts a worker with `concurrency` and resolves, in seconds, once `count` deliveries arrived
 * at the receiver and are recorded (none left pending).
 */
export async function deliverAll(
  hooks: Hooks,
  receiver: Receiver,
  count: number,
  concurrency: number,
): Promise<number> {
  const { reached } = await receiver.expect(count)
  let recorded = 0
  let failures = 0
  let allRecorded!: () => void
  const recordedAll = new Promise<void>((resolve) => {
    allRecorded = resolve
  })
  const offSucceeded = hooks.on('delivery.succeeded', () => {
    if (++recorded === count) allRecorded()
  })
  const offFailed = hooks.on('delivery.failed', ({ error }) => {
    if (++failures <= 3) console.error(`delivery failed: ${error}`)
  })
  // Every delivery goes to the one local receiver: the per-origin limit would cap the run at 10.
  const worker = hooks.worker({ concurrency, perTargetConcurrency: concurrency })
  const started = performance.now()
  await worker.start()
  await Promise.all([reached, recordedAll])
  while ((await hooks.countDeliveries({ status: 'pending' })) > 0) {
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
  const seconds = (performance.now() - started) / 1000
  await worker.stop()
  offSucceeded()
  offFailed()
  if (failures > 0) throw new Error(`${failures} deliveries failed`)
  return seconds
}
