import { CompiledQuery, type Kysely } from 'kysely'
import type { Schema } from '../schema.ts'

/**
 * SQLite's outbox relay (migration 6). An application's transaction writes one outbox row per
 * event, its deliveries as JSON; the relay moves the oldest rows into `resthooks_events` and
 * `resthooks_deliveries` and deletes them, all in one transaction of its own, so that every
 * event arrives exactly once whichever process relays it (SQLite's write lock serialises them).
 *
 * The store relays before the worker claims, a batch at a time, and before any read of events
 * or deliveries (the API, the dashboard, the CLI), everything there is. Finding the outbox
 * empty costs one indexed read and no lock.
 */

/** Outbox rows (events) moved per transaction: the write lock is held for one batch at a time. */
export const RELAY_BATCH = 256

const pending = CompiledQuery.raw('SELECT seq FROM resthooks_outbox ORDER BY seq LIMIT 1')

const bound = (limit: number) =>
  CompiledQuery.raw(
    'SELECT max(seq) AS last, count(*) AS events FROM (SELECT seq FROM resthooks_outbox ORDER BY seq LIMIT ?)',
    [limit],
  )

const moveEvents = (last: number) =>
  CompiledQuery.raw(
    `INSERT INTO resthooks_events (id, name, owner, data, ref, created_at)
    SELECT id, name, owner, data, ref, created_at FROM resthooks_outbox WHERE seq <= ? ORDER BY seq`,
    [last],
  )

// Deliveries written at dispatch are pending and due at once, with no attempt yet.
const moveDeliveries = (last: number) =>
  CompiledQuery.raw(
    `INSERT INTO resthooks_deliveries (id, event_id, subscription_id, owner, status, attempts,
      next_attempt_at, lease_token, body, last_status, last_error, created_at, updated_at)
    SELECT d.value ->> 0, o.id, d.value ->> 1, d.value ->> 2, 'pending', 0, o.created_at, NULL,
      d.value ->> 3, NULL, NULL, o.created_at, o.created_at
    FROM resthooks_outbox AS o, json_each(o.deliveries) AS d
    WHERE o.seq <= ? AND o.deliveries IS NOT NULL
    ORDER BY o.seq, d.key`,
    [last],
  )

const forget = (last: number) =>
  CompiledQuery.raw('DELETE FROM resthooks_outbox WHERE seq <= ?', [last])

/**
 * Moves up to `limit` of the oldest outbox rows within `trx`, a transaction the caller holds
 * (the worker's claim goes in the same one); how many it moved.
 */
export async function moveOutboxRows(trx: Kysely<Schema>, limit = RELAY_BATCH): Promise<number> {
  const row = (await trx.executeQuery<{ last: number | null; events: number }>(bound(limit)))
    .rows[0]
  if (row?.last === null || row?.last === undefined) return 0
  const last = Number(row.last)
  await trx.executeQuery(moveEvents(last))
  await trx.executeQuery(moveDeliveries(last))
  await trx.executeQuery(forget(last))
  return Number(row.events)
}

/** Whether the outbox holds a row: one indexed read, no lock. */
export async function outboxPending(db: Kysely<Schema>): Promise<boolean> {
  return (await db.executeQuery(pending)).rows.length > 0
}

/** Relays until the outbox is empty, a batch per transaction of its own on `db`. */
export async function relayAll(db: Kysely<Schema>): Promise<void> {
  while (await outboxPending(db)) {
    if ((await db.transaction().execute((trx) => moveOutboxRows(trx))) < RELAY_BATCH) return
  }
}
