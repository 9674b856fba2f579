import type { SqlExecutor } from '../tx/sql-executor.ts'
import { PREPARED_STATEMENT } from './prepared-statement.ts'
import type { DeliveryTable, EventTable, SubscriptionTable } from './schema.ts'
import type { DispatchedEvent } from './store.ts'

type Dialect = 'sqlite' | 'postgres'

/**
 * The SQL expression that tells the workers listening on `channel` (PostgreSQL's LISTEN) that
 * deliveries are due; delivered when the transaction commits, never if it rolls back.
 */
export function notifySql(channel: string): string {
  return `pg_notify('${channel}', '')`
}

/**
 * The outbox's statements run inside the application's transactions, once per model change, so
 * they are written as plain SQL of fixed text (prepared once by the driver, nothing to build
 * per call) rather than through the query builder. On PostgreSQL they ask to be prepared
 * (PREPARED_STATEMENT), which the store's own pool does; an application's client ignores the
 * comment.
 */

const matchingText = new Map<string, string>()

/** The active subscriptions whose event is one of `patterns` (and, unless null, of `owner`). */
export async function findMatchingSubscriptions(
  dialect: Dialect,
  executor: SqlExecutor,
  patterns: readonly string[],
  owner: string | null,
): Promise<SubscriptionTable[]> {
  const key = `${dialect}:${patterns.length}:${owner === null ? '' : 'owner'}`
  let text = matchingText.get(key)
  if (text === undefined) {
    // Served by the index on (event, owner). An IN list of parameters rather than an array,
    // which not every bridged client (Prisma's raw queries) can bind.
    const mark = (i: number) => (dialect === 'postgres' ? `$${i + 1}` : '?')
    const list = patterns.map((_, i) => mark(i)).join(', ')
    const byOwner = owner === null ? '' : ` AND owner = ${mark(patterns.length)}`
    // On PostgreSQL, prepared once per connection when it runs on the store's own pool.
    const prepared = dialect === 'postgres' ? `${PREPARED_STATEMENT}\n` : ''
    text = `${prepared}SELECT * FROM resthooks_subscriptions WHERE event IN (${list}) AND status = 'active'${byOwner}`
    matchingText.set(key, text)
  }
  const values: unknown[] = owner === null ? [...patterns] : [...patterns, owner]
  const { rows } = await executor.executeSql(text, values)
  return rows as SubscriptionTable[]
}

const EVENT_COLUMNS = 'id, name, owner, data, ref, created_at'
const DELIVERY_COLUMNS =
  'id, event_id, subscription_id, owner, status, attempts, next_attempt_at, lease_token, body, last_status, last_error, created_at, updated_at'
const DELIVERY_COLUMN_COUNT = 13

function eventValues(event: EventTable): unknown[] {
  return [event.id, event.name, event.owner, event.data, event.ref, event.created_at]
}

/** Rows per multi-row INSERT on SQLite: well under its bound-parameter limit (32,766). */
const DELIVERIES_PER_INSERT = 500
const insertDeliveriesText = new Map<number, string>()

function insertDeliveries(count: number): string {
  let text = insertDeliveriesText.get(count)
  if (text === undefined) {
    const row = `(${Array.from({ length: DELIVERY_COLUMN_COUNT }, () => '?').join(', ')})`
    text = `INSERT INTO resthooks_deliveries (${DELIVERY_COLUMNS}) VALUES ${Array.from({ length: count }, () => row).join(', ')}`
    // Batches of the common sizes (a handful of subscriptions) stay prepared.
    if (count <= 64) insertDeliveriesText.set(count, text)
  }
  return text
}

function deliveryValues(rows: readonly DeliveryTable[]): unknown[] {
  const values: unknown[] = []
  for (const d of rows) {
    values.push(
      d.id,
      d.event_id,
      d.subscription_id,
      d.owner,
      d.status,
      d.attempts,
      d.next_attempt_at,
      d.lease_token,
      d.body,
      d.last_status,
      d.last_error,
      d.created_at,
      d.updated_at,
    )
  }
  return values
}

/**
 * The deliveries of an event as SQLite's outbox row holds them (migration 6),
 * `[[id, subscription_id, owner, body], …]`, null for none; undefined when a delivery is not the
 * plain pending one dispatch writes, due at the event's time (the relay writes every delivery
 * that way): such an event goes straight into the tables.
 */
export function outboxDeliveries(
  event: EventTable,
  deliveries: readonly DeliveryTable[],
): string | null | undefined {
  if (deliveries.length === 0) return null
  const at = event.created_at
  const rows: [string, string, string, string | null][] = []
  for (const d of deliveries) {
    const plain =
      d.event_id === event.id &&
      d.status === 'pending' &&
      d.attempts === 0 &&
      d.next_attempt_at === at &&
      d.created_at === at &&
      d.updated_at === at &&
      d.lease_token === null &&
      d.last_status === null &&
      d.last_error === null
    if (!plain) return undefined
    rows.push([d.id, d.subscription_id, d.owner, d.body])
  }
  return JSON.stringify(rows)
}

/**
 * Writes the event and its deliveries as one row of SQLite's outbox (migration 6): one
 * statement, atomic by itself, that appends to one B-tree. The store relays it into the tables.
 */
export async function writeOutboxRow(
  executor: SqlExecutor,
  event: EventTable,
  deliveries: string | null,
): Promise<void> {
  await executor.executeSql(
    `INSERT INTO resthooks_outbox (${EVENT_COLUMNS}, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?)`,
    [...eventValues(event), deliveries],
  )
}

/**
 * PostgreSQL's lookup and write in one call of `resthooks_dispatch_event` (migration 5; see
 * Store.dispatchEvent). The patterns and ids travel as JSON text, which every bridged client
 * binds (Prisma's raw queries cannot bind arrays); the answer is JSON text too.
 */
export async function dispatchEvent(
  executor: SqlExecutor,
  event: EventTable,
  patterns: readonly string[],
  deliveryIds: readonly string[],
  workChannel: string | null,
): Promise<DispatchedEvent> {
  const { rows } = await executor.executeSql(
    `${PREPARED_STATEMENT}\nSELECT resthooks_dispatch_event($1, $2, $3, $4, $5, $6, $7, $8, $9) AS dispatched`,
    [...eventValues(event), JSON.stringify(patterns), JSON.stringify(deliveryIds), workChannel],
  )
  const answer = (rows[0] as { dispatched?: unknown } | undefined)?.dispatched
  if (typeof answer !== 'string') {
    throw new Error(`resthooks_dispatch_event answered ${JSON.stringify(answer)}`)
  }
  const parsed = JSON.parse(answer) as {
    written?: number
    needIds?: number
    candidates?: SubscriptionTable[] | null
  }
  if (parsed.candidates !== undefined) return { candidates: parsed.candidates ?? [] }
  if (parsed.needIds !== undefined) return { needIds: parsed.needIds }
  return { written: parsed.written ?? 0 }
}

/**
 * Writes the event and its deliveries all or nothing, even when the application catches an
 * error and commits the rest of its transaction. On PostgreSQL that is one statement (the
 * deliveries travel as one JSON parameter), which also signals the workers (a NOTIFY on
 * `workChannel`, delivered when the transaction commits): with `viaFunction` (migration 4 applied) a call
 * of `resthooks_write_event`, whose statements PostgreSQL plans once per connection, else the
 * same work as one statement of CTEs, planned at every call when it goes unnamed (as it does in
 * an application's transaction). Either returns a plain column rather than the NOTIFY's `void`,
 * which some clients (Prisma) cannot read. On SQLite, where a statement inserts into one table,
 * the inserts share a savepoint.
 */
export async function writeEvent(
  dialect: Dialect,
  executor: SqlExecutor,
  event: EventTable,
  deliveries: readonly DeliveryTable[],
  workChannel: string | null,
  viaFunction = false,
): Promise<void> {
  if (dialect === 'postgres') {
    if (deliveries.length === 0) {
      await executor.executeSql(
        `${PREPARED_STATEMENT}\nINSERT INTO resthooks_events (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)`,
        eventValues(event),
      )
      return
    }
    if (viaFunction) {
      await executor.executeSql(
        `${PREPARED_STATEMENT}\nSELECT resthooks_write_event($1, $2, $3, $4, $5, $6, $7, $8) AS written`,
        [...eventValues(event), JSON.stringify(deliveries), workChannel],
      )
      return
    }
    await executor.executeSql(
      `${PREPARED_STATEMENT}\nWITH event AS (
        INSERT INTO resthooks_events (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
      ), deliveries AS (
        INSERT INTO resthooks_deliveries (${DELIVERY_COLUMNS})
        SELECT ${DELIVERY_COLUMNS} FROM json_populate_recordset(NULL::resthooks_deliveries, $7::json)
      )
      SELECT 1 AS written${workChannel ? ` FROM (SELECT ${notifySql(workChannel)}) AS signal` : ''}`,
      [...eventValues(event), JSON.stringify(deliveries)],
    )
    return
  }
  const insertEvent = `INSERT INTO resthooks_events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`
  if (deliveries.length === 0) {
    // One statement is atomic by itself.
    await executor.executeSql(insertEvent, eventValues(event))
    return
  }
  await executor.executeSql('SAVEPOINT resthooks_outbox', [])
  try {
    await executor.executeSql(insertEvent, eventValues(event))
    for (let i = 0; i < deliveries.length; i += DELIVERIES_PER_INSERT) {
      const chunk = deliveries.slice(i, i + DELIVERIES_PER_INSERT)
      await executor.executeSql(insertDeliveries(chunk.length), deliveryValues(chunk))
    }
  } catch (error) {
    try {
      await executor.executeSql('ROLLBACK TO SAVEPOINT resthooks_outbox', [])
      await executor.executeSql('RELEASE SAVEPOINT resthooks_outbox', [])
    } catch {
      // The database ended the whole transaction itself, and the savepoint with it (SQLite does
      // after SQLITE_FULL, a full disk, or SQLITE_IOERR): nothing was written. The error that
      // caused it is the one the caller needs, not "no such savepoint".
    }
    throw error
  }
  await executor.executeSql('RELEASE SAVEPOINT resthooks_outbox', [])
}
