/**
 * The bookstore's own application: books owned by users, created, changed, read and deleted
 * over HTTP. Every write runs in a Kysely transaction, and its webhook event is recorded in the
 * same transaction (`{ tx: trx }`): a write that fails sends nothing, and a committed one is
 * never lost.
 */
import { type Generated, type Kysely, type Selectable, sql } from 'kysely'
import { z } from 'zod'
import type { Hooks } from '../../src/index.ts'

/** The `book` table, as the application stores it. */
export interface BookTable {
  id: Generated<number>
  title: string
  author: string
  status: 'draft' | 'published'
  owner_id: string
  created_at: string
  updated_at: string
}

/** A row of the `book` table. */
export type BookRow = Selectable<BookTable>

export interface BookstoreDatabase {
  book: BookTable
}

/** The book as the API answers it and as webhooks carry it (`serializers.Book`). */
export function bookJson(book: BookRow) {
  return {
    id: book.id,
    title: book.title,
    author: book.author,
    status: book.status,
    ownerId: book.owner_id,
    createdAt: book.created_at,
    updatedAt: book.updated_at,
  }
}

/** Creates the `book` table when it is missing. */
export async function createBookTable(db: Kysely<BookstoreDatabase>): Promise<void> {
  await db.schema
    .createTable('book')
    .ifNotExists()
    .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('author', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().defaultTo('draft'))
    .addColumn('owner_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute()
  await sql`CREATE INDEX IF NOT EXISTS book_owner ON book (owner_id)`.execute(db)
}

const NewBook = z.strictObject({
  title: z.string().trim().min(1).max(200),
  author: z.string().trim().min(1).max(200),
  status: z.enum(['draft', 'published']).optional(),
})
const BookChange = NewBook.partial().refine((change) => Object.keys(change).length > 0, {
  message: 'send at least one of title, author, status',
})

/** Creates a book for `owner`, with its `book.added` event in the same transaction. */
export async function createBook(
  db: Kysely<BookstoreDatabase>,
  hooks: Hooks,
  owner: string,
  input: z.infer<typeof NewBook>,
): Promise<BookRow> {
  const now = new Date().toISOString()
  return db.transaction().execute(async (trx) => {
    const book = await trx
      .insertInto('book')
      .values({
        title: input.title,
        author: input.author,
        status: input.status ?? 'draft',
        owner_id: owner,
        created_at: now,
        updated_at: now,
      })
      .returningAll()
      .executeTakeFirstOrThrow()
    await hooks.modelEvent('Book', 'created', book, { tx: trx })
    return book
  })
}

/** The HTTP routes under `/books`, for the user that `userOf(request)` names. */
export function booksHandler(options: {
  db: Kysely<BookstoreDatabase>
  hooks: Hooks
  userOf: (request: Request) => string | null
}) {
  const { db, hooks } = options

  function find(owner: string, id: number) {
    return db
      .selectFrom('book')
      .selectAll()
      .where('id', '=', id)
      .where('owner_id', '=', owner)
      .executeTakeFirst()
  }

  return async function handle(request: Request): Promise<Response> {
    const owner = options.userOf(request)
    if (!owner) {
      return problem(401, 'send a demo user token: Authorization: Bearer demo-alice')
    }
    const [, , idText, action, ...rest] = new URL(request.url).pathname.split('/')
    const id = idText === undefined || idText === '' ? null : Number(idText)
    if (rest.length > 0 || (id !== null && !Number.isSafeInteger(id))) {
      return problem(404, 'no such route')
    }

    if (id === null) {
      if (request.method === 'GET') {
        const books = await db
          .selectFrom('book')
          .selectAll()
          .where('owner_id', '=', owner)
          .orderBy('id')
          .execute()
        return Response.json(books.map(bookJson))
      }
      if (request.method === 'POST') {
        const body = await bodyOf(request)
        if (body instanceof Response) return body
        const input = NewBook.safeParse(body)
        if (!input.success) return invalid(input.error)
        const book = await createBook(db, hooks, owner, input.data)
        return Response.json(bookJson(book), {
          status: 201,
          headers: { location: `/books/${book.id}` },
        })
      }
      return problem(405, 'use GET or POST on /books')
    }

    if (action === 'read' && request.method === 'POST') {
      // A custom model action: `book.read`, mapped to `Book.read`.
      const book = await find(owner, id)
      if (!book) return problem(404, `no book ${id}`)
      await hooks.modelEvent('Book', 'read', book)
      return new Response(null, { status: 204 })
    }
    if (action !== undefined) return problem(404, 'no such route')

    if (request.method === 'GET') {
      const book = await find(owner, id)
      return book ? Response.json(bookJson(book)) : problem(404, `no book ${id}`)
    }
    if (request.method === 'PATCH') {
      const body = await bodyOf(request)
      if (body instanceof Response) return body
      const change = BookChange.safeParse(body)
      if (!change.success) return invalid(change.error)
      const updated = await db.transaction().execute(async (trx) => {
        const previous = await trx
          .selectFrom('book')
          .selectAll()
          .where('id', '=', id)
          .where('owner_id', '=', owner)
          .executeTakeFirst()
        if (!previous) return null
        const book = await trx
          .updateTable('book')
          .set({ ...change.data, updated_at: new Date().toISOString() })
          .where('id', '=', id)
          .returningAll()
          .executeTakeFirstOrThrow()
        // `previous` lets subscriptions filter on what changed ({"changed": ["status"]}).
        await hooks.modelEvent('Book', 'updated', book, { tx: trx, previous })
        return book
      })
      return updated ? Response.json(bookJson(updated)) : problem(404, `no book ${id}`)
    }
    if (request.method === 'DELETE') {
      const removed = await db.transaction().execute(async (trx) => {
        const book = await trx
          .deleteFrom('book')
          .where('id', '=', id)
          .where('owner_id', '=', owner)
          .returningAll()
          .executeTakeFirst()
        // The removed event carries the book's last values.
        if (book) await hooks.modelEvent('Book', 'deleted', book, { tx: trx })
        return book
      })
      return removed ? new Response(null, { status: 204 }) : problem(404, `no book ${id}`)
    }
    return problem(405, 'use GET, PATCH or DELETE on /books/{id}')
  }
}

/** The JSON body, or the 400 that says it is not JSON. */
async function bodyOf(request: Request): Promise<unknown> {
  try {
    return await request.json()
  } catch {
    return problem(400, 'the body must be JSON, e.g. {"title": "Dune", "author": "Frank Herbert"}')
  }
}

function invalid(error: z.ZodError): Response {
  return problem(
    400,
    error.issues
      .map((issue) => (issue.path.length ? `${issue.path.join('.')}: ` : '') + issue.message)
      .join('; '),
  )
}

function problem(status: number, detail: string): Response {
  return Response.json(
    { title: status === 401 ? 'unauthenticated' : 'request refused', status, detail },
    { status, headers: { 'content-type': 'application/problem+json' } },
  )
}
