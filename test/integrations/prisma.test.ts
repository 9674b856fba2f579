/**
 * The Prisma 7 integration: the client extension fires model events in the transaction of each
 * write, on SQLite (@prisma/adapter-better-sqlite3) and, in the postgres project, on PostgreSQL
 * (@prisma/adapter-pg), against a real database, a real receiver and real deliveries.
 */
import { execFile, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  ConfigurationError,
  createHooks,
  defaultOwner,
  EventError,
  type Hooks,
  type HooksOptions,
  type OwnerResolver,
} from '../../src/index.ts'
import { type PrismaHooksOptions, prismaHooks } from '../../src/integrations/prisma.ts'
import { transactionOf } from '../../src/integrations/prisma-transaction.ts'
import { fromPrisma, isPrismaClient, isPrismaLike } from '../../src/tx/prisma.ts'
import { bookEvents } from '../support/bookstore.ts'
import {
  countRows,
  createAppTables,
  extend,
  loadTestPrisma,
  type TestBaseTransaction,
  type TestPrismaClient,
  type TestTransaction,
} from '../support/prisma-client.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { storeKind, temporaryDatabaseOfKind } from '../support/store-kind.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const CRASH_CHILD = fileURLToPath(new URL('./prisma/crash-after-commit.ts', import.meta.url))

const events = {
  ...bookEvents,
  'chapter.added': 'Chapter.created',
  'shelf.changed': 'Shelf.updated',
} as const

/** A Chapter belongs to its book's owner: the resolver follows the relation in the change's transaction. */
const ownerThroughBook: OwnerResolver = async (instance, model, { tx }) => {
  if (model !== 'Chapter') return defaultOwner(instance)
  const book = await (tx as TestPrismaClient).book.findUniqueOrThrow({
    where: { id: instance.bookId },
  })
  return book.ownerId
}

let prismaModule: Awaited<ReturnType<typeof loadTestPrisma>>
let receiver: Receiver
const cleanups: (() => Promise<void>)[] = []

beforeAll(async () => {
  prismaModule = await loadTestPrisma(storeKind)
  receiver = await startReceiver()
}, 120_000)

afterAll(async () => {
  await receiver?.close()
})

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
  receiver.requests.length = 0
})

/**
 * A fresh database of the kind under test, with resthooks' tables, the application's tables, a
 * Prisma client (`base`) and the same client extended with prismaHooks (`prisma`).
 */
async function bookstore(
  options: {
    hooks?: Partial<HooksOptions>
    extension?: PrismaHooksOptions
    omit?: Record<string, Record<string, boolean>>
  } = {},
) {
  const database = await temporaryDatabaseOfKind()
  const hooks = createHooks({
    store: database.open(),
    events: { ...events },
    owner: ownerThroughBook,
    allowTargets: ['127.0.0.0/8'],
    retry: { schedule: [50], jitter: 0 },
    ...options.hooks,
  })
  await hooks.migrate()
  await createAppTables(storeKind, database.location)
  const base = prismaModule.open(database.location, options.omit)
  const prisma = extend(base, hooks, options.extension)
  cleanups.push(async () => {
    await base.$disconnect()
    await hooks.close()
    await database.remove()
  })
  const subscribe = async (
    owner: string,
    event: string,
    path = `/${owner}`,
    filter?: Record<string, unknown>,
  ) =>
    hooks.subscribe({
      owner,
      event,
      target: `${receiver.url}${path}`,
      ...(filter ? { filter } : {}),
    })
  const count = (table: string) => countRows(storeKind, database.location, table)
  return { hooks, base, prisma, subscribe, count, location: database.location }
}

/** Delivers what is due, one at a time (in order), and returns the bodies received so far. */
async function deliver(hooks: Hooks) {
  await hooks.deliverPending({ concurrency: 1 })
  return receiver.requests.map((request) => ({
    path: request.path,
    ...(JSON.parse(request.body) as { type: string; data: Record<string, unknown> }),
  }))
}

describe('Prisma: automatic model events', () => {
  it('create → update → delete delivers added, changed, removed in order, the delete with the last values', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.*')
    const book = await prisma.book.create({ data: { title: 'The Two Towers', ownerId: 'u1' } })
    const updated = await prisma.book.update({
      where: { id: book.id },
      data: { pages: 352, status: 'published' },
    })
    await prisma.book.delete({ where: { id: book.id } })

    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.data.pages, b.data.status])).toEqual([
      ['book.added', 0, 'draft'],
      ['book.changed', 352, 'published'],
      ['book.removed', 352, 'published'],
    ])
    expect(bodies[0]?.data).toEqual({
      id: book.id,
      title: 'The Two Towers',
      status: 'draft',
      pages: 0,
      ownerId: 'u1',
      createdAt: book.createdAt.toISOString(),
    })
    expect(bodies[2]?.data).toEqual({ ...bodies[1]?.data, id: updated.id })
  })

  it('a change in an interactive transaction that rolls back delivers nothing and leaves no event, delivery or row', async () => {
    const { hooks, prisma, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.added')
    await expect(
      prisma.$transaction(async (tx: TestTransaction) => {
        await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
        await tx.book.fireEvent('read', { id: 1, ownerId: 'u1' })
        throw new Error('the application changed its mind')
      }),
    ).rejects.toThrow('changed its mind')
    expect([
      await count('book'),
      await count('resthooks_events'),
      await count('resthooks_deliveries'),
    ]).toEqual([0, 0, 0])
    await deliver(hooks)
    expect(receiver.requests).toHaveLength(0)
  })

  it('a nested transaction that rolls back takes its events with it; the outer one keeps its own', async () => {
    const { hooks, prisma, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.added')
    await prisma.$transaction(async (tx: TestTransaction) => {
      await tx.book.create({ data: { title: 'Kept', ownerId: 'u1' } })
      await expect(
        tx.$transaction(async (nested: TestTransaction) => {
          await nested.book.create({ data: { title: 'Dropped', ownerId: 'u1' } })
          throw new Error('inner change of mind')
        }),
      ).rejects.toThrow('inner change of mind')
    })
    expect([await count('book'), await count('resthooks_events')]).toEqual([1, 1])
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => b.data.title)).toEqual(['Kept'])
  })

  it('a committed change delivers exactly once per matching subscription', async () => {
    const { hooks, prisma, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.added', '/exact')
    await subscribe('u1', 'book.*', '/pattern')
    await subscribe('u2', 'book.added', '/other-owner')
    await prisma.$transaction(async (tx: TestTransaction) => {
      await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
      await tx.note.create({ data: { text: 'a model without events' } })
    })
    expect([await count('resthooks_events'), await count('resthooks_deliveries')]).toEqual([1, 2])
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => b.path).sort()).toEqual(['/exact', '/pattern'])
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    expect(receiver.requests).toHaveLength(2)
  })

  it('a lone change whose event cannot be written is rolled back with it', async () => {
    const { prisma, subscribe, count } = await bookstore({
      hooks: { owner: (book) => (book.title === 'Orphan' ? null : defaultOwner(book)) },
    })
    await subscribe('u1', 'book.added')
    await expect(prisma.book.create({ data: { title: 'Orphan', ownerId: 'u1' } })).rejects.toThrow(
      EventError,
    )
    expect([await count('book'), await count('resthooks_events')]).toEqual([0, 0])
    await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    expect([await count('book'), await count('resthooks_events')]).toEqual([1, 1])
  })

  it('a custom action fires through prisma.book.fireEvent, alone or in a transaction', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.read')
    const book = await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    const lone = await prisma.book.fireEvent('read', book)
    const inTransaction = await prisma.$transaction((tx: TestTransaction) =>
      tx.book.fireEvent('read', book),
    )
    expect([lone?.deliveries, inTransaction?.deliveries]).toEqual([1, 1])
    expect(await prisma.book.fireEvent('opened', book)).toBeNull() // no event maps Book.opened
    await expect(prisma.book.fireEvent('', book)).rejects.toThrow(/takes the action as a string/)
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.data.title])).toEqual([
      ['book.read', 'Emma'],
      ['book.read', 'Emma'],
    ])
  })

  it('a `+` event (book.changed = Book.updated+) reaches every owner; a plain one only the owner', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    for (const owner of ['u1', 'u2']) {
      await subscribe(owner, 'book.changed')
      await subscribe(owner, 'book.added')
    }
    const book = await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    await prisma.book.update({ where: { id: book.id }, data: { pages: 474 } })
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => `${b.type} ${b.path}`).sort()).toEqual([
      'book.added /u1',
      'book.changed /u1',
      'book.changed /u2',
    ])
  })

  it('change conditions see the previous values: each filter gets only the update it asks for', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.changed', '/published', { status: { changedTo: 'published' } })
    await subscribe('u1', 'book.changed', '/retitled', { changed: ['title'] })
    const book = await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    await prisma.book.update({ where: { id: book.id }, data: { title: 'Emma (2nd ed.)' } })
    await prisma.book.update({ where: { id: book.id }, data: { status: 'published' } })
    await prisma.book.update({ where: { id: book.id }, data: { pages: 474 } })
    await prisma.book.upsert({
      where: { id: book.id },
      create: { title: 'never', ownerId: 'u1' },
      update: { title: 'Emma (3rd ed.)' },
    })
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => `${b.path} ${b.data.title} ${b.data.status}`)).toEqual([
      '/retitled Emma (2nd ed.) draft',
      '/published Emma (2nd ed.) published',
      '/retitled Emma (3rd ed.) published',
    ])
  })

  it('the owner is found through a relation, in the transaction of the change', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'chapter.added')
    // The book is not committed when its chapter's owner is resolved: only `tx` can see it.
    await prisma.$transaction(async (tx: TestTransaction) => {
      const book = await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
      await tx.chapter.create({ data: { title: 'Volume I', bookId: book.id } })
    })
    const book = await prisma.book.findFirstOrThrow()
    await prisma.chapter.create({ data: { title: 'Volume II', bookId: book.id } })
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.path, b.data.title])).toEqual([
      ['chapter.added', '/u1', 'Volume I'],
      ['chapter.added', '/u1', 'Volume II'],
    ])
  })

  it('upsert fires created when the row is missing and updated, with previous values, when it exists', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.added')
    await subscribe('u1', 'book.changed', '/changed', { pages: { changedFrom: 0 } })
    const upsert = (pages: number) =>
      prisma.book.upsert({
        where: { id: 1 },
        create: { id: 1, title: 'Emma', ownerId: 'u1' },
        update: { pages },
      })
    await upsert(10)
    await upsert(20)
    await upsert(30)
    const bodies = await deliver(hooks)
    // Created with the create data; then 0 → 20 matches changedFrom 0, and 20 → 30 does not.
    expect(bodies.map((b) => [b.type, b.data.pages])).toEqual([
      ['book.added', 0],
      ['book.changed', 20],
    ])
  })

  it('select and omit shape what the caller gets back, never the event', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.*')
    const created = await prisma.book.create({
      data: { title: 'Emma', ownerId: 'u1' },
      select: { title: true },
    })
    expect(created).toEqual({ title: 'Emma' })
    const book = await prisma.book.findFirstOrThrow()
    const updated = await prisma.book.update({
      where: { id: book.id },
      data: { pages: 474 },
      omit: { ownerId: true, createdAt: true },
    })
    expect(updated).toEqual({ id: book.id, title: 'Emma', status: 'draft', pages: 474 })
    const withChapters = await prisma.book.update({
      where: { id: book.id },
      data: { chapters: { create: { title: 'Volume I' } } },
      include: { chapters: true },
    })
    expect(withChapters.chapters).toHaveLength(1)
    const deleted = await prisma.book.delete({ where: { id: book.id }, select: { id: true } })
    expect(deleted).toEqual({ id: book.id })
    const bodies = await deliver(hooks)
    const full = ['id', 'title', 'status', 'pages', 'ownerId', 'createdAt']
    expect(bodies.map((b) => [b.type, Object.keys(b.data).sort()])).toEqual([
      ['book.added', [...full].sort()],
      ['book.changed', [...full].sort()],
      ['book.changed', [...full].sort()],
      ['book.removed', [...full].sort()],
    ])
  })

  it('fields the client omits globally stay out of events, whatever the call selects', async () => {
    const { hooks, prisma, subscribe } = await bookstore({ omit: { book: { status: true } } })
    await subscribe('u1', 'book.*')
    const book = await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    await prisma.book.update({ where: { id: book.id }, data: { pages: 1 }, select: { id: true } })
    await prisma.book.update({ where: { id: book.id }, data: { pages: 2 }, omit: { title: true } })
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, 'status' in b.data, b.data.title])).toEqual([
      ['book.added', false, 'Emma'],
      ['book.changed', false, 'Emma'],
      ['book.changed', false, 'Emma'],
    ])
  })

  it('models without events, and actions without events, are written as they are', async () => {
    const { prisma, count } = await bookstore({ hooks: { events: { 'book.read': 'Book.read' } } })
    await prisma.note.create({ data: { text: 'no events' } })
    const book = await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    await prisma.book.update({ where: { id: book.id }, data: { pages: 1 } })
    await prisma.book.delete({ where: { id: book.id } })
    expect([await count('note'), await count('resthooks_events')]).toEqual([1, 0])
  })

  it('modelNames gives a Prisma model another name in events, serializers and owners', async () => {
    const { hooks, prisma, subscribe } = await bookstore({
      hooks: {
        events: { 'novel.added': 'Novel.created' },
        serializers: { Novel: (novel, { model }) => ({ model, title: novel.title }) },
      },
      extension: { modelNames: { Book: 'Novel' } },
    })
    await subscribe('u1', 'novel.added')
    await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.data])).toEqual([
      ['novel.added', { model: 'Novel', title: 'Emma' }],
    ])
  })
})

describe('Prisma: the *Many operations', () => {
  it('createMany fires nothing (Prisma returns no rows); createManyAndReturn fires per row', async () => {
    const { hooks, prisma, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.added')
    const many = await prisma.book.createMany({
      data: [
        { title: 'A', ownerId: 'u1' },
        { title: 'B', ownerId: 'u1' },
      ],
    })
    expect(many).toEqual({ count: 2 })
    expect(await count('resthooks_events')).toBe(0)
    const rows = await prisma.book.createManyAndReturn({
      data: [
        { title: 'C', ownerId: 'u1' },
        { title: 'D', ownerId: 'u1' },
      ],
      select: { title: true },
    })
    expect(rows).toEqual([{ title: 'C' }, { title: 'D' }])
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.data.title, b.data.status])).toEqual([
      ['C', 'draft'],
      ['D', 'draft'],
    ])
  })

  it('updateMany and updateManyAndReturn fire per row with previous values, for exactly the rows written', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.changed', '/published', { status: { changedTo: 'published' } })
    await prisma.book.createMany({
      data: ['A', 'B', 'C', 'D'].map((title) => ({ title, ownerId: 'u1' })),
    })
    const result = await prisma.book.updateMany({
      where: { title: { in: ['A', 'B'] } },
      data: { status: 'published' },
    })
    expect(result).toEqual({ count: 2 })
    // Already published: changedTo does not match again.
    await prisma.book.updateMany({ where: { title: 'A' }, data: { status: 'published' } })
    const returned = await prisma.book.updateManyAndReturn({
      where: { title: { in: ['C', 'D'] } },
      data: { status: 'published' },
      limit: 1,
    })
    expect(returned).toHaveLength(1)
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => b.data.title)).toEqual(['A', 'B', returned[0]?.title])
  })

  it('a composite primary key is named in primaryKeys; without it, an updateMany of that model is a clear error', async () => {
    const shelves = [
      { ownerId: 'u1', name: 'fiction', size: 1 },
      { ownerId: 'u1', name: 'poetry', size: 1 },
      { ownerId: 'u2', name: 'fiction', size: 1 },
    ]
    const named = await bookstore({ extension: { primaryKeys: { Shelf: ['ownerId', 'name'] } } })
    await named.subscribe('u1', 'shelf.changed', '/u1', { size: { changedFrom: 1 } })
    await named.prisma.shelf.createMany({ data: shelves })
    await named.prisma.shelf.updateMany({ where: { name: 'fiction' }, data: { size: 2 } })
    const bodies = await deliver(named.hooks)
    expect(bodies.map((b) => [b.path, b.data])).toEqual([
      ['/u1', { ownerId: 'u1', name: 'fiction', size: 2 }],
    ])

    const unnamed = await bookstore()
    await unnamed.prisma.shelf.createMany({ data: shelves })
    await expect(
      unnamed.prisma.shelf.updateMany({ where: { name: 'fiction' }, data: { size: 2 } }),
    ).rejects.toThrow(
      /Shelf has no id field, and updateMany needs its primary key: name it in options.primaryKeys/,
    )
    expect(await unnamed.prisma.shelf.count({ where: { size: 2 } })).toBe(0)
  })

  it('deleteMany fires per deleted row with its last values, reading the rows first in the transaction', async () => {
    const { hooks, prisma, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.removed')
    await prisma.book.createMany({
      data: ['A', 'B', 'C'].map((title) => ({ title, ownerId: 'u1', pages: 100 })),
    })
    expect(await prisma.book.deleteMany({ where: { title: { in: ['A', 'B'] } } })).toEqual({
      count: 2,
    })
    await expect(
      prisma.$transaction(async (tx: TestTransaction) => {
        await tx.book.deleteMany({})
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect(await count('book')).toBe(1)
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.data.title, b.data.pages])).toEqual([
      ['book.removed', 'A', 100],
      ['book.removed', 'B', 100],
    ])
  })
})

describe('Prisma: transactions', () => {
  it('a mapped write in a batch $transaction([…]) is refused with a clear error, and nothing of the batch is written', async () => {
    const { prisma, count } = await bookstore()
    await expect(
      prisma.$transaction([
        prisma.note.create({ data: { text: 'first in the batch' } }),
        prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } }),
      ]),
    ).rejects.toThrow(/inside \$transaction\(\[…\]\) cannot fire .*use an interactive transaction/)
    expect([await count('note'), await count('book'), await count('resthooks_events')]).toEqual([
      0, 0, 0,
    ])
    // Batches of writes without events work as before.
    await prisma.$transaction([
      prisma.note.create({ data: { text: 'a' } }),
      prisma.note.create({ data: { text: 'b' } }),
    ])
    expect(await count('note')).toBe(2)
  })

  it('fromPrisma(tx) bridges an interactive transaction for hand-written events; a whole PrismaClient is refused', async () => {
    const { hooks, base, subscribe, count } = await bookstore()
    await subscribe('u1', 'book.added')
    await expect(
      base.$transaction(async (tx: TestBaseTransaction) => {
        const book = await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
        await hooks.modelEvent('Book', 'created', book, { tx: fromPrisma(tx) })
        throw new Error('rolled back')
      }),
    ).rejects.toThrow('rolled back')
    expect([await count('book'), await count('resthooks_events')]).toEqual([0, 0])
    const result = await base.$transaction(async (tx: TestBaseTransaction) => {
      const book = await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
      return hooks.modelEvent('Book', 'created', book, { tx: fromPrisma(tx) })
    })
    expect(result?.deliveries).toBe(1)
    expect([await count('book'), await count('resthooks_deliveries')]).toEqual([1, 1])
    expect(() => fromPrisma(base)).toThrow(ConfigurationError)
    expect(() => fromPrisma(base)).toThrow(/cannot hold a transaction/)
    expect([isPrismaLike(base), isPrismaClient(base), isPrismaLike({ query() {} })]).toEqual([
      true,
      true,
      false,
    ])
    await base.$transaction(async (tx: TestBaseTransaction) => {
      expect([isPrismaLike(tx), isPrismaClient(tx)]).toEqual([true, false])
      // Integers come back as numbers, whatever the adapter's raw queries return.
      const { rows } = await fromPrisma(tx).executeSql(
        storeKind === 'sqlite'
          ? 'SELECT count(*) AS n, 9007199254740993 AS big FROM book'
          : 'SELECT count(*) AS n, 9007199254740993::bigint AS big FROM book',
        [],
      )
      expect(rows).toEqual([{ n: 1, big: '9007199254740993' }])
    })
  })

  it('a process killed right after the commit still delivers after restart', async () => {
    const { hooks, subscribe, location, count } = await bookstore()
    await subscribe('u1', 'book.added')
    const child = spawn(
      process.execPath,
      [CRASH_CHILD, storeKind, location, 'Killed after commit'],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString('utf8')
    })
    const signal = await new Promise((resolve) => child.once('exit', (_code, sig) => resolve(sig)))
    expect(output).toMatch(/committed book \d+/)
    expect(signal).toBe('SIGKILL')
    expect([await count('book'), await count('resthooks_deliveries')]).toEqual([1, 1])
    const bodies = await deliver(hooks)
    expect(bodies.map((b) => [b.type, b.data.title])).toEqual([
      ['book.added', 'Killed after commit'],
    ])
  })

  it('transactionOptions apply to the transaction opened around a lone change', async () => {
    const slowOwner: OwnerResolver = async (book) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      return defaultOwner(book)
    }
    const strict = await bookstore({
      hooks: { owner: slowOwner },
      extension: { transactionOptions: { timeout: 50 } },
    })
    await expect(
      strict.prisma.book.create({ data: { title: 'Too slow', ownerId: 'u1' } }),
    ).rejects.toThrow(/Transaction/)
    expect(await strict.count('book')).toBe(0)
    const lenient = await bookstore({ hooks: { owner: slowOwner } })
    await lenient.prisma.book.create({ data: { title: 'In time', ownerId: 'u1' } })
    expect(await lenient.count('book')).toBe(1)
  })

  it('an in-process worker delivers while the application writes concurrently through Prisma: nothing stalls, nothing is lost', async () => {
    const { hooks, prisma, subscribe } = await bookstore()
    await subscribe('u1', 'book.added', '/a')
    await subscribe('u1', 'book.added', '/b')
    const worker = hooks.worker({ concurrency: 10, pollIntervalMs: 10 })
    await worker.start()
    try {
      for (let batch = 0; batch < 12; batch++) {
        await Promise.all(
          Array.from({ length: 5 }, (_, i) =>
            prisma.book.create({ data: { title: `Book ${batch * 5 + i}`, ownerId: 'u1' } }),
          ),
        )
      }
      await receiver.waitFor(120, 20_000)
    } finally {
      await worker.stop()
    }
    const pairs = receiver.requests.map((r) => `${r.path} ${JSON.parse(r.body).data.title}`)
    expect(new Set(pairs).size).toBe(120)
  })

  it('the extension refuses to guess when Prisma does not say which transaction a query runs in', () => {
    const callback = { operation: 'create', args: {}, query: async () => undefined }
    expect(() => transactionOf(callback)).toThrow(/cannot find the transaction of this query/)
    expect(() => transactionOf({ ...callback, __internalParams: {} })).toThrow(
      /cannot find the transaction of this query/,
    )
    expect(
      transactionOf({ ...callback, __internalParams: { transaction: undefined } as never }),
    ).toBe(undefined)
    const itx = { kind: 'itx', id: 'tx-1' } as const
    expect(transactionOf({ ...callback, __internalParams: { transaction: itx } })).toBe(itx)
  })

  it.skipIf(storeKind !== 'sqlite')(
    'SQLite: a lone write arriving during the extension’s transaction is kept out of it (and not rolled back with it)',
    async () => {
      let release!: () => void
      const held = new Promise<void>((resolve) => {
        release = resolve
      })
      let resolving!: () => void
      const resolverStarted = new Promise<void>((resolve) => {
        resolving = resolve
      })
      const { prisma, base, count } = await bookstore({
        hooks: {
          // Holds the extension's transaction open, then fails it.
          owner: async (book) => {
            resolving()
            await held
            // A write through the global client from inside the transaction does not deadlock.
            await prisma.note.create({ data: { text: 'written by the resolver' } })
            return book.title === 'Doomed' ? null : defaultOwner(book)
          },
        },
      })
      // Compiles note.create's query plan now, so that the lone write below is not slowed by it.
      await base.note.create({ data: { text: 'warm-up' } })
      await base.note.deleteMany()

      const doomed = prisma.book.create({ data: { title: 'Doomed', ownerId: 'u1' } })
      const failed = expect(doomed).rejects.toThrow(EventError)
      await resolverStarted
      let loneDone = false
      const lone = prisma.note.create({ data: { text: 'another request' } }).then(() => {
        loneDone = true
      })
      // Without the gate the write runs at once, inside the open transaction.
      await Promise.race([lone, new Promise((resolve) => setTimeout(resolve, 1000))])
      const doneWhileOpen = loneDone
      release()
      await failed
      await lone
      expect(doneWhileOpen).toBe(false)
      expect([await count('book'), await count('note')]).toEqual([0, 1])
      const notes = await prisma.note.findMany()
      expect(notes.map((note: { text: string }) => note.text)).toEqual(['another request'])
    },
  )
})

describe('Prisma: configuration', () => {
  it('mistakes in the options throw at start-up, naming the option', async () => {
    const { hooks, base } = await bookstore()
    expect(() => prismaHooks({} as Hooks)).toThrow(/takes the result of createHooks/)
    expect(() => prismaHooks(hooks, { modelName: {} } as never)).toThrow(
      'prismaHooks options.modelName is not an option',
    )
    expect(() => prismaHooks(hooks, { modelNames: { Book: 'a b' } })).toThrow(
      /options.modelNames.Book must be a model name/,
    )
    expect(() => prismaHooks(hooks, { primaryKeys: { Book: [] } })).toThrow(
      /options.primaryKeys.Book must be a non-empty array/,
    )
    expect(() => prismaHooks(hooks, { transactionOptions: { timeout: -1 } })).toThrow(
      /options.transactionOptions.timeout must be a positive number/,
    )
    expect(() => base.$extends(prismaHooks(hooks, { modelNames: { Boook: 'Book' } }))).toThrow(
      'prismaHooks options.modelNames.Boook: the Prisma client has no model Boook',
    )
    expect(() => base.$extends(prismaHooks(hooks, { primaryKeys: { Book: ['isbn'] } }))).toThrow(
      'prismaHooks options.primaryKeys.Book: Book has no field isbn',
    )
  })
})

describe.skipIf(storeKind !== 'sqlite')('examples/prisma.ts', () => {
  it('runs on embedded SQLite and prints the three webhooks it received', async () => {
    const { code, stdout, stderr } = await new Promise<{
      code: number
      stdout: string
      stderr: string
    }>((resolve) => {
      execFile(
        process.execPath,
        ['examples/prisma.ts'],
        { cwd: ROOT, timeout: 120_000 },
        (error, out, err) =>
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: out, stderr: err }),
      )
    })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect(stdout).toMatch(/received book\.added\s+\{"id":1,"title":"The Two Towers"/)
    expect(stdout).toMatch(/received book\.changed\s+.*"title":"The Return of the King"/)
    expect(stdout).toMatch(/received book\.removed\s+.*"title":"The Return of the King"/)
    expect(stdout).toContain('delivery log: succeeded, succeeded, succeeded')
  }, 120_000)
})
