/**
 * The bookstore demo (`npm start`): a small application whose users own books, with resthooks
 * embedded. Creating, changing, reading or deleting a book over HTTP sends webhooks to the
 * users' subscriptions; a built-in receiver shows them arrive with their signatures checked.
 * Everything runs in this one process on embedded SQLite (`data/bookstore.db`).
 *
 *   npm start                  (node examples/bookstore/main.ts)
 *   PORT=9000 npm start        another port (PORT=0: any free port)
 *   BOOKSTORE_DB=x.db          another database file
 *   RESTHOOKS_ADMIN_KEY=…      a fixed admin key instead of one generated for the session
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { Kysely } from 'kysely'
import { toNodeListener } from '../../src/http/adapters/node.ts'
import { createHooks } from '../../src/index.ts'
import { NodeSqliteDialect, sqliteStore } from '../../src/store/sqlite/index.ts'
import {
  type BookRow,
  type BookstoreDatabase,
  bookJson,
  booksHandler,
  createBook,
  createBookTable,
} from './books.ts'
import { demoReceiver } from './receiver.ts'

const path = process.env.BOOKSTORE_DB || 'data/bookstore.db'
const port = Number(process.env.PORT ?? 3000)
const adminKey =
  process.env.RESTHOOKS_ADMIN_KEY || `rh_admin_${randomBytes(24).toString('base64url')}`

/** The demo's users and the tokens they sign in with (a real app has sessions). */
const USERS: Record<string, string> = { 'demo-alice': 'alice', 'demo-bob': 'bob' }
const userOf = (request: Request): string | null => {
  const match = /^Bearer (\S+)$/.exec(request.headers.get('authorization') ?? '')
  return (match?.[1] && USERS[match[1]]) || null
}

mkdirSync(dirname(path), { recursive: true })
// The application's own connection to the database file; resthooks opens its own.
const db = new Kysely<BookstoreDatabase>({
  dialect: new NodeSqliteDialect({ database: new DatabaseSync(path) }),
})
await createBookTable(db)

const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
    'book.read': 'Book.read',
  },
  serializers: { Book: (book: BookRow) => bookJson(book) },
  owner: (book: BookRow) => book.owner_id,
  // The demo receiver is on this machine; the SSRF guard refuses loopback targets otherwise.
  allowTargets: ['127.0.0.0/8'],
  // Quick retries, so that a failure and its retry show within seconds.
  retry: { schedule: [5_000, 30_000, 120_000, 600_000] },
})
await hooks.migrate()

const receiver = demoReceiver(hooks, (webhook) =>
  console.log(
    `  receiver: ${webhook.event} ${webhook.webhookId}, signature ${webhook.verified ? 'verified' : `NOT verified (${webhook.error})`}, answered ${webhook.answered}`,
  ),
)
const books = booksHandler({ db, hooks, userOf })
const api = hooks.api({ authenticate: userOf, basePath: '/api' })
// The operators' dashboard: sign in with the admin key printed below.
const admin = hooks.admin({ adminKey, basePath: '/admin' })

const handle = (request: Request): Promise<Response> | Response => {
  const { pathname } = new URL(request.url)
  if (pathname === '/books' || pathname.startsWith('/books/')) return books(request)
  if (pathname === '/api' || pathname.startsWith('/api/')) return api(request)
  if (pathname === '/admin' || pathname.startsWith('/admin/')) return admin(request)
  if (pathname === '/receiver' || pathname.startsWith('/receiver/')) return receiver(request)
  if (pathname === '/' && request.method === 'GET') return home()
  return new Response('not found\n', { status: 404 })
}

const server = createServer(
  toNodeListener(handle, { onError: (error) => console.error('error:', error) }),
)
await new Promise<void>((resolve, reject) => {
  server.once('error', (error: NodeJS.ErrnoException) => {
    console.error(
      error.code === 'EADDRINUSE'
        ? `port ${port} is in use; try PORT=9000 npm start`
        : error.message,
    )
    reject(error)
  })
  server.listen(port, '127.0.0.1', resolve)
}).catch(async () => {
  await hooks.close()
  await db.destroy()
  process.exit(1)
})
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
const inbox = `${url}/receiver/inbox`

// Demo data, once: two books each, and alice's subscriptions to the demo receiver.
if ((await db.selectFrom('book').select('id').limit(1).execute()).length === 0) {
  for (const [owner, title, author] of [
    ['alice', 'Dune', 'Frank Herbert'],
    ['alice', 'The Left Hand of Darkness', 'Ursula K. Le Guin'],
    ['bob', 'Middlemarch', 'George Eliot'],
    ['bob', 'Things Fall Apart', 'Chinua Achebe'],
  ] as const) {
    await createBook(db, hooks, owner, { title, author, status: 'published' })
  }
}
const existing = await hooks.listSubscriptions({ owner: 'alice', limit: 100 })
for (const event of ['book.added', 'book.changed', 'book.removed']) {
  if (!existing.data.some((s) => s.event === event && s.target === inbox)) {
    await hooks.subscribe({ owner: 'alice', event, target: inbox })
  }
}

hooks.on('delivery.succeeded', (d) =>
  console.log(`  delivered ${d.event} to ${d.subscriptionId}: ${d.status} in ${d.durationMs} ms`),
)
hooks.on('delivery.failed', (d) =>
  console.log(
    `  ${d.event} to ${d.subscriptionId} failed (${d.error}); retry at ${d.nextAttemptAt}`,
  ),
)
hooks.on('delivery.exhausted', (d) =>
  console.log(`  ${d.event} to ${d.subscriptionId} gave up (${d.error})`),
)
hooks.on('error', (error) => console.error('resthooks:', error.message))
const worker = hooks.worker({ concurrency: 10 })
await worker.start()

const hook = (await hooks.listSubscriptions({ owner: 'alice', limit: 100 })).data.find(
  (s) => s.event === 'book.added' && s.target === inbox,
)
console.log(`
resthooks bookstore demo: ${url}  (database: ${path})
  books API        ${url}/books        sign in as a demo user: -H "authorization: Bearer demo-alice" (or demo-bob)
  webhooks API     ${url}/api          the same tokens; ${url}/api/openapi.json describes it
  demo receiver    ${url}/receiver     what arrived, and whether each signature verified
  admin dashboard  ${url}/admin        sign in with the admin key: ${adminKey}

alice's subscriptions send book.added, book.changed and book.removed to the demo receiver.
Try it in another terminal:

# 1. Alice adds a book: the book.added webhook is delivered within milliseconds
curl -s ${url}/books -H "authorization: Bearer demo-alice" -H 'content-type: application/json' \\
  -d '{"title": "Kindred", "author": "Octavia E. Butler"}'

# 2. What the receiver got, with the signature check
curl -s ${url}/receiver/inbox

# 3. Alice's subscriptions, and the delivery log of book.added
curl -s ${url}/api/hooks -H "authorization: Bearer demo-alice"
curl -s ${url}/api/hooks/${hook?.id}/deliveries -H "authorization: Bearer demo-alice"

# 4. Bob subscribes too, then publishes a book: only bob's subscription gets it
curl -s ${url}/api/hooks -H "authorization: Bearer demo-bob" -H 'content-type: application/json' \\
  -d '{"event": "book.changed", "target": "${inbox}", "filter": {"status": {"changedTo": "published"}}}'
curl -s -X PATCH ${url}/books/3 -H "authorization: Bearer demo-bob" -H 'content-type: application/json' \\
  -d '{"status": "draft"}'
curl -s -X PATCH ${url}/books/3 -H "authorization: Bearer demo-bob" -H 'content-type: application/json' \\
  -d '{"status": "published"}'

Open ${url}/receiver to watch webhooks arrive, and ${url}/admin to see every delivery and
its attempts, retry one, or change a subscription. Ctrl-C stops.
`)

let stopping = false
async function stop(): Promise<void> {
  if (stopping) return
  stopping = true
  console.log('stopping…')
  server.close()
  server.closeIdleConnections()
  await worker.stop()
  await hooks.close()
  await db.destroy()
  server.closeAllConnections()
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())

function home(): Response {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>resthooks bookstore demo</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body { font: 16px/1.5 system-ui, sans-serif; margin: 2rem; max-width: 46rem; }</style></head>
<body><h1>resthooks bookstore demo</h1>
<ul>
<li><a href="/receiver">Demo receiver</a>: the webhooks it received, and whether each signature verified</li>
<li><a href="/admin">Admin dashboard</a>: deliveries, attempts, failing endpoints (sign in with the admin key the console printed)</li>
<li><a href="/api/openapi.json">The webhooks API's OpenAPI document</a></li>
</ul>
<p>The books API is at <code>/books</code>; the console printed <code>curl</code> lines to try it.</p>
</body></html>
`
  return new Response(html, { headers: { 'content-type': 'text/html; charset=utf-8' } })
}
