/**
 * Payload shaping and conditional subscriptions, on embedded SQLite: one receiver, four
 * subscriptions that each ask for something else — an XML template, the form default body, a
 * JSON template with a filter, and a change condition — and what each of them receives.
 *
 *   node examples/payloads.ts
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHooks } from '../src/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'

const dir = mkdtempSync(join(tmpdir(), 'resthooks-payloads-'))
const hooks = createHooks({
  store: sqliteStore({ path: join(dir, 'payloads.db') }),
  events: { 'book.added': 'Book.created', 'book.changed': 'Book.updated' },
  allowTargets: ['127.0.0.0/8'], // the receiver below is local
})
await hooks.migrate()

// A receiver that prints what each subscription's target gets.
const receiver = createServer(async (req, res) => {
  let body = ''
  for await (const chunk of req) body += chunk
  console.log(`${req.method} ${req.url}  (${req.headers['content-type']})\n  ${body}\n`)
  res.writeHead(204).end()
})
await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve))
const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`

await hooks.subscribe({
  owner: 'u1',
  event: 'book.added',
  target: `${base}/xml-template`,
  contentType: 'application/xml',
  template: '<book id="{{data.id}}"><title>{{data.title}}</title></book>',
})
await hooks.subscribe({
  owner: 'u1',
  event: 'book.added',
  target: `${base}/form-default`,
  contentType: 'application/x-www-form-urlencoded',
})
await hooks.subscribe({
  owner: 'u1',
  event: 'book.added',
  target: `${base}/long-books-only`,
  method: 'PUT',
  headers: { 'X-Shelf': 'long' },
  template: '{"id": {{data.id}}, "title": "{{data.title}}", "pages": {{data.pages}}}',
  filter: { pages: { gte: 500 } },
})
await hooks.subscribe({
  owner: 'u1',
  event: 'book.changed',
  target: `${base}/when-published`,
  filter: { status: { changedTo: 'published' } },
})

const short = { id: 1, title: 'Tom said "hi" & <left>', pages: 120, status: 'draft', ownerId: 'u1' }
const long = { id: 2, title: 'The Lord of the Rings', pages: 1178, status: 'draft', ownerId: 'u1' }
await hooks.modelEvent('Book', 'created', short) // the XML and form subscriptions
await hooks.modelEvent('Book', 'created', long) // all three book.added subscriptions
await hooks.modelEvent('Book', 'updated', { ...long, pages: 1180 }, { previous: long }) // no change of status: none
await hooks.modelEvent('Book', 'updated', { ...long, status: 'published' }, { previous: long })

const totals = await hooks.deliverPending()
console.log(`delivered ${totals.succeeded} webhooks (5 book.added, 1 book.changed)`)
await hooks.close()
receiver.close()
rmSync(dir, { recursive: true, force: true })
