/**
 * Horizontal scale-out on PostgreSQL (issue 4): four worker processes and two ingest processes
 * share one database. The ingest processes dispatch 2,000 events to 10 subscriptions (20,000
 * deliveries) while the workers send them; half-way, one worker is killed with SIGKILL. Proves
 * that every (event, subscription) pair reaches the receiver, that the only requests sent twice
 * are ones the killed worker held at its death (claims are exclusive: `FOR UPDATE SKIP LOCKED`),
 * and that every delivery ends `succeeded`, on its first recorded attempt.
 *
 * The killed worker runs with a short lease (2 s) so its claims come back soon; the others with a
 * long one (30 s), which also tells the killed worker's claims apart in the database.
 */

import type { ServerResponse } from 'node:http'
import { afterAll, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { bookEvents } from '../support/bookstore.ts'
import { killAllChildren, startIngestProcess, startWorkerProcess } from '../support/pg-processes.ts'
import { createTestDatabase, describeIfPostgres, type TestDatabase } from '../support/postgres.ts'
import { pairOf, type Receiver, startReceiver } from '../support/receiver.ts'
import { waitUntil as until } from '../support/shell.ts'

const EVENTS = 2_000
const SUBSCRIPTIONS = 10
const TOTAL = EVENTS * SUBSCRIPTIONS
const WORKERS = 4
const INGESTS = 2
const CONCURRENCY = 10
const KILLED_LEASE_MS = 2_000
const LEASE_MS = 30_000
/**
 * How each ingest process dispatches: one call at a time, 5 ms apart, so that dispatching goes
 * on while the workers send (on this machine it runs past the kill; nothing depends on that).
 */
const INGEST_PACE = { concurrency: 1, pauseMs: 5 }

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

describeIfPostgres('scale-out on PostgreSQL', () => {
  let database: TestDatabase | undefined
  let hooks: Hooks | undefined
  let receiver: Receiver | undefined

  afterAll(async () => {
    killAllChildren()
    await receiver?.close()
    await hooks?.close()
    await database?.drop()
  })

  it('4 workers and 2 ingest processes deliver 20,000 deliveries, one worker SIGKILLed half-way: nothing lost, duplicates only from the killed worker', async () => {
    database = await createTestDatabase()
    const { url } = database
    hooks = createHooks({
      store: postgresStore({ connectionString: url, maxConnections: 4 }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.migrate()
    const db = hooks.store.db

    // Answers 200 after 0–3 ms; while `held` is set, it holds every answer back, so that the
    // workers' requests stay in flight (and their claims unrecorded) around the kill.
    let held: (() => void)[] | undefined
    const answer = (response: ServerResponse) =>
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    receiver = await startReceiver((_request, response) => {
      if (held) held.push(() => answer(response))
      else setTimeout(() => answer(response), Math.random() * 3)
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

    // The workers run first and wait for work; the first is the one that dies.
    const workers = await Promise.all(
      Array.from({ length: WORKERS }, (_, i) =>
        startWorkerProcess(url, {
          leaseMs: i === 0 ? KILLED_LEASE_MS : LEASE_MS,
          concurrency: CONCURRENCY,
          pollIntervalMs: 1000,
        }),
      ),
    )
    const [killed, ...survivors] = workers
    if (!killed) throw new Error('no workers')

    // Each ingest process dispatches its own half of the events, both at once.
    const perIngest = EVENTS / INGESTS
    const ingests = await Promise.all(
      Array.from({ length: INGESTS }, (_, i) =>
        startIngestProcess(url, { first: i * perIngest, count: perIngest, ...INGEST_PACE }),
      ),
    )
    for (const ingest of ingests) ingest.go()

    // Half-way, hold the answers until the first worker holds claims (only its claims carry the
    // short lease), then SIGKILL it: it dies with requests in flight, whatever the timing.
    await receiver.waitFor(TOTAL / 2, 60_000)
    held = []
    const shortLeased = () =>
      db
        .selectFrom('resthooks_deliveries')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('status', '=', 'pending')
        .where('lease_token', 'is not', null)
        .where('next_attempt_at', '<=', Date.now() + KILLED_LEASE_MS)
        .executeTakeFirstOrThrow()
    await until(
      'the first worker to hold claims',
      async () => Number((await shortLeased()).n) > 0,
      10_000,
    )
    const ingestedAtKill = ingests.reduce((n, ingest) => n + ingest.of('dispatched').length, 0)
    const { signal } = await killed.kill()
    expect(signal).toBe('SIGKILL')
    // Every claim it made, it made before now: each lasts till at most killedAt + 2 s.
    const killedAt = Date.now()
    // Its requests written just before it died may still be read by the receiver.
    await sleep(200)
    const receivedAtKill = receiver.requests.length

    // What it held when it died: claims still pending under its short lease (the others' claims
    // run to claim time + 30 s), not taken back yet since they last till claim time + 2 s.
    const claimed = await db
      .selectFrom('resthooks_deliveries')
      .select(['event_id', 'subscription_id'])
      .where('status', '=', 'pending')
      .where('lease_token', 'is not', null)
      .where('next_attempt_at', '<=', killedAt + KILLED_LEASE_MS)
      .execute()
    const heldPairs = new Set(claimed.map((row) => `${row.event_id} ${row.subscription_id}`))
    const receivedPairsAtKill = new Set(receiver.requests.slice(0, receivedAtKill).map(pairOf))
    const heldAndReceived = [...heldPairs].filter((pair) => receivedPairsAtKill.has(pair))
    // Answer what was held back; from here on the receiver answers at once again.
    const release = held
    held = undefined
    for (const send of release) send()
    // The kill caught it at work: it had delivered some and held claims in flight.
    expect(killed.succeeded()).toBeGreaterThan(0)
    expect(heldPairs.size).toBeGreaterThan(0)

    // The ingest processes dispatched every event, each to every subscription.
    for (const ingest of ingests) {
      const done = await ingest.waitFor('done', 60_000)
      expect(done).toMatchObject({ dispatched: perIngest, failed: 0 })
      expect((await ingest.exited).code).toBe(0)
      expect(ingest.of('dispatched').every((m) => m.deliveries === SUBSCRIPTIONS)).toBe(true)
    }
    const eventIds = ingests.flatMap((ingest) => ingest.dispatchedIds())
    expect(new Set(eventIds).size).toBe(EVENTS)

    // The survivors finish the work, the killed worker's claims included once they expire.
    await until(
      'every delivery to succeed',
      async () => (await hooks?.countDeliveries({ status: 'succeeded' })) === TOTAL,
      60_000,
    )
    for (const survivor of survivors) {
      const exit = await survivor.stop()
      expect(exit, survivor.stderr()).toEqual({ code: 0, signal: null })
    }

    // Every (event, subscription) pair arrived.
    const expected = new Set(eventIds.flatMap((e) => subscriptionIds.map((s) => `${e} ${s}`)))
    const counts = new Map<string, number>()
    for (const request of receiver.requests) {
      const pair = pairOf(request)
      counts.set(pair, (counts.get(pair) ?? 0) + 1)
    }
    const missing = [...expected].filter((pair) => !counts.has(pair))
    const unexpected = [...counts.keys()].filter((pair) => !expected.has(pair))
    expect(missing).toEqual([])
    expect(unexpected).toEqual([])
    expect(counts.size).toBe(TOTAL)

    // Sent twice: only requests the killed worker held in flight when it died, each once more.
    // Exactly those whose request had reached the receiver: the killed worker never recorded
    // them, and its other claims went out once, after their lease.
    const twice = [...counts].filter(([, n]) => n > 1)
    expect(twice.map(([pair]) => pair).sort()).toEqual(heldAndReceived.sort())
    expect(twice.every(([, n]) => n === 2)).toBe(true)
    expect(twice.length).toBeLessThanOrEqual(heldPairs.size)
    expect(receiver.requests).toHaveLength(TOTAL + twice.length)

    // Every delivery succeeded, with one attempt on record: the killed worker recorded none of
    // what it held, and no claim was sent twice by live workers.
    const rows = await db
      .selectFrom('resthooks_deliveries')
      .select(['status', 'attempts', (eb) => eb.fn.countAll<number>().as('n')])
      .groupBy(['status', 'attempts'])
      .execute()
    expect(rows.map((r) => ({ ...r, n: Number(r.n) }))).toEqual([
      { status: 'succeeded', attempts: 1, n: TOTAL },
    ])

    const survivorTotals = survivors.map((s) => s.succeeded())
    console.info(
      `scale-out: ${receiver.requests.length} requests for ${TOTAL} deliveries; ` +
        `at the kill: ${receivedAtKill} received, ${ingestedAtKill}/${EVENTS} events dispatched, ` +
        `killed worker had recorded ${killed.succeeded()} and held ${heldPairs.size} claims ` +
        `(${heldAndReceived.length} already received); duplicates: ${twice.length}; ` +
        `survivors recorded ${survivorTotals.join(', ')}`,
    )
  }, 120_000)
})
