import { DatabaseSync } from 'node:sqlite'
import { Kysely, sql } from 'kysely'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHooks, fromKysely, fromNodeSqlite } from '../src/index.ts'
import { NodeSqliteDialect } from '../src/store/sqlite/index.ts'
import { bookEvents, bookstoreHooks } from './support/bookstore.ts'
import { countSql } from './support/committed-rows.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let receiver: Receiver
let app: DatabaseSync

const book = { id: 7, title: 'Emma', ownerId: 'u1' }

beforeEach(async () => {
  env = await bookstoreHooks()
  receiver = await startReceiver()
  // The application's own connection to the same file, with its own table.
  app = new DatabaseSync(env.path, { timeout: 5000 })
  app.exec('CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT, owner_id TEXT)')
  await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
  await env.hooks.subscribe({ owner: 'u1', event: 'book.*', target: `${receiver.url}/all` })
})

afterEach(async () => {
  app.close()
  await env.close()
  await receiver.close()
})

/** The rows a table holds, the outbox's not counted (see `count` for what committed). */
function rawCount(table: string): number {
  return Number((app.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n)
}

/** Makes every insert into `table` fail with 'refused'; returns what lets them through again. */
function refuseInserts(table: string): () => void {
  app.exec(`CREATE TRIGGER refuse BEFORE INSERT ON ${table}
    BEGIN SELECT RAISE(ABORT, 'refused'); END`)
  return () => app.exec('DROP TRIGGER refuse')
}

function count(table: string): number {
  return Number((app.prepare(countSql(table, 'sqlite')).get() as { n: number | bigint }).n)
}

describe('the transactional outbox', () => {
  it('node:sqlite: a rollback leaves no event and no delivery', async () => {
    app.exec('BEGIN')
    app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(7, 'Emma', 'u1')
    await env.hooks.modelEvent('Book', 'created', book, { tx: fromNodeSqlite(app) })
    app.exec('ROLLBACK')
    expect([count('book'), count('resthooks_events'), count('resthooks_deliveries')]).toEqual([
      0, 0, 0,
    ])
    await env.hooks.deliverPending()
    expect(receiver.requests).toHaveLength(0)
  })

  it('node:sqlite: a commit leaves exactly one delivery per matching subscription', async () => {
    app.exec('BEGIN')
    app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(7, 'Emma', 'u1')
    const result = await env.hooks.modelEvent('Book', 'created', book, { tx: app })
    app.exec('COMMIT')
    expect(result?.deliveries).toBe(2)
    expect([count('book'), count('resthooks_events'), count('resthooks_deliveries')]).toEqual([
      1, 1, 2,
    ])
    await env.hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/', '/all'])
  })

  it('node:sqlite: resthooks prepares its statements once per connection, not at every event', async () => {
    const prepared: string[] = []
    const connection = {
      prepare: (text: string) => {
        prepared.push(text)
        return app.prepare(text)
      },
      exec: (text: string) => app.exec(text),
    }
    const create = async (id: number) => {
      app.exec('BEGIN')
      app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(id, 'Emma', 'u1')
      await env.hooks.modelEvent('Book', 'created', { ...book, id }, { tx: connection })
      app.exec('COMMIT')
    }
    await create(1)
    const once = prepared.length
    expect(once).toBeGreaterThan(0)
    for (let id = 2; id <= 5; id++) await create(id)
    expect(prepared).toHaveLength(once)
    // Every event still committed, with its deliveries.
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 10 })
  })

  it('Kysely: the outbox commits and rolls back with the application’s transaction', async () => {
    const db = new Kysely<{ book: { id: number; title: string; owner_id: string } }>({
      dialect: new NodeSqliteDialect({ database: new DatabaseSync(env.path) }),
    })
    try {
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('book').values({ id: 1, title: 'Emma', owner_id: 'u1' }).execute()
          await env.hooks.modelEvent('Book', 'created', book, { tx: fromKysely(trx) })
          throw new Error('the application changed its mind')
        }),
      ).rejects.toThrow('changed its mind')
      expect([count('book'), count('resthooks_deliveries')]).toEqual([0, 0])

      await db.transaction().execute(async (trx) => {
        await trx.insertInto('book').values({ id: 2, title: 'Emma', owner_id: 'u1' }).execute()
        await env.hooks.modelEvent('Book', 'created', book, { tx: trx })
      })
      expect([count('book'), count('resthooks_events'), count('resthooks_deliveries')]).toEqual([
        1, 1, 2,
      ])
    } finally {
      await db.destroy()
    }
  })

  it('a failed outbox write inside the application’s transaction leaves none of its rows', async () => {
    app.exec('BEGIN')
    app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(7, 'Emma', 'u1')
    const allow = refuseInserts('resthooks_outbox')
    await expect(env.hooks.modelEvent('Book', 'created', book, { tx: app })).rejects.toThrow(
      'refused',
    )
    allow()
    // The application caught the error and committed its own change anyway.
    app.exec('COMMIT')
    expect([count('book'), count('resthooks_events'), count('resthooks_deliveries')]).toEqual([
      1, 0, 0,
    ])
  })

  it('an event waits in the outbox table, one row, until the worker or a read moves it into the tables', async () => {
    await env.hooks.modelEvent('Book', 'created', book, { tx: fromNodeSqlite(app) })
    expect([
      rawCount('resthooks_outbox'),
      rawCount('resthooks_events'),
      rawCount('resthooks_deliveries'),
    ]).toEqual([1, 0, 0])
    // A read relays first: the feed shows the event, the log its deliveries.
    expect(await env.hooks.listEvents({ owner: 'u1' })).toMatchObject({
      data: [{ type: 'book.added' }],
    })
    expect([
      rawCount('resthooks_outbox'),
      rawCount('resthooks_events'),
      rawCount('resthooks_deliveries'),
    ]).toEqual([0, 1, 2])
    await env.hooks.modelEvent('Book', 'created', { ...book, id: 8 })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 4 })
    expect(rawCount('resthooks_outbox')).toBe(0)
    expect(receiver.requests).toHaveLength(4)
  })

  it('two processes relaying the same outbox at once move each event exactly once, in batches', async () => {
    // More events than one relay batch (256), written by the application's own transactions.
    app.exec('BEGIN')
    for (let i = 0; i < 600; i++) {
      await env.hooks.modelEvent('Book', 'created', { ...book, id: 1000 + i }, { tx: app })
    }
    app.exec('COMMIT')
    const other = createHooks({
      store: env.reopen(),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    try {
      await Promise.all([
        env.hooks.store.relayOutbox?.(),
        other.store.relayOutbox?.(),
        other.countDeliveries({ status: 'pending' }),
      ])
      const rows = (query: string) => Number((app.prepare(query).get() as { n: number }).n)
      expect(rows('SELECT count(*) AS n FROM resthooks_outbox')).toBe(0)
      expect(rows('SELECT count(DISTINCT id) AS n FROM resthooks_events')).toBe(600)
      expect(rows('SELECT count(*) AS n FROM resthooks_events')).toBe(600)
      expect(rows('SELECT count(DISTINCT id) AS n FROM resthooks_deliveries')).toBe(1200)
      expect(rows('SELECT count(*) AS n FROM resthooks_deliveries')).toBe(1200)
      // Each delivery as dispatch wrote it: pending, due at its event's time, of its subscription.
      expect(
        rows(`SELECT count(*) AS n FROM resthooks_deliveries AS d
          JOIN resthooks_events AS e ON e.id = d.event_id
          JOIN resthooks_subscriptions AS s ON s.id = d.subscription_id AND s.owner = d.owner
          WHERE d.status = 'pending' AND d.attempts = 0 AND d.next_attempt_at = e.created_at
            AND d.created_at = e.created_at AND d.body IS NULL AND d.lease_token IS NULL`),
      ).toBe(1200)
      // The feed keeps the order of the writes.
      const feed = await env.hooks.listEvents({ owner: 'u1', limit: 250 })
      expect(feed.data.map((e) => (e.data as { id: number }).id)).toEqual(
        Array.from({ length: 250 }, (_, i) => 1000 + i),
      )
    } finally {
      await other.close()
    }
  })

  it('a database migrated before the outbox table (migration 6) gets its events written into the tables, all or nothing', async () => {
    app.exec('DROP TABLE resthooks_outbox')
    app.exec('DELETE FROM resthooks_migrations WHERE version >= 6')
    // Another process of an older version opened it: this store was never asked to migrate.
    const older = {
      hooks: createHooks({
        store: env.reopen(),
        events: { ...bookEvents },
        allowTargets: ['127.0.0.0/8'],
      }),
      close: () => older.hooks.close(),
    }
    try {
      await older.hooks.modelEvent('Book', 'created', book)
      expect([rawCount('resthooks_events'), rawCount('resthooks_deliveries')]).toEqual([1, 2])
      // The event row is written, then its deliveries are refused: neither stays.
      app.exec('BEGIN')
      const allow = refuseInserts('resthooks_deliveries')
      await expect(older.hooks.modelEvent('Book', 'created', book, { tx: app })).rejects.toThrow(
        'refused',
      )
      allow()
      app.exec('COMMIT')
      expect([rawCount('resthooks_events'), rawCount('resthooks_deliveries')]).toEqual([1, 2])
      expect(await older.hooks.deliverPending()).toMatchObject({ succeeded: 2 })
    } finally {
      await older.close()
    }
  })

  it('a running worker does not deadlock against an application transaction held across awaits', async () => {
    const worker = env.hooks.worker({ pollIntervalMs: 10 })
    await worker.start()
    app.exec('BEGIN IMMEDIATE')
    app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(7, 'Emma', 'u1')
    await env.hooks.modelEvent('Book', 'created', book, { tx: app })
    // The worker polls while the application holds the write lock.
    await new Promise((resolve) => setTimeout(resolve, 200))
    app.exec('COMMIT')
    await receiver.waitFor(2, 5000)
    await worker.stop()
    expect(receiver.requests).toHaveLength(2)
  })

  it('a tx that is not a transaction is a clear error, and nothing is written', async () => {
    await expect(
      env.hooks.modelEvent('Book', 'created', book, { tx: { not: 'a transaction' } }),
    ).rejects.toThrow(/options.tx must be/)
    expect(count('resthooks_events')).toBe(0)
  })

  it('with enabled: false nothing is written', async () => {
    const off = await bookstoreHooks({ enabled: false })
    try {
      await off.hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      expect(await off.hooks.modelEvent('Book', 'created', book)).toBeNull()
      expect(await off.hooks.rawEvent('user.logged_in', {}, { owner: 'u1' })).toBeNull()
      expect(await off.hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    } finally {
      await off.close()
    }
  })

  it('the match option narrows the subscriptions an event goes to', async () => {
    const narrow = await bookstoreHooks({
      match: (subscription, event) =>
        subscription.metadata.minPages === undefined ||
        (event.data as { pages: number }).pages >= Number(subscription.metadata.minPages),
    })
    try {
      await narrow.hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: receiver.url,
        metadata: { minPages: 100 },
      })
      await narrow.hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      const short = await narrow.hooks.modelEvent('Book', 'created', { ...book, pages: 50 })
      const long = await narrow.hooks.modelEvent('Book', 'created', { ...book, pages: 500 })
      expect([short?.deliveries, long?.deliveries]).toEqual([1, 2])
    } finally {
      await narrow.close()
    }
  })

  it('a payload over the maximum body size is a clear error and writes nothing', async () => {
    const small = await bookstoreHooks({ maxBodyBytes: 1024 })
    try {
      await expect(
        small.hooks.rawEvent('user.logged_in', { blob: 'x'.repeat(2000) }, { owner: 'u1' }),
      ).rejects.toThrow(/over the maximum body size of 1024 bytes/)
      const { rows } = await sql<{
        n: number
      }>`${sql.raw(countSql('resthooks_events', 'sqlite'))}`.execute(small.hooks.store.db)
      expect(Number(rows[0]?.n)).toBe(0)
    } finally {
      await small.close()
    }
  })
  it("SQLite: the worker's bookkeeping commits without fsync, yet every other write keeps synchronous=FULL", async () => {
    // The worker relaxes `synchronous` only while it holds the store's one connection: whatever
    // else runs on that connection meanwhile (the application's transactions, the API) waits,
    // and then sees FULL again.
    for (let i = 0; i < 40; i++) {
      await env.hooks.modelEvent('Book', 'created', { ...book, id: 100 + i })
    }
    const seen = new Set<number>()
    let sampling = true
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await sql<{ synchronous: number }>`PRAGMA synchronous`.execute(
          env.hooks.store.db,
        )
        seen.add(Number(rows[0]?.synchronous))
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    const totals = await env.hooks.deliverPending({ concurrency: 4 })
    sampling = false
    await sampler
    expect(totals.succeeded).toBe(80)
    expect(receiver.requests).toHaveLength(80)
    expect([...seen]).toEqual([2]) // FULL
  })
  it("a worker in the application's process wakes at the commit of a transaction on the store's own connection", async () => {
    // PRAGMA data_version counts other connections' commits only: a transaction through
    // hooks.store.db (the one connection) used to wake the worker only at its next poll.
    const worker = env.hooks.worker({ pollIntervalMs: 60_000 })
    await worker.start()
    try {
      await new Promise((resolve) => setTimeout(resolve, 100)) // its first pass, then idle
      const started = Date.now()
      await env.hooks.store.db.transaction().execute(async (trx) => {
        await env.hooks.modelEvent('Book', 'created', book, { tx: trx })
      })
      await receiver.waitFor(2, 5_000)
      expect(Date.now() - started).toBeLessThan(5_000) // well before the 60 s poll
    } finally {
      await worker.stop()
    }
  })
})
