/**
 * resthooks with Drizzle ORM, on embedded SQLite (better-sqlite3) in a temporary directory: a
 * subscriber's receiver, a subscription, and a book created, updated and deleted through
 * `drizzleModel`, each write recording its webhook in the same transaction.
 *
 *   node examples/drizzle.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/better-sqlite3'
import { integer, sqliteTable, text } from 'drizzle-orm/sqlite-core'
import { createHooks } from '../src/index.ts'
import { drizzleModel } from '../src/integrations/drizzle.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'

// 1. The application: its Drizzle schema and database. resthooks' tables go in the same file.
const books = sqliteTable('book', {
  id: integer('id').primaryKey(),
  title: text('title').notNull(),
  ownerId: text('owner_id').notNull(),
})
const dir = mkdtempSync(join(tmpdir(), 'resthooks-drizzle-'))
const path = join(dir, 'app.db')
const sqlite = new Database(path)
sqlite.exec(
  'CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT NOT NULL, owner_id TEXT NOT NULL)',
)
const db = drizzle(sqlite)

const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
  },
  // Owners are read from the row's `ownerId` by default.
  allowTargets: ['127.0.0.0/8'], // the receiver below is local; the SSRF guard refuses it otherwise
})
await hooks.migrate()

// 2. A subscriber's receiver, checking every signature.
let secret = ''
const receiver = createServer(async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const { payload } = await verifyWebhook<{ type: string; data: unknown }>(
    { headers: req.headers, body: Buffer.concat(chunks) },
    secret,
  )
  console.log(`  received ${payload.type} ${JSON.stringify(payload.data)}`)
  res.writeHead(204).end()
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`

// 3. Owner u1 subscribes to every book event.
const subscription = await hooks.subscribe({ owner: 'u1', event: 'book.*', target })
secret = subscription.secret
console.log(`subscribed ${subscription.id} to ${subscription.event}`)

// 4. Three writes through the helper: each runs in a transaction with its outbox rows.
const bookModel = drizzleModel(hooks, db, books, { model: 'Book' })
const book = await bookModel.create({ title: 'The Two Towers', ownerId: 'u1' })
console.log(`created book ${book.id}`)
await bookModel.update(eq(books.id, book.id), { title: 'The Return of the King' })
await bookModel.delete(eq(books.id, book.id))

// 5. Deliver what is due (a worker would do this in the background), then shut down cleanly.
const totals = await hooks.deliverPending({ concurrency: 1 })
console.log(`delivered ${totals.succeeded} webhooks`)
await hooks.close()
sqlite.close()
receiver.close()
rmSync(dir, { recursive: true, force: true })
