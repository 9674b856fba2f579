/**
 * The Drizzle integration on a real database of the kind under test (better-sqlite3 on a SQLite
 * file; node-postgres on PostgreSQL in the `postgres` project), with real deliveries to a
 * receiver on 127.0.0.1.
 */
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { eq, sql } from 'drizzle-orm'
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres'
import { pgTable, serial } from 'drizzle-orm/pg-core'
import { sqliteTable, text } from 'drizzle-orm/sqlite-core'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { ConfigurationError, ValidationError } from '../../src/index.ts'
import { drizzleModel, drizzleTransaction } from '../../src/integrations/drizzle.ts'
import { fromDrizzle, isDrizzleLike } from '../../src/tx/drizzle.ts'
import { postgresAvailable } from '../support/postgres.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { itOn, storeKind, temporaryDatabaseOfKind } from '../support/store-kind.ts'
import { type DrizzleBookstore, openDrizzleBookstore } from './drizzle/bookstore.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CRASH_SCRIPT = fileURLToPath(new URL('./drizzle/commit-then-die.ts', import.meta.url))

const runs = storeKind === 'sqlite' || postgresAvailable()
let location = ''
let removeDatabase = async () => {}
let shop: DrizzleBookstore
let receiver: Receiver

beforeAll(async () => {
  if (!runs) return
  const database = await temporaryDatabaseOfKind()
  location = database.location
  removeDatabase = database.remove
  shop = await openDrizzleBookstore(storeKind, location, { setup: true })
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

describe('drizzleModel: writes that record their events in the same transaction', () => {
  it('create, update and delete deliver added, changed and removed, in order, with the right data (the delete with the last values)', async () => {
    const { hooks, books, tables } = shop
    for (const event of ['book.added', 'book.changed', 'book.removed']) {
      await hooks.subscribe({ owner: 'u1', event, target: `${receiver.url}/hooks` })
    }
    const book = await books.create({ title: 'The Two Towers', pages: 327, ownerId: 'u1' })
    expect(book).toEqual({
      id: expect.any(Number),
      title: 'The Two Towers',
      status: 'draft',
      pages: 327,
      ownerId: 'u1',
    })
    const [updated] = await books.update(eq(tables.books.id, book.id), {
      pages: sql`${tables.books.pages} + 25`,
    })
    expect(updated).toEqual({ ...book, pages: 352 })
    expect(await books.delete(eq(tables.books.id, book.id))).toEqual([updated])
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
    const { hooks, books, db, tables } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.*', target: receiver.url })
    const kept = await books.create({ title: 'Kept', ownerId: 'u1' })

    await expect(
      drizzleTransaction(db, async (tx) => {
        await books.create({ title: 'Emma', ownerId: 'u1' }, { tx })
        await books.update(eq(tables.books.id, kept.id), { title: 'Changed' }, { tx })
        throw new Error('the application changed its mind')
      }),
    ).rejects.toThrow('changed its mind')
    await expect(
      drizzleTransaction(db, async (tx) => {
        await books.delete(eq(tables.books.id, kept.id), { tx })
        tx.rollback()
      }),
    ).rejects.toThrow('Rollback')
    // The helper's own transaction: an event that cannot be dispatched undoes the write too.
    await expect(books.create({ title: 'Nobody’s', ownerId: '' })).rejects.toThrow(
      /cannot find the owner of this Book/,
    )

    expect(await shop.run('SELECT title FROM book')).toEqual([{ title: 'Kept' }])
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

    const created = await drizzleTransaction(db, (tx) =>
      books.createMany(
        [
          { title: 'Emma', ownerId: 'u1' },
          { title: 'Persuasion', ownerId: 'u1' },
        ],
        { tx },
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
    expect(
      bodies()
        .map((body) => body.data.title)
        .sort(),
    ).toEqual(['Emma', 'Emma', 'Persuasion', 'Persuasion'])
  })

  it('a custom action (Book.read) fires through the helper, alone or in a transaction', async () => {
    const { hooks, books, db } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.read', target: receiver.url })
    const book = await books.create({ title: 'Emma', ownerId: 'u1' })
    expect(await books.event('read', book)).toMatchObject({ deliveries: 1 })
    await drizzleTransaction(db, (tx) => books.event('read', book, { tx }))
    await hooks.deliverPending({ concurrency: 1 })
    expect(bodies().map((body) => [body.type, body.data])).toEqual([
      ['book.read', book],
      ['book.read', book],
    ])
  })

  it('a `+` event (book.changed) reaches every owner’s subscriptions', async () => {
    const { hooks, books, tables } = shop
    for (const owner of ['u1', 'u2']) {
      await hooks.subscribe({ owner, event: 'book.changed', target: `${receiver.url}/${owner}` })
    }
    const book = await books.create({ title: 'Emma', ownerId: 'u1' })
    await books.update(eq(tables.books.id, book.id), { title: 'Emma, revised' })
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
    const { hooks, books, tables } = shop
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
    const draft = await books.create({ title: 'Draft', ownerId: 'u1' })
    const out = await books.create({ title: 'Out', status: 'published', ownerId: 'u1' })
    await books.update(eq(tables.books.id, draft.id), { pages: 100 })
    // One statement, two rows: each is compared with its own previous values.
    await books.update(eq(tables.books.ownerId, 'u1'), { status: 'published' })
    await books.update(eq(tables.books.id, draft.id), { title: 'Final' })
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
    const chapter = await drizzleTransaction(db, async (tx) => {
      const book = await books.create({ title: 'Emma', ownerId: 'u2' }, { tx })
      return chapters.create({ bookId: book.id, title: 'Volume I' }, { tx })
    })
    // Without { tx }, the helper's own transaction is the one the resolver reads in.
    await chapters.create({ bookId: chapter.bookId, title: 'Volume II' })

    const calls = ownerCalls.filter((call) => call.model === 'Chapter')
    expect(calls.map((call) => call.action)).toEqual(['created', 'created'])
    for (const call of calls) expect(isDrizzleLike(call.tx)).toBe(true)
    await hooks.deliverPending({ concurrency: 1 })
    expect(receiver.requests.map((r) => [r.path, JSON.parse(r.body).data.title])).toEqual([
      ['/u2', 'Volume I'],
      ['/u2', 'Volume II'],
    ])
  })

  it('bad input is a clear error and changes nothing', async () => {
    const { hooks, books, db, tables } = shop
    const book = await books.create({ title: 'Emma', ownerId: 'u1' })
    await expect(books.update(undefined, { title: 'Everything' })).rejects.toThrow(ValidationError)
    await expect(books.update(undefined, { title: 'Everything' })).rejects.toThrow(/where/)
    await expect(books.delete(undefined)).rejects.toThrow(/needs a condition/)
    await expect(books.update(eq(tables.books.id, book.id), {})).rejects.toThrow(/set must be/)
    await expect(books.create({ title: 'x', ownerId: 'u1' }, { tx: {} as never })).rejects.toThrow(
      /options.tx must be a Drizzle transaction/,
    )
    expect(await shop.run('SELECT title FROM book')).toEqual([{ title: 'Emma' }])

    expect(drizzleModel(hooks, db, tables.books).model).toBe('Book')
    expect(() => drizzleModel(hooks, db, tables.books, { model: 'Books' })).toThrow(
      /no event in options.events is mapped to a Books action/,
    )
    expect(() => drizzleModel(hooks, db, {} as never)).toThrow(ConfigurationError)
    expect(() => drizzleModel(hooks, {} as never, tables.books)).toThrow(/Drizzle database/)
    // Updates pair rows with their previous values by primary key: one is needed, of this table.
    const keyless = sqliteTable('book', { title: text('title') })
    expect(() => drizzleModel(hooks, db, keyless, { model: 'Book' })).toThrow(
      /no column declared .primaryKey\(\)/,
    )
    expect(() =>
      drizzleModel(hooks, db, tables.chapters, {
        model: 'Chapter',
        primaryKey: [tables.chapters.bookId, tables.chapters.id],
      }),
    ).not.toThrow()
    expect(() =>
      drizzleModel(hooks, db, tables.chapters, { model: 'Chapter', primaryKey: tables.books.id }),
    ).toThrow(/options.primaryKey: id is not a column of this table/)
  })

  itOn('sqlite')(
    'better-sqlite3: a synchronous Drizzle transaction is refused before anything is written; writes queue',
    async () => {
      const { hooks, books, db } = shop
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      let refused: unknown
      db.transaction((tx) => {
        books.create({ title: 'Synchronous', ownerId: 'u1' }, { tx }).catch((error) => {
          refused = error
        })
      })
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(String(refused)).toMatch(/synchronous better-sqlite3 transaction/)
      // The database itself, outside a transaction, would commit the row and its events apart.
      await expect(
        books.create({ title: 'Apart', ownerId: 'u1' }, { tx: db as never }),
      ).rejects.toThrow(/no transaction open on it/)
      // A write without { tx } inside drizzleTransaction would wait for it forever: refused.
      await expect(
        drizzleTransaction(db, () => books.create({ title: 'Nested', ownerId: 'u1' })),
      ).rejects.toThrow(/already inside drizzleTransaction/)
      expect(await shop.count('book')).toBe(0)

      // Writes from concurrent requests take turns on the one connection.
      const titles = ['A', 'B', 'C', 'D']
      await Promise.all(titles.map((title) => books.create({ title, ownerId: 'u1' })))
      expect([await shop.count('book'), await shop.count('resthooks_deliveries')]).toEqual([4, 4])

      // A Drizzle database of another dialect than the store's is refused at start-up.
      const pool = new pg.Pool({ connectionString: 'postgres://127.0.0.1:1/none' })
      const pgBooks = pgTable('book', { id: serial('id').primaryKey() })
      expect(() => drizzleModel(hooks, drizzlePg(pool), pgBooks, { model: 'Book' })).toThrow(
        /Drizzle postgres database but the store is sqlite/,
      )
      await pool.end()
    },
  )

  itOn('postgres')(
    'node-postgres: the database itself (a pg.Pool) is refused as { tx }',
    async () => {
      const { books, db } = shop
      await expect(
        books.create({ title: 'x', ownerId: 'u1' }, { tx: db as never }),
      ).rejects.toThrow(/over a pg.Pool, which cannot hold a transaction/)
      expect(await shop.count('book')).toBe(0)
    },
  )
})

describe('the low-level way: hooks.modelEvent with the Drizzle transaction', () => {
  /** Drizzle's own db.transaction on PostgreSQL; drizzleTransaction on better-sqlite3. */
  const transaction = <T>(
    run: (tx: Parameters<Parameters<typeof drizzleTransaction>[1]>[0]) => Promise<T>,
  ) =>
    storeKind === 'postgres'
      ? (shop.db as unknown as { transaction: (r: typeof run) => Promise<T> }).transaction(run)
      : drizzleTransaction(shop.db, run)

  it('fromDrizzle(tx) and the raw tx: the outbox commits and rolls back with the change', async () => {
    const { hooks, tables } = shop
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await transaction(async (tx) => {
      const [book] = await tx
        .insert(tables.books)
        .values({ title: 'Bridged', ownerId: 'u1' })
        .returning()
      await hooks.modelEvent('Book', 'created', book, { tx: fromDrizzle(tx) })
    })
    await transaction(async (tx) => {
      const [book] = await tx
        .insert(tables.books)
        .values({ title: 'Raw', ownerId: 'u1' })
        .returning()
      await hooks.modelEvent('Book', 'created', book, { tx })
    })
    await expect(
      transaction(async (tx) => {
        const [book] = await tx
          .insert(tables.books)
          .values({ title: 'Rolled back', ownerId: 'u1' })
          .returning()
        await hooks.modelEvent('Book', 'created', book, { tx: fromDrizzle(tx) })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect([await shop.count('book'), await shop.count('resthooks_deliveries')]).toEqual([2, 2])
    await hooks.deliverPending({ concurrency: 1 })
    expect(bodies().map((body) => body.data.title)).toEqual(['Bridged', 'Raw'])
  })

  it('a failing outbox statement shows the database’s own error, not Drizzle’s wrapper', async () => {
    const failing = drizzleTransaction(shop.db, (tx) =>
      fromDrizzle(tx).executeSql('SELECT * FROM no_such_table', []),
    )
    await expect(failing).rejects.toThrow(/no_such_table/)
    await expect(failing).rejects.not.toThrow(/Failed query/)
  })
})

describe('loading', () => {
  itOn('sqlite')(
    'resthooks’ Drizzle modules load where drizzle-orm cannot be imported',
    async () => {
      // A process in which importing drizzle-orm fails: resthooks only imports its types.
      const script = `
      import { registerHooks } from 'node:module'
      registerHooks({
        resolve(specifier, context, next) {
          if (/^drizzle-orm(\\/|$)/.test(specifier)) throw new Error('no drizzle-orm here')
          return next(specifier, context)
        },
      })
      await import('drizzle-orm').then(() => process.exit(3), () => {})
      const loaded = await import(${JSON.stringify(`${ROOT}src/integrations/drizzle.ts`)})
      const bridge = await import(${JSON.stringify(`${ROOT}src/tx/drizzle.ts`)})
      console.log(typeof loaded.drizzleModel, typeof bridge.fromDrizzle)
    `
      const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, ['--input-type=module', '-e', script], (error, out, err) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out + err })
        })
      })
      expect(code, stdout).toBe(0)
      expect(stdout.trim()).toBe('function function')
    },
  )
})

describe('examples/drizzle.ts', () => {
  itOn('sqlite')('runs on embedded SQLite and prints the three webhooks it received', async () => {
    const { code, stdout } = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(process.execPath, ['examples/drizzle.ts'], { cwd: ROOT }, (error, out, err) => {
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
