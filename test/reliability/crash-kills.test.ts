/**
 * Crashes (issue 8): 10,000 deliveries (1,000 events to 10 subscriptions) go out through two
 * worker processes while, at three random moments, one of them is killed with SIGKILL and a new
 * one started in its place. Runs on SQLite, and on PostgreSQL in the `postgres` project.
 *
 * Each kill provably hits work in flight, whatever the timing: the receiver holds its answers
 * back until the workers together hold more requests than the survivor alone can (a worker
 * claims again only when half its slots are free, so each holds at least
 * `CONCURRENCY - CONCURRENCY / 2 + 1`), then the kill comes, then the answers go out.
 *
 * Proves: every (event, subscription) pair arrives; the only requests that arrive twice are ones
 * in flight at a kill (held unanswered by the receiver, or answered but not yet recorded), with
 * the same `webhook-id` and body; every delivery row ends `succeeded`.
 */

import type { ServerResponse } from 'node:http'
import { afterAll, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../../src/index.ts'
import { bookEvents } from '../support/bookstore.ts'
import { pairOf, type ReceivedRequest, type Receiver, startReceiver } from '../support/receiver.ts'
import { waitUntil as until } from '../support/shell.ts'
import {
  storeKind,
  type TemporaryDatabase,
  temporaryDatabaseOfKind,
} from '../support/store-kind.ts'
import { killAllWorkers, startWorkerChild, type WorkerChild } from './worker-children.ts'

const EVENTS = 1_000
const SUBSCRIPTIONS = 10
const TOTAL = EVENTS * SUBSCRIPTIONS
const WORKERS = 2
const KILLS = 3
const CONCURRENCY = 20
/** Long enough that no live worker's claim lapses on a loaded machine: only kills cause resends. */
const LEASE_MS = 10_000
/** Requests each worker surely holds in flight once the receiver stops answering. */
const SURELY_HELD = CONCURRENCY - Math.ceil(CONCURRENCY / 2) + 1

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describe('worker processes killed with SIGKILL mid-run', () => {
  let database: TemporaryDatabase | undefined
  let hooks: Hooks | undefined
  let receiver: Receiver | undefined

  afterAll(async () => {
    killAllWorkers()
    await receiver?.close()
    await hooks?.close()
    await database?.remove()
  })

  it(`10,000 deliveries, ${KILLS} kills at random moments: every pair arrives, duplicates are only requests in flight at a kill, with the same webhook-id`, async () => {
    database = await temporaryDatabaseOfKind()
    hooks = createHooks({
      store: database.open(),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.migrate()
    const current = hooks

    // Answers 200 at once; while `held` is set it holds every answer back.
    let held: { request: ReceivedRequest; answer: () => void }[] | undefined
    const ok = (response: ServerResponse) =>
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    receiver = await startReceiver((request, response) => {
      if (held) held.push({ request, answer: () => ok(response) })
      else ok(response)
    })
    const subscriptionIds: string[] = []
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const { id } = await hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/hooks/${i}`,
      })
      subscriptionIds.push(id)
    }
    const eventIds: string[] = []
    for (let i = 0; i < EVENTS; i++) {
      const result = await hooks.modelEvent('Book', 'created', { id: i, ownerId: 'u1' })
      if (!result) throw new Error('dispatch is off')
      eventIds.push(result.id)
    }

    const workerOptions = {
      kind: storeKind,
      location: database.location,
      leaseMs: LEASE_MS,
      concurrency: CONCURRENCY,
      // All targets share one origin here: let each worker use all its slots on it.
      perTargetConcurrency: CONCURRENCY,
      pollIntervalMs: 200,
    }
    const workers: WorkerChild[] = await Promise.all(
      Array.from({ length: WORKERS }, () => startWorkerChild(workerOptions)),
    )
    const killed: WorkerChild[] = []

    // Three moments, at random between 15 % and 85 % of the run, at least 10 % apart.
    const moments = Array.from({ length: KILLS }, (_, i) =>
      Math.floor(TOTAL * (0.15 + i * 0.25 + Math.random() * 0.15)),
    )
    /** Per kill: the pairs the receiver held unanswered when it came. */
    const heldAtKill: Set<string>[] = []
    for (const moment of moments) {
      await receiver.waitFor(moment, 60_000)
      const holding: NonNullable<typeof held> = []
      held = holding
      // More held than the survivors can hold: the victim surely holds some.
      await until(
        'the workers to hold requests in flight',
        () => holding.length >= WORKERS * SURELY_HELD,
        20_000,
      )
      const index = Math.floor(Math.random() * workers.length)
      const victim = workers[index] as WorkerChild
      const { signal } = await victim.kill()
      expect(signal).toBe('SIGKILL')
      killed.push(victim)
      // Requests it wrote just before dying may still be read by the receiver.
      await sleep(200)
      // In flight at the kill: what the receiver holds unanswered, and what it answered before
      // holding began but no worker had recorded yet (still claimed in the database).
      const claimed = await current.store.db
        .selectFrom('resthooks_deliveries')
        .select(['event_id', 'subscription_id'])
        .where('status', '=', 'pending')
        .where('lease_token', 'is not', null)
        .execute()
      const unrecorded = new Set(claimed.map((row) => `${row.event_id} ${row.subscription_id}`))
      heldAtKill.push(
        new Set([
          ...holding.map((h) => pairOf(h.request)),
          ...receiver.requests.map(pairOf).filter((pair) => unrecorded.has(pair)),
        ]),
      )
      held = undefined
      for (const { answer } of holding) answer()
      workers[index] = await startWorkerChild(workerOptions)
    }

    await until(
      'every delivery to succeed',
      async () => (await current.countDeliveries({ status: 'succeeded' })) === TOTAL,
      90_000,
    )
    for (const worker of workers) {
      expect(await worker.stop(), worker.stderr()).toEqual({ code: 0, signal: null })
    }

    // Every (event, subscription) pair arrived, and nothing else.
    const expected = new Set(eventIds.flatMap((e) => subscriptionIds.map((s) => `${e} ${s}`)))
    const byPair = new Map<string, ReceivedRequest[]>()
    for (const request of receiver.requests) {
      const pair = pairOf(request)
      byPair.set(pair, [...(byPair.get(pair) ?? []), request])
    }
    expect([...expected].filter((pair) => !byPair.has(pair))).toEqual([])
    expect([...byPair.keys()].filter((pair) => !expected.has(pair))).toEqual([])

    // Sent more than once: only pairs held in flight at a kill, at most once more per such
    // kill, each copy with the same webhook-id (the pair's key) and the same body.
    const duplicated = [...byPair].filter(([, copies]) => copies.length > 1)
    for (const [pair, copies] of duplicated) {
      const kills = heldAtKill.filter((set) => set.has(pair)).length
      expect(kills, `${pair} arrived ${copies.length} times`).toBeGreaterThan(0)
      expect(copies.length).toBeLessThanOrEqual(1 + kills)
      expect(new Set(copies.map((c) => c.body)).size).toBe(1)
    }
    // Each kill hit work in flight: some of what it held came again.
    const duplicatedPairs = new Set(duplicated.map(([pair]) => pair))
    const hitPerKill = heldAtKill.map(
      (set) => [...set].filter((p) => duplicatedPairs.has(p)).length,
    )
    for (const hits of hitPerKill) expect(hits).toBeGreaterThan(0)

    // Every delivery succeeded; the killed workers' unrecorded attempts left no trace.
    const rows = await hooks.store.db
      .selectFrom('resthooks_deliveries')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy('status')
      .execute()
    expect(rows.map((r) => ({ status: r.status, n: Number(r.n) }))).toEqual([
      { status: 'succeeded', n: TOTAL },
    ])

    console.info(
      `crash-kills (${storeKind}): ${receiver.requests.length} requests for ${TOTAL} deliveries; ` +
        `${KILLS} SIGKILLs at ${moments.join(', ')} received; held at each kill: ` +
        `${heldAtKill.map((s) => s.size).join(', ')}; sent again per kill: ${hitPerKill.join(', ')}; ` +
        `duplicates: ${duplicated.length}; killed workers had recorded ` +
        `${killed.map((w) => w.succeeded()).join(', ')}`,
    )
  }, 150_000)
})
