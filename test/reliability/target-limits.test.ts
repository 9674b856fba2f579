/**
 * The worker's per-target concurrency limit (`perTargetConcurrency`, src/delivery/target-limits.ts):
 * what it bounds, and that waiting for a slot never costs an attempt or leaves a claim held.
 * Store-agnostic (SQLite; PostgreSQL in the `postgres` project).
 */

import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { ConfigurationError } from '../../src/errors.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/** A receiver that answers after `delayMs` (never, when null), counting requests open at once. */
async function countingReceiver(delayMs: number | null) {
  let open = 0
  let mostOpen = 0
  const receiver: Receiver = await startReceiver((_request, response: ServerResponse) => {
    open++
    mostOpen = Math.max(mostOpen, open)
    response.on('close', () => open--)
    if (delayMs !== null) setTimeout(() => response.writeHead(200).end('ok'), delayMs)
  })
  cleanup.push(() => receiver.close())
  return { receiver, mostOpen: () => mostOpen }
}

describe('perTargetConcurrency', () => {
  it('deliverPending sends everything due to one origin in one pass, never more than the limit at once, across its subscriptions', async () => {
    const setup = await bookstoreHooks()
    cleanup.push(setup.close)
    const { hooks } = setup
    const { receiver, mostOpen } = await countingReceiver(20)
    // Two subscriptions, one origin: the limit is per origin, not per subscription.
    for (const path of ['a', 'b']) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${path}` })
    }
    for (let i = 0; i < 20; i++) await hooks.modelEvent('Book', 'created', { id: i, ownerId: 'u1' })
    const totals = await hooks.deliverPending({ concurrency: 20, perTargetConcurrency: 3 })
    expect(totals).toEqual({ succeeded: 40, failed: 0, exhausted: 0, dropped: 0 })
    expect(receiver.requests).toHaveLength(40)
    expect(mostOpen()).toBe(3)
  })

  it('stop() gives back the claims waiting for a slot, without an attempt, and leaves no claim held', async () => {
    const setup = await bookstoreHooks({ timeoutMs: 1000, retry: { schedule: [60_000] } })
    cleanup.push(setup.close)
    const { hooks } = setup
    const { receiver, mostOpen } = await countingReceiver(null)
    const { id } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/hung`,
    })
    for (let i = 0; i < 10; i++) await hooks.modelEvent('Book', 'created', { id: i, ownerId: 'u1' })
    const worker = hooks.worker({ concurrency: 10, perTargetConcurrency: 2 })
    await worker.start()
    await receiver.waitFor(2)
    // Two in flight (they time out after 1 s), two queued, six given back.
    await worker.stop()
    expect(mostOpen()).toBe(2)
    expect(receiver.requests).toHaveLength(2)
    const rows = await hooks.store.db
      .selectFrom('resthooks_deliveries')
      .select(['status', 'attempts', 'lease_token', 'last_error'])
      .where('subscription_id', '=', id)
      .execute()
    expect(rows).toHaveLength(10)
    expect(rows.every((row) => row.status === 'pending' && row.lease_token === null)).toBe(true)
    // The two requests sent are the only attempts: they timed out and wait for their retry.
    const attempted = rows.filter((row) => Number(row.attempts) > 0)
    expect(attempted).toHaveLength(2)
    for (const row of attempted) expect(row.last_error).toMatch(/timed out/)
  })

  it('rejects a limit that is not a positive number', async () => {
    const setup = await bookstoreHooks()
    cleanup.push(setup.close)
    expect(() => setup.hooks.worker({ perTargetConcurrency: 0 })).toThrow(ConfigurationError)
  })
})
