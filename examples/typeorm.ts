/**
 * resthooks with TypeORM, on embedded SQLite in a temporary directory: an entity subscriber
 * turns save() and remove() into book.added, book.changed and book.removed, each written in the
 * same transaction as the change; a transaction that rolls back queues nothing.
 *
 *   node examples/typeorm.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DataSource, EntitySchema } from 'typeorm'
import { createHooks } from '../src/index.ts'
import { typeormSubscriber } from '../src/integrations/typeorm.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'resthooks-typeorm-'))
const path = join(dir, 'app.db') // one SQLite file: the app's tables and resthooks' side by side

// 1. The application's entity, as an EntitySchema (no decorators needed).
interface Book {
  id: number
  title: string
  ownerId: string
}
const BookSchema = new EntitySchema<Book>({
  name: 'Book', // the model name in the events map: 'Book.created'
  tableName: 'book',
  columns: {
    id: { type: Number, primary: true, generated: true },
    title: { type: String },
    ownerId: { type: String, name: 'owner_id' },
  },
})

// 2. resthooks on the same file, and TypeORM (better-sqlite3) with the subscriber attached.
const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
    'book.read': 'Book.read',
  },
  allowTargets: ['127.0.0.0/8'], // the receiver below is local; the SSRF guard refuses it otherwise
})
await hooks.migrate()
const dataSource = new DataSource({
  type: 'better-sqlite3',
  database: path,
  entities: [BookSchema],
  synchronize: true,
})
await dataSource.initialize()
const resthooks = typeormSubscriber(hooks).attach(dataSource)

// 3. A subscriber's receiver, checking every signature.
let secret = ''
let received = 0
const receiver = createServer(async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  const { payload } = await verifyWebhook<{ type: string; data: unknown }>(
    { headers: req.headers, body: Buffer.concat(chunks) },
    secret,
  )
  console.log(`  received ${payload.type} ${JSON.stringify(payload.data)}`)
  received++
  res.writeHead(204).end()
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`
const subscription = await hooks.subscribe({ owner: 'u1', event: 'book.*', target })
secret = subscription.secret
console.log(`subscribed ${subscription.id} to book.* → ${target}`)

// 4. Changes through TypeORM; each delivery pass sends what the change queued.
const books = dataSource.getRepository(BookSchema)

console.log('save() a new book')
const book = await books.save({ title: 'The Hobbit', ownerId: 'u1' })
await hooks.deliverPending()

console.log('save() a change')
book.title = 'The Hobbit, or There and Back Again'
await books.save(book)
await hooks.deliverPending()

console.log('fire() a custom action, in a transaction')
await dataSource.transaction(async (manager) => {
  const repository = manager.getRepository(BookSchema)
  await resthooks.fire(repository, 'read', await repository.findOneByOrFail({ id: book.id }))
})
await hooks.deliverPending()

console.log('save() in a transaction that rolls back')
await dataSource
  .transaction(async (manager) => {
    await manager.save(BookSchema, { title: 'The Silmarillion', ownerId: 'u1' })
    throw new Error('changed my mind')
  })
  .catch(() => {})
const { succeeded } = await hooks.deliverPending()
console.log(`  rolled back: nothing was queued (${succeeded} delivered)`)

console.log('remove() the book')
await books.remove(book)
await hooks.deliverPending()

console.log(`${received} webhooks delivered`)

// 5. Shut down once all work has stopped: the ORM's connection, then resthooks'.
await dataSource.destroy()
await hooks.close()
receiver.close()
rmSync(dir, { recursive: true, force: true })
