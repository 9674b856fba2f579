/**
 * resthooks with Prisma 7, on embedded SQLite in a temporary directory: the client extension
 * fires book.added, book.changed and book.removed from plain Prisma calls, each written in the
 * same transaction as the change; a local receiver checks every signature.
 *
 *   node examples/prisma.ts
 *
 * The Prisma client is generated from examples/prisma/schema.prisma on first run (in an
 * application: `npx prisma generate`), and the table is created with SQL (`prisma migrate`).
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
import { createHooks } from '../src/index.ts'
import { prismaHooks } from '../src/integrations/prisma.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'
// biome-ignore lint/suspicious/noTsIgnore: generated on first run; untyped until then
// @ts-ignore
import type * as Generated from './prisma/dist/client.ts'
import { generatePrismaClient } from './prisma/generate.ts'

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))
const { PrismaClient } = (await import(
  await generatePrismaClient(here('./prisma/schema.prisma'), here('./prisma/dist'))
)) as typeof Generated

const dir = mkdtempSync(join(tmpdir(), 'resthooks-prisma-'))
const path = join(dir, 'app.db')

// 1. resthooks' tables and the application's live in one SQLite file: the outbox commits with
//    the change. (A Chapter's owner could be found through its book: see docs/integrations/prisma.md.)
const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
  },
  allowTargets: ['127.0.0.0/8'], // the receiver below is local; the SSRF guard refuses it otherwise
})
await hooks.migrate()

// 2. The application's Prisma client, extended: every create, update and delete of a Book now
//    writes its event in the same transaction.
const prisma = new PrismaClient({
  adapter: new PrismaBetterSqlite3({ url: `file:${path}` }),
}).$extends(prismaHooks(hooks))
await prisma.$executeRawUnsafe(
  'CREATE TABLE book (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, pages INTEGER NOT NULL DEFAULT 0, owner_id TEXT NOT NULL)',
)

// 3. A subscriber's receiver, checking every signature.
let secret = ''
const receiver = createServer(async (req, res) => {
  const chunks: Buffer[] = []
  for await (const chunk of req) chunks.push(chunk as Buffer)
  try {
    const { payload } = await verifyWebhook<{ type: string; data: unknown }>(
      { headers: req.headers, body: Buffer.concat(chunks) },
      secret,
    )
    console.log(`  received ${payload.type.padEnd(12)} ${JSON.stringify(payload.data)}`)
    res.writeHead(204).end()
  } catch (error) {
    console.log('  received a request that failed verification:', (error as Error).message)
    res.writeHead(400).end()
  }
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks`

const subscription = await hooks.subscribe({ owner: 'u1', event: 'book.*', target })
secret = subscription.secret
console.log(`subscribed ${subscription.id} to book.* → ${target}`)

// 4. Plain Prisma calls. Each fires its event in the transaction of the write (a rolled-back
//    change would fire nothing).
const book = await prisma.book.create({ data: { title: 'The Two Towers', ownerId: 'u1' } })
await prisma.book.update({
  where: { id: book.id },
  data: { title: 'The Return of the King', pages: 416 },
})
await prisma.book.delete({ where: { id: book.id } })

// 5. Deliver what is due (a worker would: hooks.worker().start()), then shut down, Prisma's
//    connection and resthooks' only once all work has stopped.
const totals = await hooks.deliverPending({ concurrency: 1 })
const log = await hooks.listDeliveries({ subscriptionId: subscription.id })
console.log(`delivered ${totals.succeeded} webhooks`)
console.log(`delivery log: ${log?.data.map((d) => d.status).join(', ')}`)
await prisma.$disconnect()
await hooks.close()
receiver.close()
rmSync(dir, { recursive: true, force: true })
