/**
 * PostgreSQL restarts mid-run (issue 4): a worker process and an ingest process keep running
 * while the server restarts (fast shutdown cuts every connection), and reconnect by themselves.
 * Proves that nothing is lost: every event whose dispatch resolved, before or after the restart,
 * reaches every subscription at least once, every delivery row ends `succeeded`, and the worker
 * listens for work again (LISTEN). Dispatches during the outage may reject (nothing was written,
 * or the caller cannot know); only those that resolved count.
 *
 * It restarts a cluster of its own, never the shared test server (other files use that one).
 */

import { sql } from 'kysely'
import { afterAll, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { WORK_CHANNEL } from '../../src/store/postgres/work-listener.ts'
import { bookEvents } from '../support/bookstore.ts'
import {
  assertRunning,
  killAllChildren,
  startIngestProcess,
  startWorkerProcess,
} from '../support/pg-processes.ts'
import {
  type PrivateCluster,
  privateClusterPossible,
  startPrivateCluster,
} from '../support/postgres.ts'
import { pairOf, type Receiver, startReceiver } from '../support/receiver.ts'
import { waitUntil as until } from '../support/shell.ts'

const SUBSCRIPTIONS = 3
/** Events to see dispatched (and delivered) before the restart, and dispatched after it. */
const BEFORE = 20
const AFTER = 20

describe.skipIf(!privateClusterPossible())('PostgreSQL restarting mid-run', () => {
  let cluster: PrivateCluster | undefined
  let hooks: Hooks | undefined
  let receiver: Receiver | undefined

  afterAll(async () => {
    killAllChildren()
    await receiver?.close()
    await hooks?.close()
    await cluster?.stop()
  })

  it('a worker process and an ingest process reconnect by themselves, and every event that was dispatched is delivered', async () => {
    cluster = await startPrivateCluster()
    const { url } = cluster
    hooks = createHooks({
      store: postgresStore({ connectionString: url, maxConnections: 2 }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.migrate()
    const db = hooks.store.db
    receiver = await startReceiver()
    const subscriptionIds: string[] = []
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const { id } = await hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/hooks/${i}`,
      })
      subscriptionIds.push(id)
    }
    const serverStarted = async () => {
      const { rows } = await sql<{ started: Date }>`
        SELECT pg_postmaster_start_time() AS started
      `.execute(db)
      return rows[0]?.started.getTime()
    }
    const startedBefore = await serverStarted()

    const worker = await startWorkerProcess(url, {
      leaseMs: 3_000,
      concurrency: 5,
      pollIntervalMs: 500,
    })
    // Dispatches one event every 20 ms or so, until stopped.
    const ingest = await startIngestProcess(url, {
      first: 0,
      count: 0,
      concurrency: 1,
      pauseMs: 20,
    })
    ingest.go()

    // Before the restart: events dispatched and delivered.
    const running = () => {
      assertRunning(worker, ingest)
      return true
    }
    await until(
      'events before the restart',
      () => running() && ingest.of('dispatched').length >= BEFORE,
      20_000,
    )
    await receiver.waitFor(BEFORE * SUBSCRIPTIONS, 20_000)

    await cluster.restart()
    const sentAtRestart = ingest.messages.length

    // After it: dispatch works again, without anyone's help.
    const dispatchedAfter = () =>
      ingest.messages.slice(sentAtRestart).filter((m) => m.type === 'dispatched')
    await until(
      'events after the restart',
      () => running() && dispatchedAfter().length >= AFTER,
      30_000,
    )
    const ingestExit = await ingest.stop()
    expect(ingestExit, ingest.stderr()).toEqual({ code: 0, signal: null })

    // Every event whose dispatch resolved reaches every subscription.
    const eventIds = ingest.dispatchedIds()
    const expected = eventIds.flatMap((e) => subscriptionIds.map((s) => `${e} ${s}`))
    const missing = () => {
      const received = new Set(receiver?.requests.map(pairOf))
      return expected.filter((pair) => !received.has(pair))
    }
    const workerRunning = () => {
      assertRunning(worker)
      return true
    }
    await until(
      'every dispatched event to be delivered',
      () => workerRunning() && missing().length === 0,
      30_000,
    )
    expect(missing()).toEqual([])

    // In the database: what was written is all delivered, and recorded as such (the events
    // whose dispatch rejected but committed all the same included).
    await until(
      'every delivery to be recorded as succeeded',
      async () =>
        (await hooks?.countDeliveries({ status: 'pending' })) === 0 &&
        (await hooks?.countDeliveries({ status: 'failed' })) === 0,
      30_000,
    )
    const rows = await db
      .selectFrom('resthooks_deliveries')
      .select(['event_id', 'subscription_id', 'status'])
      .execute()
    expect(rows.filter((row) => row.status !== 'succeeded')).toEqual([])
    const stored = new Set(rows.map((row) => `${row.event_id} ${row.subscription_id}`))
    expect(expected.filter((pair) => !stored.has(pair))).toEqual([])
    const received = new Set(receiver.requests.map(pairOf))
    expect([...stored].filter((pair) => !received.has(pair))).toEqual([])

    // The server did restart, and the worker, still running, listens for work again.
    expect(await serverStarted()).toBeGreaterThan(startedBefore ?? Number.POSITIVE_INFINITY)
    expect(worker.exitStatus(), worker.stderr()).toBeUndefined()
    const { rows: listeners } = await sql<{ n: number }>`
      SELECT count(*)::int AS n FROM pg_stat_activity WHERE query = ${`LISTEN ${WORK_CHANNEL}`}
    `.execute(db)
    expect(listeners[0]?.n).toBe(1)

    const workerExit = await worker.stop()
    expect(workerExit, worker.stderr()).toEqual({ code: 0, signal: null })

    const failed = ingest.of('failed')
    console.info(
      `restart: ${eventIds.length} events dispatched (${eventIds.length - dispatchedAfter().length} ` +
        `before or during the restart, ${dispatchedAfter().length} after), ${failed.length} dispatches ` +
        `rejected${failed[0] ? ` (first: ${failed[0].message})` : ''}; ${rows.length} deliveries, ` +
        `${receiver.requests.length} requests (${receiver.requests.length - received.size} twice); ` +
        `worker errors: ${worker.of('error').length}` +
        `${worker.of('error')[0] ? ` (first: ${worker.of('error')[0]?.message})` : ''}`,
    )
  }, 120_000)
})
