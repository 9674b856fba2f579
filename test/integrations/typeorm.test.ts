/**
 * The TypeORM integration, end to end: the entity subscriber writes model events through the
 * query runner of each change, on a real database (SQLite through better-sqlite3, or PostgreSQL
 * in the `postgres` project), and deliverPending() sends them to a real receiver.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { sql } from 'kysely'
import type { DataSource, Repository } from 'typeorm'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createHooks } from '../../src/index.ts'
import {
  fromTypeORM,
  isTypeORMLike,
  type TypeORMSubscriber,
  typeormSubscriber,
} from '../../src/integrations/typeorm.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { countSql } from '../support/committed-rows.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { itOn, storeKind } from '../support/store-kind.ts'
import {
  Author,
  AuthorSchema,
  type Book,
  BookSchema,
  ChapterSchema,
  openDataSource,
  ownerOf,
  typeormEvents,
} from './typeorm/bookstore.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CRASH_SCRIPT = fileURLToPath(new URL('./typeorm/crash-after-commit.ts', import.meta.url))

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let dataSource: DataSource
let resthooks: TypeORMSubscriber
let receiver: Receiver
let books: Repository<Book>

beforeAll(async () => {
  env = await bookstoreHooks({ events: { ...typeormEvents }, owner: ownerOf })
  dataSource = await openDataSource(storeKind, env.path)
  resthooks = typeormSubscriber(env.hooks).attach(dataSource)
  books = dataSource.getRepository(BookSchema)
  receiver = await startReceiver()
})

afterAll(async () => {
  // The ORM's connection and the store close only after all work has stopped.
  await receiver?.close()
  await dataSource?.destroy()
  await env?.close()
})

beforeEach(async () => {
  const { db } = env.hooks.store
  for (const table of [
    'resthooks_attempts',
    'resthooks_deliveries',
    'resthooks_events',
    'resthooks_subscriptions',
    ...(storeKind === 'sqlite' ? ['resthooks_outbox'] : []),
    'chapter',
    'book',
    'author',
  ]) {
    await sql`DELETE FROM ${sql.table(table)}`.execute(db)
  }
  receiver.requests.length = 0
})

async function count(table: string): Promise<number> {
  const { rows } = await sql<{
    n: number | string
  }>`${sql.raw(countSql(table, storeKind))}`.execute(env.hooks.store.db)
  return Number(rows[0]?.n)
}

async function subscribe(
  owner: string,
  event: string,
  path: string,
  extra: { filter?: Record<string, unknown> } = {},
) {
  return env.hooks.subscribe({ owner, event, target: `${receiver.url}${path}`, ...extra })
}

interface Envelope {
  type: string
  data: Record<string, unknown>
}

/** The bodies that arrived at `path` (every path when omitted), in order of arrival. */
function received(path?: string): Envelope[] {
  return receiver.requests
    .filter((request) => path === undefined || request.path === path)
    .map((request) => JSON.parse(request.body) as Envelope)
}

describe('the TypeORM subscriber', () => {
  it('save(), save() of a change and remove() deliver book.added, book.changed and book.removed in order; the removal carries the last values', async () => {
    await subscribe('u1', 'book.*', '/books')
    const book = await books.save({ title: 'Emma', ownerId: 'u1', pages: 474 })
    const { id } = book
    await env.hooks.deliverPending()
    book.title = 'Emma, a novel'
    await books.save(book)
    await env.hooks.deliverPending()
    await books.remove(book)
    expect(book.id).toBeUndefined() // TypeORM clears it; the hook still names the book
    await env.hooks.deliverPending()

    const row = { id, status: 'draft', pages: 474, ownerId: 'u1', deletedAt: null }
    expect(received()).toEqual([
      expect.objectContaining({ type: 'book.added', data: { ...row, title: 'Emma' } }),
      expect.objectContaining({ type: 'book.changed', data: { ...row, title: 'Emma, a novel' } }),
      expect.objectContaining({ type: 'book.removed', data: { ...row, title: 'Emma, a novel' } }),
    ])
  })

  it('a change in a transaction that rolls back delivers nothing and leaves no event and no delivery', async () => {
    await subscribe('u1', 'book.*', '/books')
    const kept = await books.save({ title: 'Kept', ownerId: 'u1' })
    await sql`DELETE FROM resthooks_deliveries`.execute(env.hooks.store.db)
    await sql`DELETE FROM resthooks_events`.execute(env.hooks.store.db)
    if (storeKind === 'sqlite') await sql`DELETE FROM resthooks_outbox`.execute(env.hooks.store.db)

    let insideTransaction = -1
    await expect(
      dataSource.transaction(async (manager) => {
        await manager.save(BookSchema, { title: 'Never', ownerId: 'u1' })
        await manager.save(BookSchema, { ...kept, title: 'Changed' })
        await manager.remove(BookSchema, await manager.findOneByOrFail(BookSchema, { id: kept.id }))
        // The subscriber did write, inside the transaction.
        const rows: { n: number | string }[] = await manager.query(
          countSql('resthooks_events', storeKind),
        )
        insideTransaction = Number(rows[0]?.n)
        throw new Error('the application changed its mind')
      }),
    ).rejects.toThrow('changed its mind')

    expect(insideTransaction).toBe(3)
    expect([
      await count('book'),
      await count('resthooks_events'),
      await count('resthooks_deliveries'),
    ]).toEqual([1, 0, 0])
    expect(await books.findOneByOrFail({ id: kept.id })).toMatchObject({ title: 'Kept' })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    expect(receiver.requests).toHaveLength(0)
  })

  it('a change committed in a transaction delivers exactly once per matching subscription', async () => {
    await subscribe('u1', 'book.added', '/added')
    await subscribe('u1', 'book.*', '/all')
    await subscribe('u2', 'book.added', '/someone-else')
    await dataSource.transaction(async (manager) => {
      await manager.save(BookSchema, { title: 'Persuasion', ownerId: 'u1' })
    })
    expect([await count('resthooks_events'), await count('resthooks_deliveries')]).toEqual([1, 2])

    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 2 })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/added', '/all'])
    const [first, second] = receiver.requests
    expect(first?.headers['webhook-id']).toBe(second?.headers['webhook-id'])
    expect(received('/all')[0]?.data).toMatchObject({ title: 'Persuasion', ownerId: 'u1' })
  })

  it('a custom action (Book.read) fires through fire(repository, …): in a transaction, outside one, and not when rolled back', async () => {
    await subscribe('u1', 'book.read', '/read')
    const book = await books.save({ title: 'Northanger Abbey', ownerId: 'u1' })

    const inTransaction = await dataSource.transaction(async (manager) => {
      const repository = manager.getRepository(BookSchema)
      const found = await repository.findOneByOrFail({ id: book.id })
      return resthooks.fire(repository, 'read', found)
    })
    expect(inTransaction?.deliveries).toBe(1)
    expect((await resthooks.fire(books, 'read', book))?.deliveries).toBe(1)
    await expect(
      dataSource.transaction(async (manager) => {
        await resthooks.fire(manager.getRepository(BookSchema), 'read', book)
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    // No event maps Book.borrowed: nothing is written.
    expect(await resthooks.fire(books, 'borrowed', book)).toBeNull()

    await env.hooks.deliverPending()
    expect(received('/read')).toHaveLength(2)
    for (const body of received('/read')) {
      expect(body).toMatchObject({ type: 'book.read', data: { id: book.id, title: book.title } })
    }
    expect(await count('resthooks_events')).toBe(3) // book.added, and two reads
  })

  it('a + event (book.changed = Book.updated+) reaches the subscriptions of every owner', async () => {
    await subscribe('u1', 'book.changed', '/u1')
    await subscribe('u2', 'book.changed', '/u2')
    const book = await books.save({ title: 'Lady Susan', ownerId: 'u1' })
    book.pages = 79
    await books.save(book)
    await env.hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path).sort()).toEqual(['/u1', '/u2'])
    expect(received('/u2')[0]).toMatchObject({ type: 'book.changed', data: { pages: 79 } })
  })

  it('change conditions see the previous values: each filtered subscription gets only the update it asks for', async () => {
    await subscribe('u1', 'book.changed', '/title', { filter: { changed: ['title'] } })
    await subscribe('u1', 'book.changed', '/published', {
      filter: { status: { changedTo: 'published' } },
    })
    await subscribe('u1', 'book.changed', '/every-change')
    const { id } = await books.save({ title: 'Draft', ownerId: 'u1' })

    // A partial save changes one column; the event carries the whole row.
    await books.save({ id, pages: 100 })
    const book = await books.findOneByOrFail({ id })
    book.title = 'Sense and Sensibility'
    await books.save(book)
    book.status = 'published'
    await books.save(book)
    await books.save(book) // unchanged: TypeORM writes nothing, and nothing fires
    await env.hooks.deliverPending()

    expect(received('/title').map((b) => b.data.title)).toEqual(['Sense and Sensibility'])
    expect(received('/published').map((b) => b.data.status)).toEqual(['published'])
    expect(received('/every-change')).toHaveLength(3)
    expect(received('/every-change').map((b) => b.data)).toContainEqual({
      id,
      title: 'Draft',
      status: 'draft',
      pages: 100,
      ownerId: 'u1',
      deletedAt: null,
    })
  })

  it('a worker in the same process delivers while TypeORM writes', async () => {
    await subscribe('u1', 'book.added', '/added')
    const worker = env.hooks.worker({ pollIntervalMs: 10 })
    await worker.start()
    try {
      for (let i = 0; i < 30; i++) await books.save({ title: `Letter ${i}`, ownerId: 'u1' })
      await receiver.waitFor(30)
    } finally {
      await worker.stop()
    }
    expect(
      received('/added')
        .map((b) => b.data.title)
        .sort(),
    ).toEqual(Array.from({ length: 30 }, (_, i) => `Letter ${i}`).sort())
  })

  it('an entity class keeps its toHookPayload() and its own properties in an update’s data', async () => {
    await subscribe('u1', 'author.changed', '/authors')
    const authors = dataSource.getRepository(AuthorSchema)
    const author = await authors.save(Object.assign(new Author(), { name: 'Jane', ownerId: 'u1' }))
    author.name = 'Jane Austen'
    author.nickname = 'The Divine Jane'
    await authors.save(author)
    await env.hooks.deliverPending()
    const [request] = receiver.requests
    expect(JSON.parse(request?.body ?? '{}')).toEqual({
      author: 'Jane Austen',
      nickname: 'The Divine Jane',
      subscription: request?.headers['hook-subscription'],
    })
  })

  it('the owner resolver follows a relation in the same transaction: a chapter goes to its book’s owner', async () => {
    await subscribe('u1', 'chapter.added', '/u1')
    await subscribe('u2', 'chapter.added', '/u2')
    // The book is not committed yet when the chapter's owner is resolved: only the
    // transaction's own manager (the resolver's tx) can see it.
    await dataSource.transaction(async (manager) => {
      const book = await manager.save(BookSchema, { title: 'Mansfield Park', ownerId: 'u2' })
      await manager.save(ChapterSchema, { title: 'Chapter I', bookId: book.id })
    })
    await env.hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path)).toEqual(['/u2'])
    expect(received('/u2')[0]).toMatchObject({
      type: 'chapter.added',
      data: { title: 'Chapter I' },
    })
  })

  it('save() of several entities at once, and save() without a transaction, fire one event per entity', async () => {
    await subscribe('u1', 'book.added', '/added')
    await books.save([
      { title: 'Volume I', ownerId: 'u1' },
      { title: 'Volume II', ownerId: 'u1' },
      { title: 'Volume III', ownerId: 'u1' },
    ])
    // Without a transaction, each event gets one of its own, one after the other.
    await books.save(
      [
        { title: 'Juvenilia', ownerId: 'u1' },
        { title: 'Lesley Castle', ownerId: 'u1' },
      ],
      { transaction: false },
    )
    await env.hooks.deliverPending()
    expect(
      received('/added')
        .map((b) => b.data.title)
        .sort(),
    ).toEqual(['Juvenilia', 'Lesley Castle', 'Volume I', 'Volume II', 'Volume III'])
  })

  it('QueryBuilder insert() fires created with the generated id; update(), delete(), softDelete() and restore() by criteria fire nothing (TypeORM names no row), nor does save() with listeners: false', async () => {
    await subscribe('u1', 'book.*', '/books')
    const result = await books.insert({ title: 'The Watsons', ownerId: 'u1' })
    const id = (result.identifiers[0] as { id: number }).id
    await books.update({ id }, { title: 'The Watsons (fragment)' })
    await dataSource
      .createQueryBuilder()
      .update(BookSchema)
      .set({ pages: 60 })
      .where('id = :id', { id })
      .execute()
    await books.delete({ id })
    await books.softDelete({ title: 'nothing of the kind' })
    await books.restore({ title: 'nothing of the kind' })
    // { listeners: false } switches subscribers off, and with them the hooks.
    await books.save({ title: 'Unheard', ownerId: 'u1' }, { listeners: false })
    await env.hooks.deliverPending()
    expect(received()).toEqual([
      expect.objectContaining({
        type: 'book.added',
        data: expect.objectContaining({ id, title: 'The Watsons', ownerId: 'u1' }),
      }),
    ])
    expect(await count('resthooks_events')).toBe(1)
  })

  it('softRemove() fires Book.deleted with the deletion date; recover() fires Book.recovered; both carry the previous values', async () => {
    await subscribe('u1', 'book.*', '/books')
    // Only events whose previous values differ in deletedAt: not the creation.
    await subscribe('u1', 'book.*', '/deletion-changed', { filter: { changed: ['deletedAt'] } })
    const book = await books.save({ title: 'Sanditon', ownerId: 'u1' })
    await env.hooks.deliverPending()
    await books.softRemove(book)
    await env.hooks.deliverPending()
    await books.recover(book)
    await env.hooks.deliverPending()
    const [added, removed, restored] = received('/books')
    expect([added?.type, removed?.type, restored?.type]).toEqual([
      'book.added',
      'book.removed',
      'book.restored',
    ])
    expect(removed?.data).toMatchObject({ id: book.id, title: 'Sanditon' })
    expect(typeof removed?.data.deletedAt).toBe('string')
    expect(restored?.data).toMatchObject({ id: book.id, deletedAt: null })
    expect(received('/deletion-changed').map((b) => b.type)).toEqual([
      'book.removed',
      'book.restored',
    ])
  })

  it('a change whose event cannot be recorded (no owner) fails and rolls back with it', async () => {
    await expect(books.save({ title: 'Anonymous', ownerId: null })).rejects.toThrow(
      /cannot find the owner of this Book/,
    )
    expect([await count('book'), await count('resthooks_events')]).toEqual([0, 0])

    // Without a transaction the rows are written at once; each event still commits or fails
    // on its own: the failing one leaves its neighbour's event in place.
    await expect(
      books.save(
        [
          { title: 'Signed', ownerId: 'u1' },
          { title: 'Unsigned', ownerId: null },
        ],
        { transaction: false },
      ),
    ).rejects.toThrow(/cannot find the owner of this Book/)
    expect([await count('book'), await count('resthooks_events')]).toEqual([2, 1])
  })

  it('modelName and actions options rename models and choose what each operation fires', async () => {
    await subscribe('u1', 'book.*', '/books')
    await subscribe('u1', 'chapter.added', '/chapters')
    const configured = typeormSubscriber(env.hooks, {
      // Chapters are left alone; a Book insert fires Book.read, an update nothing.
      modelName: (entity) => (entity.name === 'Book' ? 'Book' : null),
      actions: { insert: 'read', update: null },
    })
    const index = dataSource.subscribers.indexOf(resthooks)
    dataSource.subscribers.splice(index, 1, configured)
    try {
      const book = await books.save({ title: 'Love and Freindship', ownerId: 'u1' })
      book.title = 'Love and Friendship'
      await books.save(book)
      await dataSource.getRepository(ChapterSchema).save({ title: 'Letter 1', bookId: book.id })
    } finally {
      dataSource.subscribers.splice(index, 1, resthooks)
    }
    await env.hooks.deliverPending()
    expect(received().map((b) => b.type)).toEqual(['book.read'])
  })

  it('configuration mistakes throw at start-up with a message naming the option', () => {
    expect(() => typeormSubscriber({} as never)).toThrow(/typeormSubscriber\(hooks\) takes/)
    expect(() => typeormSubscriber(env.hooks, { entities: [] } as never)).toThrow(
      /options.entities is not an option/,
    )
    expect(() => typeormSubscriber(env.hooks, { modelName: 'Book' } as never)).toThrow(
      /options.modelName must be a function/,
    )
    expect(() => typeormSubscriber(env.hooks, { actions: { upsert: 'created' } } as never)).toThrow(
      /options.actions.upsert is not a TypeORM operation/,
    )
    expect(() => typeormSubscriber(env.hooks, { actions: { insert: 'was created' } })).toThrow(
      /options.actions.insert must be a model action/,
    )
    const subscriber = typeormSubscriber(env.hooks)
    const uninitialized = { isInitialized: false, options: { type: 'postgres' }, subscribers: [] }
    expect(() => subscriber.attach(uninitialized)).toThrow(
      /after `await dataSource.initialize\(\)`/,
    )
    const mysql = { isInitialized: true, options: { type: 'mysql' }, subscribers: [] }
    expect(() => subscriber.attach(mysql)).toThrow(/of type 'mysql', but the store is/)
    expect(mysql.subscribers).toEqual([])
    // Attaching twice adds it once.
    expect(resthooks.attach(dataSource)).toBe(resthooks)
    expect(dataSource.subscribers.filter((s) => s === resthooks)).toHaveLength(1)
  })
})

describe('a process that dies right after the commit', () => {
  it('killed with SIGKILL after save() resolved: the book’s event is delivered after a restart', async () => {
    // A database of its own, which this process opens only with resthooks' store: on SQLite,
    // closing a connection of one SQLite library (the store below) while another library's
    // connection (TypeORM's better-sqlite3) is open on the file would release the latter's locks.
    const own = await bookstoreHooks({ events: { ...typeormEvents }, owner: ownerOf })
    try {
      await own.hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/added`,
      })
      const child = spawn(process.execPath, [CRASH_SCRIPT, storeKind, own.path, 'Persuasion'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      })
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString('utf8')
      })
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8')
      })
      const { signal } = await new Promise<{ signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (_code, exitSignal) => resolve({ signal: exitSignal })),
      )
      expect(signal, stderr).toBe('SIGKILL')
      const id = Number(/committed (\d+)/.exec(stdout)?.[1])
      expect(id).toBeGreaterThan(0)
      expect(receiver.requests).toHaveLength(0)

      // A new process's hooks on the same database deliver what the dead one committed.
      const restarted = createHooks({
        store: own.reopen(),
        events: { ...typeormEvents },
        owner: ownerOf,
        allowTargets: ['127.0.0.0/8'],
      })
      try {
        expect(await restarted.deliverPending()).toMatchObject({ succeeded: 1 })
      } finally {
        await restarted.close()
      }
      expect(received('/added')).toEqual([
        expect.objectContaining({
          type: 'book.added',
          data: expect.objectContaining({ id, title: 'Persuasion', ownerId: 'u1' }),
        }),
      ])
    } finally {
      await own.close()
    }
  })
})

describe('fromTypeORM (the transaction bridge)', () => {
  it('modelEvent with a TypeORM transaction’s manager or query runner commits and rolls back with it', async () => {
    await subscribe('u1', 'book.read', '/read')
    const book = { id: 1, title: 'Emma', ownerId: 'u1' }
    await dataSource.transaction(async (manager) => {
      await env.hooks.modelEvent('Book', 'read', book, { tx: manager })
      await env.hooks.modelEvent('Book', 'read', book, { tx: fromTypeORM(manager) })
    })
    expect(await count('resthooks_deliveries')).toBe(2)

    const runner = dataSource.createQueryRunner()
    try {
      await runner.startTransaction()
      await env.hooks.modelEvent('Book', 'read', book, { tx: runner })
      await runner.rollbackTransaction()
      await runner.startTransaction()
      await env.hooks.modelEvent('Book', 'read', book, { tx: runner })
      await runner.commitTransaction()
    } finally {
      await runner.release()
    }
    expect(await count('resthooks_deliveries')).toBe(3)
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 3 })
  })

  it('a TypeORM object that holds no transaction is a clear error, and nothing is written', async () => {
    const book = { id: 1, title: 'Emma', ownerId: 'u1' }
    await expect(env.hooks.modelEvent('Book', 'read', book, { tx: dataSource })).rejects.toThrow(
      /options.tx is a TypeORM DataSource, which cannot hold a transaction/,
    )
    await expect(
      env.hooks.modelEvent('Book', 'read', book, { tx: dataSource.manager }),
    ).rejects.toThrow(/options.tx is a TypeORM EntityManager outside a transaction/)
    const runner = dataSource.createQueryRunner()
    try {
      await expect(env.hooks.modelEvent('Book', 'read', book, { tx: runner })).rejects.toThrow(
        /options.tx is a TypeORM QueryRunner with no open transaction/,
      )
    } finally {
      await runner.release()
    }
    expect(() => fromTypeORM(dataSource.manager)).toThrow(/outside a transaction/)
    expect(await count('resthooks_events')).toBe(0)
  })

  it('isTypeORMLike tells TypeORM’s objects from other transactions', async () => {
    const runner = dataSource.createQueryRunner()
    try {
      expect([dataSource.manager, runner, dataSource, runner.manager].map(isTypeORMLike)).toEqual([
        true,
        true,
        true,
        true,
      ])
    } finally {
      await runner.release()
    }
    const pgClient = { query: async () => ({ rows: [] }), release: () => {} }
    const bridge = { executeSql: async () => ({ rows: [] }) }
    expect([pgClient, bridge, {}, null, 'tx'].map(isTypeORMLike)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ])
  })
})

describe('examples/typeorm.ts', () => {
  itOn('sqlite')('runs, delivers added, changed and removed, and exits 0', async () => {
    const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>(
      (resolve) => {
        const child = spawn(process.execPath, ['examples/typeorm.ts'], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'inherit'],
        })
        let output = ''
        child.stdout.on('data', (chunk: Buffer) => {
          output += chunk.toString('utf8')
        })
        child.once('exit', (exitCode) => resolve({ code: exitCode, stdout: output }))
      },
    )
    expect(code).toBe(0)
    expect(stdout).toMatch(/received book\.added .*"title":"The Hobbit"/)
    expect(stdout).toMatch(/received book\.changed .*"title":"The Hobbit, or There and Back Again"/)
    expect(stdout).toMatch(/received book\.removed .*"id":1/)
    expect(stdout).toMatch(/received book\.read /)
    expect(stdout).toContain('rolled back: nothing was queued')
    expect(stdout).toContain('4 webhooks delivered')
  })
})
