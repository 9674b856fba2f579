/**
 * Rollbacks for every way in (issue 8): a failed application transaction never produces a
 * delivery. This file covers what the bridges' own tests do not: a transaction that fails on
 * its own (a statement after the dispatch violates a constraint, and the application rolls
 * back, as it must), with a worker running the whole time, through the raw driver bridge of the
 * store under test (node:sqlite's `fromNodeSqlite` on SQLite, `fromPg` on PostgreSQL) and
 * through Kysely (`fromKysely`) on both. The same transaction committing delivers once, so the
 * check can fail. docs/reliability.md lists where every other way in is proven.
 */

import { DatabaseSync } from 'node:sqlite'
import { Kysely, PostgresDialect, sql } from 'kysely'
import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { fromKysely, fromNodeSqlite, fromPg, type Worker } from '../../src/index.ts'
import { NodeSqliteDialect } from '../../src/store/sqlite/index.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { countSql } from '../support/committed-rows.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { storeKind } from '../support/store-kind.ts'

type Env = Awaited<ReturnType<typeof bookstoreHooks>>
interface BookTable {
  book: { id: number; title: string; owner_id: string }
}

let env: Env
let receiver: Receiver
let worker: Worker
let cleanup: (() => Promise<void> | void)[] = []

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

beforeEach(async () => {
  env = await bookstoreHooks()
  receiver = await startReceiver()
  await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/a` })
  await env.hooks.subscribe({ owner: 'u1', event: 'book.*', target: `${receiver.url}/b` })
  await env.hooks.store.transaction(async (executor) => {
    await executor.executeSql(
      'CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT, owner_id TEXT)',
      [],
    )
    await executor.executeSql("INSERT INTO book VALUES (1, 'Persuasion', 'u1')", [])
  })
  // Running the whole time: it must never see what the failed transaction wrote.
  worker = env.hooks.worker({ pollIntervalMs: 20 })
  await worker.start()
})

afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
  await worker.stop()
  await receiver.close()
  await env.close()
})

async function outboxCounts(): Promise<[number, number]> {
  const count = async (table: 'resthooks_events' | 'resthooks_deliveries') =>
    Number(
      (await sql<{ n: number }>`${sql.raw(countSql(table, storeKind))}`.execute(env.hooks.store.db))
        .rows[0]?.n,
    )
  return [await count('resthooks_events'), await count('resthooks_deliveries')]
}

/** After a failed transaction: nothing in the outbox, and nothing sent meanwhile or after. */
async function expectNothing(): Promise<void> {
  expect(await outboxCounts()).toEqual([0, 0])
  await sleep(200)
  expect(receiver.requests).toHaveLength(0)
}

/** After a committed one: one event, one delivery per subscription, both sent. */
async function expectDelivered(eventId: string | undefined): Promise<void> {
  expect(await outboxCounts()).toEqual([1, 2])
  await receiver.waitFor(2)
  expect(receiver.requests.map((r) => r.headers['webhook-id'])).toEqual([eventId, eventId])
}

const book = { id: 2, title: 'Emma', ownerId: 'u1' }
const DUPLICATE = /UNIQUE|duplicate key|constraint/i

/** A Kysely of the application's own, on the database under test. */
function applicationKysely(): Kysely<BookTable> {
  const db =
    storeKind === 'postgres'
      ? new Kysely<BookTable>({
          dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: env.path }) }),
        })
      : new Kysely<BookTable>({
          dialect: new NodeSqliteDialect({ database: new DatabaseSync(env.path) }),
        })
  cleanup.push(() => db.destroy())
  return db
}

describe('a failed application transaction never produces a delivery', () => {
  it.skipIf(storeKind !== 'sqlite')(
    'node:sqlite (fromNodeSqlite): a constraint violation after the dispatch, rolled back',
    async () => {
      const app = new DatabaseSync(env.path, { timeout: 5000 })
      cleanup.push(() => app.close())
      const insert = app.prepare('INSERT INTO book VALUES (?, ?, ?)')
      app.exec('BEGIN IMMEDIATE')
      insert.run(2, 'Emma', 'u1')
      await env.hooks.modelEvent('Book', 'created', book, { tx: fromNodeSqlite(app) })
      await sleep(100)
      expect(() => insert.run(1, 'Persuasion again', 'u1')).toThrow(DUPLICATE)
      app.exec('ROLLBACK')
      await expectNothing()

      app.exec('BEGIN IMMEDIATE')
      insert.run(2, 'Emma', 'u1')
      const result = await env.hooks.modelEvent('Book', 'created', book, {
        tx: fromNodeSqlite(app),
      })
      app.exec('COMMIT')
      await expectDelivered(result?.id)
    },
  )

  it.skipIf(storeKind !== 'postgres')(
    'pg client (fromPg): a constraint violation after the dispatch aborts the transaction, rolled back',
    async () => {
      const pool = new pg.Pool({ connectionString: env.path })
      cleanup.push(() => pool.end())
      const client = await pool.connect()
      cleanup.push(() => client.release())
      await client.query('BEGIN')
      await client.query("INSERT INTO book VALUES (2, 'Emma', 'u1')")
      await env.hooks.modelEvent('Book', 'created', book, { tx: fromPg(client) })
      await sleep(100)
      await expect(client.query("INSERT INTO book VALUES (1, 'again', 'u1')")).rejects.toThrow(
        DUPLICATE,
      )
      await client.query('ROLLBACK')
      await expectNothing()

      await client.query('BEGIN')
      await client.query("INSERT INTO book VALUES (2, 'Emma', 'u1')")
      const result = await env.hooks.modelEvent('Book', 'created', book, { tx: fromPg(client) })
      await client.query('COMMIT')
      await expectDelivered(result?.id)
    },
  )

  it('Kysely (fromKysely): a constraint violation after the dispatch rejects the transaction callback, rolled back', async () => {
    const db = applicationKysely()
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.insertInto('book').values({ id: 2, title: 'Emma', owner_id: 'u1' }).execute()
        await env.hooks.modelEvent('Book', 'created', book, { tx: fromKysely(trx) })
        await sleep(100)
        await trx.insertInto('book').values({ id: 1, title: 'again', owner_id: 'u1' }).execute()
      }),
    ).rejects.toThrow(DUPLICATE)
    await expectNothing()

    const result = await db.transaction().execute(async (trx) => {
      await trx.insertInto('book').values({ id: 2, title: 'Emma', owner_id: 'u1' }).execute()
      return env.hooks.modelEvent('Book', 'created', book, { tx: fromKysely(trx) })
    })
    await expectDelivered(result?.id)
  })
})
