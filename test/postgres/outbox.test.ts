/**
 * The transactional outbox on PostgreSQL: the event and its deliveries commit or roll back with
 * the application's own transaction (a `pg` client inside BEGIN, or a Kysely transaction over
 * `pg`), and a commit wakes a worker in another process (LISTEN/NOTIFY) while a rollback does not.
 */
import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHooks, fromPg, type Hooks, type SqlExecutor } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { bookEvents } from '../support/bookstore.ts'
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

let database: TestDatabase
let hooks: Hooks
let pool: pg.Pool
let receiver: Receiver

const book = { id: 7, title: 'Emma', ownerId: 'u1' }

beforeEach(async () => {
  database = await createTestDatabase()
  // The application's own pool, shared with resthooks, and its own table.
  pool = new pg.Pool({ connectionString: database.url, max: 4 })
  await pool.query('CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT, owner_id TEXT)')
  hooks = createHooks({
    store: postgresStore({ pool }),
    events: { ...bookEvents },
    allowTargets: ['127.0.0.0/8'],
  })
  await hooks.migrate()
  receiver = await startReceiver()
  await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
  await hooks.subscribe({ owner: 'u1', event: 'book.*', target: `${receiver.url}/all` })
})

afterEach(async () => {
  await hooks.close()
  // The store borrowed the application's pool: closing resthooks leaves it open.
  expect((await pool.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }])
  await pool.end()
  await receiver.close()
  await database.drop()
})

async function counts(): Promise<number[]> {
  const { rows } = await pool.query(`SELECT
    (SELECT count(*) FROM book)::int AS books,
    (SELECT count(*) FROM resthooks_events)::int AS events,
    (SELECT count(*) FROM resthooks_deliveries)::int AS deliveries`)
  return [rows[0].books, rows[0].events, rows[0].deliveries]
}

/** Runs `fn` in a transaction on one client of the pool; COMMIT, or ROLLBACK when it throws. */
async function inTransaction(fn: (client: pg.PoolClient) => Promise<void>, commit = true) {
  const client = await pool.connect()
  try {
    await client.query('BEGIN')
    await fn(client)
    await client.query(commit ? 'COMMIT' : 'ROLLBACK')
  } finally {
    client.release()
  }
}

/** Makes every insert into resthooks_deliveries fail with 'refused'. */
async function refuseDeliveries(): Promise<void> {
  await pool.query(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN RAISE EXCEPTION 'refused'; END $$`)
  await pool.query(`CREATE TRIGGER refuse BEFORE INSERT ON resthooks_deliveries
    FOR EACH ROW EXECUTE FUNCTION refuse()`)
}

/** In `client`'s open transaction: the book's row, then its event, which must fail with `error`. */
async function bookWithFailingEvent(client: pg.PoolClient, error: string): Promise<void> {
  await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
  await expect(hooks.modelEvent('Book', 'created', book, { tx: client })).rejects.toThrow(error)
}

/** `client` as resthooks' executor, noting the text of every statement resthooks runs on it. */
function recordingBridge(client: pg.PoolClient, statements: string[]): SqlExecutor {
  const bridge = fromPg(client)
  return {
    executeSql(text, values) {
      statements.push(text)
      return bridge.executeSql(text, values)
    },
  }
}

describe('the transactional outbox on PostgreSQL', () => {
  it('pg client: a rollback leaves no event and no delivery, a commit leaves one per subscription', async () => {
    await inTransaction(async (client) => {
      await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
      await hooks.modelEvent('Book', 'created', book, { tx: fromPg(client) })
    }, false)
    expect(await counts()).toEqual([0, 0, 0])

    let deliveries: number | undefined
    await inTransaction(async (client) => {
      await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
      // The client itself, detected as a pg client.
      deliveries = (await hooks.modelEvent('Book', 'created', book, { tx: client }))?.deliveries
    })
    expect(deliveries).toBe(2)
    expect(await counts()).toEqual([1, 1, 2])
    await hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/', '/all'])
  })

  it('Kysely over pg: the outbox commits and rolls back with the application’s transaction', async () => {
    const db = new Kysely<{ book: { id: number; title: string; owner_id: string } }>({
      dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: database.url }) }),
    })
    try {
      await expect(
        db.transaction().execute(async (trx) => {
          await trx.insertInto('book').values({ id: 1, title: 'Emma', owner_id: 'u1' }).execute()
          await hooks.modelEvent('Book', 'created', book, { tx: trx })
          throw new Error('the application changed its mind')
        }),
      ).rejects.toThrow('changed its mind')
      expect(await counts()).toEqual([0, 0, 0])
      await db.transaction().execute(async (trx) => {
        await trx.insertInto('book').values({ id: 2, title: 'Emma', owner_id: 'u1' }).execute()
        await hooks.modelEvent('Book', 'created', book, { tx: trx })
      })
      expect(await counts()).toEqual([1, 1, 2])
    } finally {
      await db.destroy()
    }
  })

  it('a failed outbox write aborts the application transaction: the change cannot commit without its hook', async () => {
    await refuseDeliveries()
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await bookWithFailingEvent(client, 'refused')
      // The event and its deliveries are one statement: it failed, and with it (as any failed
      // statement in PostgreSQL) the transaction. Catching the error does not let the book in.
      await expect(client.query('SELECT 1')).rejects.toThrow(/current transaction is aborted/)
      const ended = await client.query('COMMIT')
      expect(ended.command).toBe('ROLLBACK')
    } finally {
      client.release()
    }
    expect(await counts()).toEqual([0, 0, 0])
  })

  it('the event and its deliveries are written by one call: rolled back to a savepoint, neither stays', async () => {
    await refuseDeliveries()
    await inTransaction(async (client) => {
      await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
      await client.query('SAVEPOINT before_hook')
      await expect(hooks.modelEvent('Book', 'created', book, { tx: client })).rejects.toThrow(
        'refused',
      )
      // The application chooses to keep its change without the hook: the event, inserted
      // before the deliveries failed, goes with them.
      await client.query('ROLLBACK TO SAVEPOINT before_hook')
    })
    expect(await counts()).toEqual([1, 0, 0])
  })

  it('in the application’s transaction an event is one call of resthooks_dispatch_event (migration 5): the lookup and the write in one round trip', async () => {
    const statements: string[] = []
    await inTransaction(async (client) => {
      await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
      const written = await hooks.modelEvent('Book', 'created', book, {
        tx: recordingBridge(client, statements),
      })
      expect(written?.deliveries).toBe(2)
    })
    expect(statements).toHaveLength(1)
    expect(statements[0]).toMatch(/SELECT resthooks_dispatch_event\(/)
    expect(await counts()).toEqual([1, 1, 2])

    // Replaced by one that refuses, to see that it is the one called.
    await pool.query(`CREATE OR REPLACE FUNCTION resthooks_dispatch_event(
        p_id TEXT, p_name TEXT, p_owner TEXT, p_data TEXT, p_ref TEXT, p_created_at BIGINT,
        p_patterns JSON, p_delivery_ids JSON, p_work_channel TEXT
      ) RETURNS TEXT LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'the dispatch function'; END $$`)
    const client = await pool.connect()
    try {
      await client.query('BEGIN')
      await client.query('INSERT INTO book VALUES ($1, $2, $3)', [8, 'Emma', 'u1'])
      await expect(hooks.modelEvent('Book', 'created', book, { tx: client })).rejects.toThrow(
        'the dispatch function',
      )
      await client.query('ROLLBACK')
    } finally {
      client.release()
    }
    expect(await counts()).toEqual([1, 1, 2])
  })

  it('more matches than the ids offered take a second call; a match with a filter is written through resthooks_write_event (migration 4) once the filter admits it', async () => {
    for (let n = 0; n < 10; n++) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${n}` })
    }
    const statements: string[] = []
    const recorded = (client: pg.PoolClient) => recordingBridge(client, statements)
    await inTransaction(async (client) => {
      const written = await hooks.modelEvent('Book', 'created', book, { tx: recorded(client) })
      expect(written?.deliveries).toBe(12)
    })
    expect(statements).toHaveLength(2)
    const { rows } = await pool.query(
      'SELECT count(DISTINCT id)::int AS ids, count(DISTINCT subscription_id)::int AS subscriptions FROM resthooks_deliveries',
    )
    expect(rows[0]).toEqual({ ids: 12, subscriptions: 12 })

    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/long-books`,
      filter: { pages: { gt: 500 } },
    })
    statements.length = 0
    await inTransaction(async (client) => {
      const short = await hooks.modelEvent(
        'Book',
        'created',
        { ...book, id: 8, pages: 100 },
        { tx: recorded(client) },
      )
      const long = await hooks.modelEvent(
        'Book',
        'created',
        { ...book, id: 9, pages: 900 },
        { tx: recorded(client) },
      )
      expect([short?.deliveries, long?.deliveries]).toEqual([12, 13])
    })
    // Each event: the dispatch call answers with the candidates, then resthooks_write_event.
    expect(statements.map((text) => text.match(/resthooks_\w+_event/)?.[0])).toEqual([
      'resthooks_dispatch_event',
      'resthooks_write_event',
      'resthooks_dispatch_event',
      'resthooks_write_event',
    ])
    expect(await counts()).toEqual([0, 3, 37])
  })

  it('a database without the outbox functions (another process runs an older schema) still gets every event', async () => {
    await pool.query(`DELETE FROM resthooks_migrations WHERE version >= 4`)
    await pool.query(
      'DROP FUNCTION resthooks_write_event(TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, JSON, TEXT)',
    )
    await pool.query(
      'DROP FUNCTION resthooks_dispatch_event(TEXT, TEXT, TEXT, TEXT, TEXT, BIGINT, JSON, JSON, TEXT)',
    )
    // A store that did not migrate in this process: it finds out for itself.
    const older = createHooks({
      store: postgresStore({ pool }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    try {
      await inTransaction(async (client) => {
        await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
        await older.modelEvent('Book', 'created', book, { tx: client })
      })
      expect(await counts()).toEqual([1, 1, 2])
      // Migrating brings the functions back, and the store uses them from then on.
      await older.migrate()
      await inTransaction(async (client) => {
        await client.query('INSERT INTO book VALUES ($1, $2, $3)', [8, 'Persuasion', 'u1'])
        await older.modelEvent('Book', 'created', { ...book, id: 8 }, { tx: client })
      })
      expect(await counts()).toEqual([2, 2, 4])
      const { rows } = await pool.query(
        `SELECT to_regprocedure('resthooks_write_event(text, text, text, text, text, bigint, json, text)') IS NOT NULL AS write,
          to_regprocedure('resthooks_dispatch_event(text, text, text, text, text, bigint, json, json, text)') IS NOT NULL AS dispatch`,
      )
      expect(rows[0]).toEqual({ write: true, dispatch: true })
    } finally {
      await older.close()
    }
  })

  it('a store that did not migrate in this process asks about the function in the event’s own transaction, not through a pool the application holds', async () => {
    // One connection in all, held by the application's transaction: a question asked on another
    // connection of the pool would wait for it forever.
    const single = new pg.Pool({ connectionString: database.url, max: 1 })
    const other = createHooks({
      store: postgresStore({ pool: single }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    try {
      const client = await single.connect()
      try {
        await client.query('BEGIN')
        await client.query('INSERT INTO book VALUES ($1, $2, $3)', [7, 'Emma', 'u1'])
        const written = await other.modelEvent('Book', 'created', book, { tx: client })
        expect(written?.deliveries).toBe(2)
        await client.query('COMMIT')
      } finally {
        client.release()
      }
      expect(await counts()).toEqual([1, 1, 2])
    } finally {
      await other.close()
      await single.end()
    }
  }, 10_000)

  it('a pg.Pool as tx is refused with a clear error, and nothing is written', async () => {
    await expect(hooks.modelEvent('Book', 'created', book, { tx: pool })).rejects.toThrow(
      /options.tx is a pg.Pool, which cannot hold a transaction/,
    )
    expect(await counts()).toEqual([0, 0, 0])
  })

  it('a commit wakes a worker of another process at once; a rollback sends nothing', async () => {
    // Another process: its own store and hooks on the same database, polling only once a minute,
    // so that only the notification can make it deliver within the test.
    const other = createHooks({
      store: postgresStore({ connectionString: database.url, maxConnections: 2 }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    const worker = other.worker({ pollIntervalMs: 60_000 })
    const claims: number[] = []
    other.on('delivery.succeeded', () => claims.push(Date.now()))
    try {
      await worker.start()
      await new Promise((resolve) => setTimeout(resolve, 300)) // the initial pass, then idle
      await inTransaction(async (client) => {
        await hooks.modelEvent('Book', 'created', { ...book, id: 1 }, { tx: client })
      }, false)
      await inTransaction(async (client) => {
        await hooks.modelEvent('Book', 'created', { ...book, id: 2 }, { tx: client })
      })
      await receiver.waitFor(2, 10_000)
      await worker.stop()
      expect(receiver.requests.map((r) => JSON.parse(r.body).data.id)).toEqual([2, 2])
      expect(claims).toHaveLength(2)
    } finally {
      await worker.stop()
      await other.close()
    }
  })
})
