/**
 * resthooks with Kysely, on embedded SQLite in a temporary directory: a subscriber's receiver, a
 * subscription, and a book created, updated and deleted through `kyselyModel`, each write
 * recording its webhook in the same transaction. The application's Kysely runs on resthooks'
 * `NodeSqliteDialect` (Node's built-in `node:sqlite`, no native build); Kysely's own
 * `SqliteDialect` over better-sqlite3 works the same way.
 *
 *   node examples/kysely.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { type Generated, Kysely, sql } from 'kysely'
import { createHooks } from '../src/index.ts'
import { kyselyModel } from '../src/integrations/kysely.ts'
import { NodeSqliteDialect, sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'

// 1. The application: its Kysely database. resthooks' tables go in the same file.
interface AppDatabase {
  book: { id: Generated<number>; title: string; owner_id: string }
}
const dir = mkdtempSync(join(tmpdir(), 'resthooks-kysely-'))
const path = join(dir, 'app.db')
const db = new Kysely<AppDatabase>({
  dialect: new NodeSqliteDialect({ database: new DatabaseSync(path) }),
})
await sql`CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT NOT NULL, owner_id TEXT NOT NULL)`.execute(
  db,
)

const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
  },
  owner: (book) => book.owner_id,
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
const books = kyselyModel(hooks, db, 'book', { model: 'Book' })
const book = await books.create({ title: 'The Two Towers', owner_id: 'u1' })
console.log(`created book ${book.id}`)
await books.update((eb) => eb('id', '=', book.id), { title: 'The Return of the King' })
await books.delete((eb) => eb('id', '=', book.id))

// 5. Deliver what is due (a worker would do this in the background), then shut down cleanly.
const totals = await hooks.deliverPending({ concurrency: 1 })
console.log(`delivered ${totals.succeeded} webhooks`)
await hooks.close()
await db.destroy()
receiver.close()
rmSync(dir, { recursive: true, force: true })
