/**
 * The least a durable delivery queue does, as a ceiling for the throughput benchmarks: what any
 * sender that keeps its deliveries in the database (so that none is lost) could reach on this
 * machine, measured in the same run as resthooks and the raw baseline.
 *
 * One table of deliveries with their URL and body, written in the application's transaction. A
 * worker claims up to its free slots with a lease (an UPDATE … RETURNING of the oldest pending
 * rows, `FOR UPDATE SKIP LOCKED` on PostgreSQL), POSTs each body with undici's `request()` as
 * the raw baseline does, and records the successes in batches (one UPDATE of their ids, 5 ms
 * after the first one waiting), its bookkeeping committed without waiting for the disk
 * (SQLite `synchronous=NORMAL`, PostgreSQL `synchronous_commit=off`), as resthooks' worker does.
 *
 * It has none of what resthooks does besides: no signature, no envelope rendered at send time,
 * no attempt rows (the request and response kept for the delivery log), no retries, no
 * per-origin limits, no SSRF guard, no wake-up on new work, no subscription state checked at
 * send time. So it is a ceiling, not a competitor: the figure says how much of the gap to the
 * raw baseline belongs to keeping deliveries in a database at all on this machine.
 *
 * With `contract: true` (`bareWorker`'s option; SQLite only) it also does the least PRODUCT.md
 * asks of every delivery: the request signed (Standard Webhooks: `webhook-id`,
 * `webhook-timestamp` and an HMAC-SHA256 `webhook-signature`), and an attempt row per request
 * with the response's status, headers and body and the duration, written in the transaction
 * that marks the delivery done.
 * With `keepRequests: true` the attempt also keeps the request's headers and body, as resthooks'
 * delivery log does (the contract does not ask for them). Still no envelope rendering, no
 * retries.
 */

import { createHmac, randomBytes } from 'node:crypto'
import type { DatabaseSync } from 'node:sqlite'
import type pg from 'pg'
import { Agent, request } from 'undici'

/** A claimed delivery: where it goes and what it sends. */
export interface BareJob {
  id: number
  url: string
  body: string
}

/** What the contract keeps of an attempt (PRODUCT.md): the response, and how long it took. */
export interface BareAttempt {
  deliveryId: number
  startedAt: number
  durationMs: number
  status: number
  headers: string
  body: string
}

/** The queue's statements. */
export interface BareQueue {
  /** Leases up to `limit` pending deliveries, oldest first. */
  claim(limit: number): Promise<BareJob[]>
  /** Marks these deliveries as done, with their attempts (when kept) in the same transaction. */
  done(ids: number[], attempts: BareAttempt[]): Promise<void>
}

/** How long a claim holds its deliveries. */
const LEASE_MS = 60_000
/** How long a success waits for others before they are recorded together. */
const RECORDING_DELAY_MS = 5
/** How long an idle worker waits before it looks again. */
const IDLE_POLL_MS = 5

// ---------------------------------------------------------------------------------------------
// SQLite (node:sqlite)

export const BARE_SQLITE_SCHEMA = `
  CREATE TABLE bare_deliveries (
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL,
    body TEXT NOT NULL,
    status INTEGER NOT NULL DEFAULT 0,
    lease_until INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX bare_deliveries_pending ON bare_deliveries (id) WHERE status = 0;
  CREATE TABLE bare_attempts (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL,
    started_at INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    response_status INTEGER NOT NULL,
    response_headers TEXT NOT NULL,
    response_body TEXT NOT NULL
  );
  CREATE INDEX bare_attempts_delivery ON bare_attempts (delivery_id);
`

/** Writes an event's deliveries on `db`, inside the application's transaction. */
export function sqliteBareEnqueue(
  db: DatabaseSync,
): (jobs: readonly Omit<BareJob, 'id'>[]) => void {
  const insert = db.prepare('INSERT INTO bare_deliveries (url, body) VALUES (?, ?)')
  return (jobs) => {
    for (const job of jobs) insert.run(job.url, job.body)
  }
}

/** The queue on a `node:sqlite` connection of the worker's own. */
export function sqliteBareQueue(db: DatabaseSync): BareQueue {
  db.exec('PRAGMA synchronous = NORMAL')
  const claim = db.prepare(
    `UPDATE bare_deliveries SET lease_until = ?
      WHERE id IN (SELECT id FROM bare_deliveries
                    WHERE status = 0 AND lease_until < ? ORDER BY id LIMIT ?)
      RETURNING id, url, body`,
  )
  const done = db.prepare(
    'UPDATE bare_deliveries SET status = 1 WHERE id IN (SELECT value FROM json_each(?))',
  )
  const attempt = db.prepare(
    `INSERT INTO bare_attempts (delivery_id, started_at, duration_ms, response_status,
       response_headers, response_body) VALUES (?, ?, ?, ?, ?, ?)`,
  )
  return {
    async claim(limit) {
      const now = Date.now()
      return claim.all(now + LEASE_MS, now, limit) as unknown as BareJob[]
    },
    async done(ids, attempts) {
      if (attempts.length === 0) {
        done.run(JSON.stringify(ids))
        return
      }
      db.exec('BEGIN IMMEDIATE')
      try {
        for (const a of attempts) {
          attempt.run(a.deliveryId, a.startedAt, a.durationMs, a.status, a.headers, a.body)
        }
        done.run(JSON.stringify(ids))
        db.exec('COMMIT')
      } catch (error) {
        db.exec('ROLLBACK')
        throw error
      }
    },
  }
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL (pg)

export const BARE_POSTGRES_SCHEMA = `
  CREATE TABLE bare_deliveries (
    id bigserial PRIMARY KEY,
    url text NOT NULL,
    body text NOT NULL,
    status smallint NOT NULL DEFAULT 0,
    lease_until timestamptz NOT NULL DEFAULT '-infinity'
  );
  CREATE INDEX bare_deliveries_pending ON bare_deliveries (id) WHERE status = 0;
`

/** Writes the deliveries of one event in one statement, on the application's transaction. */
export async function enqueueOnPostgres(
  client: pg.PoolClient,
  jobs: readonly Omit<BareJob, 'id'>[],
): Promise<void> {
  await client.query({
    name: 'bare_enqueue',
    text: 'INSERT INTO bare_deliveries (url, body) SELECT * FROM unnest($1::text[], $2::text[])',
    values: [jobs.map((job) => job.url), jobs.map((job) => job.body)],
  })
}

/**
 * The queue on a pool of the worker's own, whose connections commit without waiting for the
 * WAL flush (`options: '-c synchronous_commit=off'`).
 */
export function postgresBareQueue(pool: pg.Pool): BareQueue {
  return {
    async claim(limit) {
      const { rows } = await pool.query<{ id: string; url: string; body: string }>({
        name: 'bare_claim',
        text: `WITH claimed AS (
                 SELECT id FROM bare_deliveries
                  WHERE status = 0 AND lease_until < now()
                  ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
               UPDATE bare_deliveries d SET lease_until = now() + $2 * interval '1 millisecond'
                 FROM claimed WHERE d.id = claimed.id
               RETURNING d.id, d.url, d.body`,
        values: [limit, LEASE_MS],
      })
      return rows.map((row) => ({ id: Number(row.id), url: row.url, body: row.body }))
    },
    async done(ids, attempts) {
      // bench/postgres.ts measures the bare queue alone: PostgreSQL's ceiling is far enough
      // under its targets without the contract's work on top.
      if (attempts.length > 0) throw new Error('the PostgreSQL bare queue keeps no attempts')
      await pool.query({
        name: 'bare_done',
        text: 'UPDATE bare_deliveries SET status = 1 WHERE id = ANY($1::bigint[])',
        values: [ids],
      })
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The worker

export interface BareWorker {
  start(): void
  /** Stops claiming, waits for the requests in flight and records them. */
  stop(): Promise<void>
  close(): Promise<void>
  readonly succeeded: number
  readonly failed: number
}

/**
 * Keeps up to `concurrency` requests in flight: claims once half the slots are free (as
 * resthooks' worker does), records successes in batches. A failed request is left to its
 * lease (not retried within a run; the benchmarks' receiver answers 200).
 */
export function bareWorker(
  queue: BareQueue,
  concurrency: number,
  onError: (error: Error) => void,
  options: { contract?: boolean; keepRequests?: boolean } = {},
): BareWorker {
  const agent = new Agent()
  const baseHeaders = { 'content-type': 'application/json', 'user-agent': 'bench/bare' }
  const key = randomBytes(32)
  const contract = options.contract === true
  const keepRequests = options.keepRequests === true
  let attempts: BareAttempt[] = []
  let running = false
  let inFlight = 0
  let succeeded = 0
  let failed = 0
  let waiting: number[] = []
  let recording: Promise<void> | undefined
  let recordTimer: NodeJS.Timeout | undefined
  let wake: (() => void) | undefined
  let loop: Promise<void> | undefined
  let drained: (() => void) | undefined

  const signal = () => {
    const resume = wake
    wake = undefined
    resume?.()
  }

  function recordSoon(): void {
    if (recordTimer || recording) return
    recordTimer = setTimeout(() => {
      recordTimer = undefined
      void record()
    }, RECORDING_DELAY_MS)
  }

  async function record(): Promise<void> {
    const ids = waiting
    const kept = attempts
    waiting = []
    attempts = []
    if (ids.length === 0) return
    recording = queue
      .done(ids, kept)
      .catch((error: Error) => onError(error))
      .finally(() => {
        recording = undefined
        if (waiting.length > 0) recordSoon()
      })
    await recording
  }

  async function post(job: BareJob): Promise<void> {
    try {
      const startedAt = Date.now()
      let headers: Record<string, string> = baseHeaders
      if (contract) {
        const id = `msg_${job.id}`
        const timestamp = String(Math.floor(startedAt / 1000))
        const signature = createHmac('sha256', key)
          .update(`${id}.${timestamp}.${job.body}`)
          .digest('base64')
        headers = {
          ...baseHeaders,
          'webhook-id': id,
          'webhook-timestamp': timestamp,
          'webhook-signature': `v1,${signature}`,
        }
      }
      const response = await request(job.url, {
        method: 'POST',
        headers,
        body: job.body,
        dispatcher: agent,
      })
      const text = await response.body.text()
      if (response.statusCode !== 200) throw new Error(`HTTP ${response.statusCode}`)
      succeeded++
      waiting.push(job.id)
      if (contract) {
        attempts.push({
          deliveryId: job.id,
          startedAt,
          durationMs: Date.now() - startedAt,
          status: response.statusCode,
          // With keepRequests, the request's headers and body beside the response's headers.
          headers: JSON.stringify(
            keepRequests
              ? {
                  request: headers,
                  requestBody: job.body.slice(0, 4096),
                  response: response.headers,
                }
              : response.headers,
          ),
          body: text.slice(0, 8192),
        })
      }
      recordSoon()
    } catch (error) {
      failed++
      onError(error as Error)
    } finally {
      inFlight--
      if (inFlight <= concurrency / 2) signal()
      if (inFlight === 0) drained?.()
    }
  }

  async function run(): Promise<void> {
    while (running) {
      const free = concurrency - inFlight
      if (free >= Math.ceil(concurrency / 2)) {
        let jobs: BareJob[]
        try {
          jobs = await queue.claim(free)
        } catch (error) {
          onError(error as Error)
          jobs = []
        }
        for (const job of jobs) {
          inFlight++
          void post(job)
        }
        if (jobs.length === 0 && inFlight === 0) {
          await new Promise((resolve) => setTimeout(resolve, IDLE_POLL_MS))
          continue
        }
      }
      if (!running) break
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  }

  return {
    get succeeded() {
      return succeeded
    },
    get failed() {
      return failed
    },
    start() {
      if (running) return
      running = true
      succeeded = 0
      failed = 0
      loop = run()
    },
    async stop() {
      running = false
      signal()
      await loop
      if (inFlight > 0) {
        await new Promise<void>((resolve) => {
          drained = resolve
        })
        drained = undefined
      }
      clearTimeout(recordTimer)
      recordTimer = undefined
      await recording
      await record()
    },
    close: () => agent.close(),
  }
}
