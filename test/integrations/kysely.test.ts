/**
 * The Kysely integration on a real database of the kind under test (Kysely's SqliteDialect over
 * better-sqlite3 on a SQLite file; its PostgresDialect over pg on PostgreSQL in the `postgres`
 * project), with real deliveries to a receiver on 127.0.0.1.
 */
import { execFile, spawn } from 'node:child_process'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { Kysely, sql } from 'kysely'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigurationError, fromKysely, ValidationError } from '../../src/index.ts'
import { kyselyModel } from '../../src/integrations/kysely.ts'
import { NodeSqliteDialect } from '../../src/store/sqlite/index.ts'
import { postgresAvailable } from '../support/postgres.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { itOn, storeKind, temporaryDatabaseOfKind } from '../support/store-kind.ts'
import { type AppDatabase, type KyselyBookstore, openKyselyBookstore } from './kysely/bookstore.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CRASH_SCRIPT = fileURLToPath(new URL('./kysely/commit-then-die.ts', import.meta.url))

const runs = storeKind === 'sqlite' || postgresAvailable()
let location = ''
let removeDatabase = async () => {}
let shop: KyselyBookstore
let receiver: Receiver

beforeAll(async () => {
  if (!runs) return
  const database = await temporaryDatabaseOfKind()
  location = database.location
  removeDatabase = database.remove
  shop = await openKyselyBookstore(storeKind, location, { setup: true })
  receiver = await startReceiver()
})

afterAll(async () => {
  if (!runs) return
  await shop?.close()
  await receiver?.close()
  await removeDatabase()
})

beforeEach(async () => {
  if (!runs) return
  await shop.reset()
  receiver.requests.length = 0
})

const bodies = () => receiver.requests.map((request) => JSON.parse(request.body))
const sent = () => receiver.requests.map((r) => `${JSON.parse(r.body).type} ${r.path}`)

describe('kyselyModel: writes that record their events in the same transaction', () => {
  it('create, update and delete deliver added, changed and removed, in order, with the right data (the delete with the last values)', async () => {
    const { hooks, books } = shop
    for (const event of ['book.added', 'book.changed', 'book.removed']) {
      await hooks.subscribe({ owner: 'u1', event, target: `${receiver.url}/hooks` })
    }
    const book = await books.create({ title: 'The Two Towers', pages: 327, owner_id: 'u1' })
    expect(book).toEqual({
      id: expect.any(Number),
      title: 'The Two Towers',
      status: 'draft',
      pages: 327,
      owner_id: 'u1',
    })
    const [updated] = await books.update((eb) => eb('id', '=', book.id), {
      pages: (eb) => eb('pages', '+', 25),
    })
    expect(updated).toEqual({ ...book, pages: 352 })
    expect(await books.delete((eb) => eb('id', '=', book.id))).toEqual([updated])
    expect(await shop.count('book')).toBe(0)

    const totals = await hooks.deliverPending({ concurrency: 1 })
    expect(totals).toMatchObject({ succeeded: 3, failed: 0 })
    expect(bodies().map((body) => [body.type, body.data])).toEqual([
      ['book.added', book],
      ['book.changed', updated],
      ['book.removed', updated],
    ])
  })

  it('a change in a transaction that rolls back delivers nothing, and leaves no event and no delivery row', async () => {
    const { hooks, books, db } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.*', target: receiver.url })
    const kept = await books.create({ title: 'Kept', owner_id: 'u1' })

    await expect(
      db.transaction().execute(async (trx) => {
        await books.create({ title: 'Emma', owner_id: 'u1' }, { tx: trx })
        await books.update((eb) => eb('id', '=', kept.id), { title: 'Changed' }, { tx: trx })
        await books.delete((eb) => eb('id', '=', kept.id), { tx: trx })
        throw new Error('the application changed its mind')
      }),
    ).rejects.toThrow('changed its mind')
    // A controlled transaction (db.startTransaction()) rolled back by hand.
    const controlled = await db.startTransaction().execute()
    await books.create({ title: 'Controlled', owner_id: 'u1' }, { tx: controlled })
    await controlled.rollback().execute()
    // The helper's own transaction: an event that cannot be dispatched undoes the write too.
    await expect(books.create({ title: 'Nobody’s', owner_id: '' })).rejects.toThrow(
      /cannot find the owner of this Book/,
    )

    expect(await shop.run('SELECT title, owner_id FROM book')).toEqual([
      { title: 'Kept', owner_id: 'u1' },
    ])
    expect([
      await shop.count('resthooks_events'),
      await shop.count('resthooks_deliveries'),
    ]).toEqual([1, 1])
    await hooks.deliverPending()
    expect(sent()).toEqual(['book.added /'])
  })

  it('a committed change delivers exactly once per matching subscription', async () => {
    const { hooks, books, db } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/added` })
    await hooks.subscribe({ owner: 'u1', event: 'book.*', target: `${receiver.url}/all` })
    await hooks.subscribe({ owner: 'u2', event: 'book.added', target: `${receiver.url}/u2` })
    await hooks.subscribe({ owner: 'u1', event: 'book.removed', target: `${receiver.url}/removed` })

    const created = await db.transaction().execute((trx) =>
      books.createMany(
        [
          { title: 'Emma', owner_id: 'u1' },
          { title: 'Persuasion', owner_id: 'u1' },
        ],
        { tx: trx },
      ),
    )
    expect(created.map((book) => book.title)).toEqual(['Emma', 'Persuasion'])
    expect([
      await shop.count('resthooks_events'),
      await shop.count('resthooks_deliveries'),
    ]).toEqual([2, 4])
    await hooks.deliverPending()
    await hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path).sort()).toEqual([
      '/added',
      '/added',
      '/all',
      '/all',
    ])
    const pairs = receiver.requests.map(
      (r) => `${r.headers['webhook-id']} ${r.headers['hook-subscription']}`,
    )
    expect(new Set(pairs).size).toBe(4)
  })

  it('a custom action (Book.read) fires through the helper, alone or in a transaction', async () => {
    const { hooks, books, db } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.read', target: receiver.url })
    const book = await books.create({ title: 'Emma', owner_id: 'u1' })
    expect(await books.event('read', book)).toMatchObject({ deliveries: 1 })
    await db.transaction().execute((trx) => books.event('read', book, { tx: trx }))
    await hooks.deliverPending({ concurrency: 1 })
    expect(bodies().map((body) => [body.type, body.data])).toEqual([
      ['book.read', book],
      ['book.read', book],
    ])
  })

  it('a `+` event (book.changed) reaches every owner’s subscriptions', async () => {
    const { hooks, books } = shop
    for (const owner of ['u1', 'u2']) {
      await hooks.subscribe({ owner, event: 'book.changed', target: `${receiver.url}/${owner}` })
    }
    const book = await books.create({ title: 'Emma', owner_id: 'u1' })
    await books.update((eb) => eb('id', '=', book.id), { title: 'Emma, revised' })
    await hooks.deliverPending()
    expect(sent().sort()).toEqual(['book.changed /u1', 'book.changed /u2'])
    expect(bodies().every((body) => body.data.title === 'Emma, revised')).toBe(true)
  })

  it('a process killed right after the commit still delivers after a restart: the outbox row committed with the change', async () => {
    const { hooks } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const child = spawn(process.execPath, [CRASH_SCRIPT, storeKind, location, 'Killed After'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    const { signal } = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (_code, exitSignal) => resolve({ signal: exitSignal })),
    )
    expect(signal, output).toBe('SIGKILL')
    expect(output).toMatch(/committed book \d+/)
    expect(receiver.requests).toHaveLength(0)

    // The next process (this one) finds the change and its delivery, and sends it.
    expect(await shop.count('book')).toBe(1)
    expect(await hooks.countDeliveries({ status: 'pending' })).toBe(1)
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 1 })
    expect(bodies().map((body) => [body.type, body.data.title])).toEqual([
      ['book.added', 'Killed After'],
    ])
  })

  it('change conditions see the previous values: a changed/changedTo subscription gets only the matching update', async () => {
    const { hooks, books } = shop
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.changed',
      target: `${receiver.url}/published`,
      filter: { status: { changedTo: 'published' } },
    })
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.changed',
      target: `${receiver.url}/retitled`,
      filter: { changed: ['title'] },
    })
    const draft = await books.create({ title: 'Draft', owner_id: 'u1' })
    const out = await books.create({ title: 'Out', status: 'published', owner_id: 'u1' })
    await books.update((eb) => eb('id', '=', draft.id), { pages: 100 })
    // One statement, two rows: each is compared with its own previous values.
    await books.update((eb) => eb('owner_id', '=', 'u1'), { status: 'published' })
    await books.update((eb) => eb('id', '=', draft.id), { title: 'Final' })
    await hooks.deliverPending({ concurrency: 1 })
    expect(receiver.requests.map((r) => [r.path, JSON.parse(r.body).data])).toEqual([
      ['/published', { ...draft, pages: 100, status: 'published' }],
      ['/retitled', { ...draft, pages: 100, status: 'published', title: 'Final' }],
    ])
    expect(out.status).toBe('published')
  })

  it('an owner found through a relation: a chapter goes to its book’s owner, read in the same transaction', async () => {
    const { hooks, books, chapters, db, ownerCalls } = shop
    await hooks.subscribe({ owner: 'u1', event: 'chapter.added', target: `${receiver.url}/u1` })
    await hooks.subscribe({ owner: 'u2', event: 'chapter.added', target: `${receiver.url}/u2` })

    // The book is not committed when the chapter's owner is resolved: only the transaction sees it.
    let transaction: unknown
    const chapter = await db.transaction().execute(async (trx) => {
      transaction = trx
      const book = await books.create({ title: 'Emma', owner_id: 'u2' }, { tx: trx })
      return chapters.create({ book_id: book.id, title: 'Volume I' }, { tx: trx })
    })
    // Without { tx }, the helper's own transaction is the one the resolver reads in.
    await chapters.create({ book_id: chapter.book_id, title: 'Volume II' })

    const calls = ownerCalls.filter((call) => call.model === 'Chapter')
    expect(calls.map((call) => call.action)).toEqual(['created', 'created'])
    expect(calls[0]?.tx).toBe(transaction)
    expect(calls[1]?.tx).toBeInstanceOf(Kysely)
    await hooks.deliverPending({ concurrency: 1 })
    expect(receiver.requests.map((r) => [r.path, JSON.parse(r.body).data.title])).toEqual([
      ['/u2', 'Volume I'],
      ['/u2', 'Volume II'],
    ])
  })

  it('bad input is a clear error and changes nothing', async () => {
    const { hooks, books, db } = shop
    const book = await books.create({ title: 'Emma', owner_id: 'u1' })
    await expect(books.update(undefined as never, { title: 'Everything' })).rejects.toThrow(
      ValidationError,
    )
    await expect(books.delete(undefined as never)).rejects.toThrow(/needs a condition/)
    await expect(books.update((eb) => eb('id', '=', book.id), {})).rejects.toThrow(/set must be/)
    // A plain Kysely instance cannot carry the change and its events together.
    await expect(books.create({ title: 'x', owner_id: 'u1' }, { tx: db as never })).rejects.toThrow(
      /options.tx must be a Kysely transaction/,
    )
    expect(await shop.run('SELECT title FROM book')).toEqual([{ title: 'Emma' }])

    expect(kyselyModel(hooks, db, 'book').model).toBe('Book')
    expect(() => kyselyModel(hooks, db, 'book', { model: 'Books' })).toThrow(
      /no event in options.events is mapped to a Books action/,
    )
    expect(() => kyselyModel(hooks, {} as Kysely<AppDatabase>, 'book')).toThrow(ConfigurationError)
    // Rows without the key column cannot be paired with their previous values: rolled back.
    const keyless = kyselyModel(hooks, db, 'book', { model: 'Book', primaryKey: 'isbn' as never })
    await expect(keyless.update((eb) => eb('id', '=', book.id), { title: 'x' })).rejects.toThrow(
      /options.primaryKey/,
    )
    expect(await shop.run('SELECT title FROM book')).toEqual([{ title: 'Emma' }])
  })

  itOn('sqlite')(
    'resthooks’ own node:sqlite dialect works as the application’s Kysely too',
    async () => {
      const { hooks } = shop
      await hooks.subscribe({ owner: 'u1', event: 'book.*', target: receiver.url })
      const db = new Kysely<AppDatabase>({
        dialect: new NodeSqliteDialect({ database: new DatabaseSync(location) }),
      })
      try {
        const books = kyselyModel(hooks, db, 'book', { model: 'Book' })
        const book = await books.create({ title: 'Emma', owner_id: 'u1' })
        await expect(
          db.transaction().execute(async (trx) => {
            await books.update((eb) => eb('id', '=', book.id), { title: 'x' }, { tx: trx })
            throw new Error('undone')
          }),
        ).rejects.toThrow('undone')
        await Promise.all(['A', 'B', 'C'].map((title) => books.create({ title, owner_id: 'u1' })))
        expect([await shop.count('book'), await shop.count('resthooks_deliveries')]).toEqual([4, 4])
      } finally {
        await db.destroy()
      }
    },
  )
})

describe('the low-level way: hooks.modelEvent with the Kysely transaction', () => {
  it('the raw trx and fromKysely(trx): the outbox commits and rolls back with the change', async () => {
    const { hooks, db } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    for (const title of ['Raw', 'Bridged']) {
      await db.transaction().execute(async (trx) => {
        const book = await trx
          .insertInto('book')
          .values({ title, owner_id: 'u1' })
          .returningAll()
          .executeTakeFirstOrThrow()
        await hooks.modelEvent('Book', 'created', book, {
          tx: title === 'Raw' ? trx : fromKysely(trx),
        })
      })
    }
    await expect(
      db.transaction().execute(async (trx) => {
        const book = await trx
          .insertInto('book')
          .values({ title: 'Rolled back', owner_id: 'u1' })
          .returningAll()
          .executeTakeFirstOrThrow()
        await hooks.modelEvent('Book', 'created', book, { tx: trx })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect([await shop.count('book'), await shop.count('resthooks_deliveries')]).toEqual([2, 2])
    await hooks.deliverPending({ concurrency: 1 })
    expect(bodies().map((body) => body.data.title)).toEqual(['Raw', 'Bridged'])
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM resthooks_events`.execute(
      db,
    )
    expect(Number(rows[0]?.n)).toBe(2)
  })
})

describe('examples/kysely.ts', () => {
  itOn('sqlite')('runs on embedded SQLite and prints the three webhooks it received', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['examples/kysely.ts'], { cwd: ROOT }, (error, out, err) => {
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out + err })
      })
    })
    expect(code, stdout).toBe(0)
    expect(stdout).toMatch(/received book\.added .*"title":"The Two Towers"/)
    expect(stdout).toMatch(/received book\.changed .*"title":"The Return of the King"/)
    expect(stdout).toMatch(/received book\.removed .*"title":"The Return of the King"/)
    expect(stdout).toContain('delivered 3 webhooks')
  })
})
