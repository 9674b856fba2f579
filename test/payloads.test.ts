/**
 * Payload shaping and conditional subscriptions, end to end: templates and content types as
 * the receiver sees them, method and headers, filters and change conditions deciding which
 * subscriptions get a delivery at all.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { bookstoreHooks } from './support/bookstore.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from './support/receiver.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>> | undefined
let receiver: Receiver | undefined

afterEach(async () => {
  await env?.close()
  await receiver?.close()
  env = undefined
  receiver = undefined
})

async function setup() {
  env = await bookstoreHooks()
  receiver = await startReceiver()
  return { hooks: env.hooks, receiver }
}

const tricky = 'He said "hi" <b>&amp;</b>\nthen\tleft \\ ünïcode'
const book = { id: 7, title: tricky, pages: 327, ownerId: 'u1' }

function verify(request: ReceivedRequest, secret: string) {
  const headers = Object.fromEntries(
    Object.entries(request.headers).filter((e): e is [string, string] => typeof e[1] === 'string'),
  )
  // Throws unless the body (whatever its content type) is exactly what was signed.
  new Webhook(secret).verify(request.body, headers)
}

describe('templates and content types', () => {
  it('a JSON template renders valid JSON whatever the title holds (infi broke here)', async () => {
    const { hooks, receiver } = await setup()
    const { secret } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      template: '{"id": {{data.id}}, "event": "{{event}}", "title": "{{data.title}}"}',
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const [request] = receiver.requests
    if (!request) throw new Error('nothing arrived')
    expect(request.headers['content-type']).toBe('application/json')
    expect(JSON.parse(request.body)).toEqual({ id: 7, event: 'book.added', title: tricky })
    verify(request, secret)
  })

  it('an XML template and the XML default body are valid XML that carries the data', async () => {
    const { hooks, receiver } = await setup()
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/templated`,
      contentType: 'application/xml',
      template: '<book id="{{data.id}}"><title>{{data.title}}</title></book>',
    })
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/default`,
      contentType: 'application/xml',
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const parser = new XMLParser({ ignoreAttributes: false, parseTagValue: false })
    const byPath = Object.fromEntries(receiver.requests.map((r) => [r.path, r]))
    for (const request of receiver.requests) {
      expect(request.headers['content-type']).toBe('application/xml')
      expect(XMLValidator.validate(request.body)).toBe(true)
    }
    expect(parser.parse(byPath['/templated']?.body ?? '')).toMatchObject({
      book: { '@_id': '7', title: tricky },
    })
    expect(parser.parse(byPath['/default']?.body ?? '')).toMatchObject({
      webhook: { type: 'book.added', data: { title: tricky } },
    })
  })

  it('the form default body is payload=<the JSON envelope>, form-encoded', async () => {
    const { hooks, receiver } = await setup()
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      contentType: 'application/x-www-form-urlencoded',
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const [request] = receiver.requests
    expect(request?.headers['content-type']).toBe('application/x-www-form-urlencoded')
    const payload = new URLSearchParams(request?.body).get('payload') ?? ''
    expect(JSON.parse(payload)).toMatchObject({ type: 'book.added', data: { title: tricky } })
  })

  it('a PUT with custom headers arrives as configured', async () => {
    const { hooks, receiver } = await setup()
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      method: 'PUT',
      headers: { 'X-Tenant': 'acme', Authorization: 'Bearer receiver-token' },
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(receiver.requests[0]).toMatchObject({
      method: 'PUT',
      headers: { 'x-tenant': 'acme', authorization: 'Bearer receiver-token' },
    })
  })

  it('a template that cannot render a valid body for this event fails the delivery clearly, sending nothing', async () => {
    const { hooks, receiver } = await setup()
    const failures: string[] = []
    hooks.on('delivery.exhausted', (e) => failures.push(e.error))
    // Accepted (the save-time sample is a number), but this title is a string out of quotes.
    const sub = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      template: '{"title": {{data.title}}}',
    })
    await hooks.modelEvent('Book', 'created', book)
    expect(await hooks.deliverPending()).toMatchObject({ exhausted: 1 })
    expect(receiver.requests).toHaveLength(0)
    expect(failures[0]).toMatch(/invalid JSON/)
    const [delivery] = (await hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
    expect(delivery).toMatchObject({ status: 'failed', lastError: failures[0] })
  })
})

describe('filters', () => {
  it('startsWith "J" delivers Joe and not Simon, and a non-matching event writes no delivery', async () => {
    const { hooks, receiver } = await setup()
    const sub = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      filter: { title: { startsWith: 'J' }, pages: { gt: 100 } },
    })
    const joe = await hooks.modelEvent('Book', 'created', { ...book, title: 'Joe', pages: 200 })
    const simon = await hooks.modelEvent('Book', 'created', { ...book, title: 'Simon' })
    const thin = await hooks.modelEvent('Book', 'created', { ...book, title: 'Jo', pages: 50 })
    expect([joe?.deliveries, simon?.deliveries, thin?.deliveries]).toEqual([1, 0, 0])
    await hooks.deliverPending()
    expect(receiver.requests.map((r) => JSON.parse(r.body).data.title)).toEqual(['Joe'])
    expect((await hooks.listDeliveries({ subscriptionId: sub.id }))?.data).toHaveLength(1)
  })

  it('change conditions see the previous values given to modelEvent', async () => {
    const { hooks, receiver } = await setup()
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.changed',
      target: receiver.url,
      filter: { status: { changedTo: 'published' } },
    })
    const draft = { ...book, status: 'draft' }
    const published = { ...book, status: 'published' }
    const results = [
      await hooks.modelEvent('Book', 'updated', published, { previous: draft }),
      await hooks.modelEvent('Book', 'updated', published, { previous: published }),
      // Without previous values, a change condition does not match.
      await hooks.modelEvent('Book', 'updated', published),
    ]
    expect(results.map((r) => r?.deliveries)).toEqual([1, 0, 0])
    await hooks.deliverPending()
    expect(receiver.requests).toHaveLength(1)
  })
})
