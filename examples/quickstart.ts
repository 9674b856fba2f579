/**
 * The quickest look at resthooks, on embedded SQLite: a subscriber's receiver, a subscription,
 * three model changes and the signed webhooks they send, each checked with verifyWebhook.
 *
 *   npm run quickstart            (node examples/quickstart.ts)
 */
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DatabaseSync } from 'node:sqlite'
import { createHooks, fromNodeSqlite } from '../src/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'

mkdirSync('data', { recursive: true })
const path = 'data/quickstart.db'

// 1. The application: its own table in its own SQLite file; resthooks' tables go beside it.
const app = new DatabaseSync(path)
app.exec('CREATE TABLE IF NOT EXISTS book (id INTEGER PRIMARY KEY, title TEXT, owner_id TEXT)')

const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
  },
  owner: (book) => (book as { owner_id: string }).owner_id,
  allowTargets: ['127.0.0.0/8'], // the receiver below is local; the SSRF guard refuses it otherwise
})
await hooks.migrate()

// 2. A subscriber's receiver, checking every signature.
let secret = ''
let received = 0
const receiver = createServer(async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  try {
    const { payload } = await verifyWebhook<{ type: string; data: unknown }>(
      { headers: req.headers, body: Buffer.concat(chunks) },
      secret,
    )
    console.log(`  received ${payload.type}, signature verified:`, JSON.stringify(payload.data))
    res.writeHead(204).end()
  } catch (error) {
    console.log('  received a request that failed verification:', (error as Error).message)
    res.writeHead(400).end()
  }
  received++
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`

// 3. Owner u1 subscribes to every book event.
const subscription = await hooks.subscribe({ owner: 'u1', event: 'book.*', target })
secret = subscription.secret
console.log(`subscribed ${subscription.id} to ${subscription.event} → ${target}`)

// 4. A delivery worker, and three changes, each written in one transaction with its outbox rows.
const worker = hooks.worker()
await worker.start()

async function change(sql: string, params: (string | number)[], action: string, book: object) {
  app.exec('BEGIN')
  app.prepare(sql).run(...params)
  await hooks.modelEvent('Book', action, book, { tx: fromNodeSqlite(app) })
  app.exec('COMMIT')
}
const book = { id: Date.now() % 100_000, title: 'The Two Towers', owner_id: 'u1' }
await change('INSERT INTO book VALUES (?, ?, ?)', [book.id, book.title, 'u1'], 'created', book)
await change(
  'UPDATE book SET title = ? WHERE id = ?',
  ['The Return of the King', book.id],
  'updated',
  {
    ...book,
    title: 'The Return of the King',
  },
)
await change('DELETE FROM book WHERE id = ?', [book.id], 'deleted', book)

// 5. Wait for the three webhooks, then shut down cleanly.
const deadline = Date.now() + 10_000
while (received < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
await worker.stop()
const log = await hooks.listDeliveries({ subscriptionId: subscription.id })
console.log(`delivery log: ${log?.data.map((d) => d.status).join(', ')}`)
await hooks.unsubscribe(subscription.id)
await hooks.close()
app.close()
receiver.close()
