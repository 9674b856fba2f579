/**
 * At scale, PostgreSQL serves the hot queries from indexes: the worker's claim, a subscription's
 * delivery log, an owner's event feed, the retention scan and the dispatch lookup. The queries
 * are the store's own (captured as they run), planned against 200,000 deliveries.
 */
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as deliveries from '../../src/store/delivery-queries.ts'
import * as events from '../../src/store/event-queries.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import type { Schema } from '../../src/store/schema.ts'
import type { Store } from '../../src/store/store.ts'
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts'

let database: TestDatabase
let store: Store
let db: Kysely<Schema>
const captured: { sql: string; parameters: readonly unknown[] }[] = []

beforeAll(async () => {
  database = await createTestDatabase()
  store = postgresStore({ connectionString: database.url, maxConnections: 2 })
  await store.migrate()
  // 2,000 owners × 5 subscriptions; 50,000 events × 4 deliveries, nearly all finished.
  await store.db.transaction().execute(async (trx) => {
    for (const statement of [
      `INSERT INTO resthooks_subscriptions (id, owner, event, target, secret, created_at, updated_at)
       SELECT 'hook_' || lpad(n::text, 8, '0'), 'owner' || (n % 2000), 'book.added',
              'https://e.com', 's', n, n
       FROM generate_series(1, 10000) AS n`,
      `INSERT INTO resthooks_events (id, name, owner, data, created_at)
       SELECT 'evt_' || lpad(n::text, 8, '0'), 'book.added', 'owner' || (n % 2000), '{}', n * 1000
       FROM generate_series(1, 50000) AS n`,
      `INSERT INTO resthooks_deliveries (id, event_id, subscription_id, owner, status,
         next_attempt_at, created_at, updated_at, attempts)
       SELECT 'dlv_' || lpad(n::text, 9, '0'), 'evt_' || lpad((n / 4 + 1)::text, 8, '0'),
              'hook_' || lpad((n % 10000 + 1)::text, 8, '0'), 'owner' || (n % 2000),
              CASE WHEN n % 500 = 0 THEN 'pending' ELSE 'succeeded' END, n * 250, n * 250,
              n * 250, 1
       FROM generate_series(0, 199999) AS n`,
      'ANALYZE',
    ]) {
      await sql.raw(statement).execute(trx)
    }
  })
  // The store's queries, run on a Kysely of our own that records what it sends.
  db = new Kysely<Schema>({
    dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url, max: 2 }) }),
    log: (event) => {
      if (event.level === 'query') captured.push(event.query)
    },
  })
}, 120_000)

afterAll(async () => {
  await db?.destroy()
  await store?.close()
  await database?.drop()
})

/** The plan of the last statement the store ran that matches, as text (EXPLAIN runs nothing). */
async function planOfLast(match: RegExp): Promise<string> {
  const query = captured.findLast((q) => match.test(q.sql))
  if (!query) throw new Error(`no query matching ${match}`)
  const { rows } = await db.executeQuery<{ 'QUERY PLAN': string }>(
    CompiledQuery.raw(`EXPLAIN ${query.sql}`, [...query.parameters]),
  )
  return rows.map((row) => row['QUERY PLAN']).join('\n')
}

describe('PostgreSQL plans at scale', () => {
  it("the worker's claim reads the partial index of pending deliveries", async () => {
    await deliveries.claimDeliveries(db, 'postgres', 100, 60_000, 0)
    const plan = await planOfLast(/due AS \(/)
    expect(plan).toMatch(/Index Scan using resthooks_deliveries_due/)
    expect(plan).toMatch(/LockRows/)
    expect(plan).not.toMatch(/Seq Scan/)
  })

  it("a subscription's delivery log reads its index", async () => {
    await deliveries.listDeliveries(db, { subscriptionId: 'hook_00000042', limit: 50 })
    const plan = await planOfLast(/from "resthooks_deliveries" where "subscription_id"/)
    expect(plan).toMatch(/Index Scan.* (using|on) resthooks_deliveries_subscription/)
    expect(plan).not.toMatch(/Seq Scan/)
  })

  it("an owner's event feed reads the owner index, not every event", async () => {
    await events.listEvents(db, 'owner7', 'evt_00010000', 100)
    const plan = await planOfLast(/from "resthooks_events"/)
    expect(plan).toMatch(/resthooks_events_owner/)
    expect(plan).not.toMatch(/Seq Scan/)
  })

  it('retention finds old finished deliveries through its partial index', async () => {
    await events.pruneBatch(db, 1_000_000, 1000)
    const plan = await planOfLast(/^select "id" from "resthooks_deliveries" where "status" <>/)
    expect(plan).toMatch(/Index Scan using resthooks_deliveries_finished/)
    expect(plan).not.toMatch(/Seq Scan/)
  })
})
