/**
 * Slow receivers do not starve the others (issue 8), through the worker's per-target
 * concurrency limit (`perTargetConcurrency`), and a target that keeps failing is disabled by the
 * rule, end to end. Store-agnostic (SQLite; PostgreSQL in the `postgres` project).
 */

import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { Hooks } from '../../src/index.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

async function receiver(respond?: Parameters<typeof startReceiver>[0]): Promise<Receiver> {
  const started = await startReceiver(respond)
  cleanup.push(() => started.close())
  return started
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/**
 * Dispatches `count` book.added events one after another, 20 ms apart, and resolves with each
 * one's latency: from just before its dispatch to its arrival at `healthy`.
 */
async function healthyLatencies(hooks: Hooks, healthy: Receiver, count: number) {
  const sentAt = new Map<string, number>()
  for (let i = 0; i < count; i++) {
    const before = Date.now()
    const result = await hooks.modelEvent('Book', 'created', { id: i, ownerId: 'u1' })
    if (!result) throw new Error('dispatch is off')
    sentAt.set(result.id, before)
    await sleep(20)
  }
  const deadline = Date.now() + 30_000
  const arrived = () => healthy.requests.filter((r) => sentAt.has(String(r.headers['webhook-id'])))
  while (arrived().length < count) {
    if (Date.now() > deadline) throw new Error(`${arrived().length} of ${count} arrived`)
    await sleep(20)
  }
  return arrived().map((r) => r.receivedAt - (sentAt.get(String(r.headers['webhook-id'])) ?? 0))
}

describe('a target that never answers', () => {
  it('with concurrency 20 and 200 deliveries pending to a hung target, the healthy target’s deliveries still arrive promptly; without the limit they do not', async () => {
    const TIMEOUT_MS = 4000
    const setup = await bookstoreHooks({
      timeoutMs: TIMEOUT_MS,
      // A hung request is retried only after the test.
      retry: { schedule: [120_000], jitter: 0 },
    })
    cleanup.push(setup.close)
    const { hooks } = setup
    const healthy = await receiver()
    // Accepts every request and never answers; counts the requests open at once.
    let open = 0
    let mostOpen = 0
    const hung = await receiver((_request, response: ServerResponse) => {
      open++
      mostOpen = Math.max(mostOpen, open)
      response.on('close', () => open--)
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${healthy.url}/in` })

    // Baseline: the healthy target alone.
    const worker = hooks.worker({ concurrency: 20, pollIntervalMs: 100 })
    await worker.start()
    const baseline = median(await healthyLatencies(hooks, healthy, 30))

    // 200 deliveries to the hung target, all due at once, before the healthy ones.
    const hungSubscription = await hooks.subscribe({
      owner: 'u1',
      event: 'book.changed',
      target: `${hung.url}/never`,
    })
    for (let i = 0; i < 200; i++) {
      await hooks.modelEvent('Book', 'updated', { id: i, ownerId: 'u1' })
    }
    await hung.waitFor(10)
    const limited = median(await healthyLatencies(hooks, healthy, 30))
    // The hung target never had more than the default limit (10) of requests open at once.
    expect(mostOpen).toBe(10)
    await worker.stop()
    // Claims given back over the limit were not attempts: every attempt on record is a request
    // the hung target got, and all 200 deliveries are still pending.
    const hungRows = await hooks.store.db
      .selectFrom('resthooks_deliveries')
      .select(['status', 'attempts'])
      .where('subscription_id', '=', hungSubscription.id)
      .execute()
    expect(hungRows).toHaveLength(200)
    expect(hungRows.every((row) => row.status === 'pending')).toBe(true)
    expect(hungRows.reduce((n, row) => n + Number(row.attempts), 0)).toBe(hung.requests.length)

    // Without a limit (perTargetConcurrency = concurrency) the hung target takes every slot,
    // and the healthy target waits for the hung requests to time out.
    mostOpen = open
    const unlimited = hooks.worker({
      concurrency: 20,
      perTargetConcurrency: 20,
      pollIntervalMs: 100,
    })
    await unlimited.start()
    await hung.waitFor(hung.requests.length + 20)
    const starvedIds: string[] = []
    for (let i = 0; i < 5; i++) {
      const result = await hooks.modelEvent('Book', 'created', { id: 100 + i, ownerId: 'u1' })
      if (result) starvedIds.push(result.id)
    }
    await sleep(TIMEOUT_MS / 2)
    const starved = healthy.requests.filter((r) =>
      starvedIds.includes(String(r.headers['webhook-id'])),
    ).length
    expect(mostOpen).toBe(20)
    await unlimited.stop()

    console.info(
      `slow-targets: healthy p50 latency ${baseline} ms alone, ${limited} ms beside a hung ` +
        `target with 200 pending (limit 10 per target, concurrency 20); without the limit, ` +
        `${starved} of 5 healthy deliveries arrived within ${TIMEOUT_MS / 2} ms`,
    )
    expect(limited).toBeLessThan(Math.max(5 * baseline, baseline + 500))
    expect(limited).toBeLessThan(TIMEOUT_MS / 4)
    expect(starved).toBe(0)
  }, 60_000)
})

describe('a target that fails for long', () => {
  it('is disabled by the rule once a delivery runs out after disableAfterMs of failures, and subscription.disabled is emitted', async () => {
    const DISABLE_AFTER_MS = 500
    const setup = await bookstoreHooks({
      disableAfterMs: DISABLE_AFTER_MS,
      retry: { schedule: [50, 50], jitter: 0 },
    })
    cleanup.push(setup.close)
    const { hooks } = setup
    const failing = await receiver((_request, response) => {
      response.writeHead(500).end('down')
    })
    const subscription = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${failing.url}/hooks`,
    })
    const disabled: { subscriptionId: string; owner: string; reason: string }[] = []
    hooks.on('subscription.disabled', (event) => disabled.push(event))
    const exhausted: string[] = []
    hooks.on('delivery.exhausted', ({ eventId }) => exhausted.push(eventId))
    const worker = hooks.worker({ pollIntervalMs: 20 })
    await worker.start()

    // A first delivery runs out (3 attempts) well within disableAfterMs: still active.
    const first = await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    while (exhausted.length < 1) await sleep(10)
    expect(first && exhausted).toEqual([first?.id])
    expect((await hooks.getSubscription(subscription.id, { owner: 'u1' }))?.status).toBe('active')
    expect(disabled).toEqual([])

    // Still failing past disableAfterMs: the next delivery that runs out disables it.
    await sleep(DISABLE_AFTER_MS)
    await hooks.modelEvent('Book', 'created', { id: 2, ownerId: 'u1' })
    while (disabled.length < 1) await sleep(10)
    expect(disabled).toEqual([
      { subscriptionId: subscription.id, owner: 'u1', reason: expect.stringContaining('HTTP 500') },
    ])
    const after = await hooks.getSubscription(subscription.id, { owner: 'u1' })
    expect(after?.status).toBe('disabled')
    expect(failing.requests).toHaveLength(6)

    // A disabled subscription gets nothing more.
    const third = await hooks.modelEvent('Book', 'created', { id: 3, ownerId: 'u1' })
    expect(third?.deliveries).toBe(0)
    await sleep(200)
    await worker.stop()
    expect(failing.requests).toHaveLength(6)
  })
})
