import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { bookstoreHooks } from './support/bookstore.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let receiver: Receiver
let clock = Date.now()

beforeEach(async () => {
  clock = Date.now()
  env = await bookstoreHooks({ now: () => clock, retry: { schedule: [] } })
  receiver = await startReceiver()
})

afterEach(async () => {
  await env.close()
  await receiver.close()
})

describe('the event feed', () => {
  it('lists the owner’s events and broadcast ones, oldest first, after a cursor', async () => {
    const { hooks } = env
    const a = await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    await hooks.modelEvent('Book', 'created', { id: 2, ownerId: 'u2' })
    const b = await hooks.modelEvent('Book', 'updated', { id: 1, ownerId: 'u1' })
    const c = await hooks.rawEvent('user.logged_in', { at: 1 }, { owner: 'u1' })
    const first = await hooks.listEvents({ owner: 'u1', limit: 2 })
    expect(first.data.map((e) => e.id)).toEqual([a?.id, b?.id])
    expect(first.data[0]).toMatchObject({ type: 'book.added', data: { id: 1 }, ref: null })
    expect(first.next).toBe(b?.id)
    const rest = await hooks.listEvents({ owner: 'u1', after: first.next })
    expect(rest).toEqual({ data: [expect.objectContaining({ id: c?.id })], next: null })
    expect((await hooks.listEvents({ owner: 'u2' })).data.map((e) => e.type)).toEqual([
      'book.added',
      'book.changed',
    ])
  })
})

describe('test events', () => {
  it('go to the one subscription, whatever its pattern, signed like any other', async () => {
    const { hooks } = env
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await hooks.subscribe({ owner: 'u1', event: '*', target: `${receiver.url}/other` })
    expect(await hooks.sendTest(sub.id, { owner: 'u2' })).toBeUndefined()
    expect(await hooks.sendTest(sub.id, { owner: 'u1' })).toMatchObject({ deliveries: 1 })
    await hooks.deliverPending()
    expect(receiver.requests).toHaveLength(1)
    const [request] = receiver.requests
    expect(request?.path).toBe('/')
    expect(request?.headers['hook-event']).toBe('hook.test')
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      type: 'hook.test',
      data: { subscription: sub.id },
    })
  })
})

describe('retention', () => {
  it('prune deletes finished deliveries and their events older than the cut, never pending ones', async () => {
    const { hooks } = env
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    await hooks.deliverPending()
    receiver.respondWith((_req, res) => res.writeHead(500).end())
    await hooks.modelEvent('Book', 'created', { id: 2, ownerId: 'u1' })
    await hooks.deliverPending()
    const old = await hooks.modelEvent('Book', 'created', { id: 3, ownerId: 'u1' }) // stays pending
    clock += 10 * 24 * 3600_000
    const recent = await hooks.modelEvent('Book', 'created', { id: 4, ownerId: 'u1' })
    expect(await hooks.countDeliveries({ status: 'pending' })).toBe(2)
    expect(await hooks.countDeliveries({ status: 'failed' })).toBe(1)

    const progress: unknown[] = []
    const totals = await hooks.prune({
      before: new Date(clock - 7 * 24 * 3600_000),
      batchSize: 1,
      onProgress: (t) => progress.push(t),
    })
    expect(totals).toEqual({ deliveries: 2, events: 2 })
    expect(progress.length).toBeGreaterThanOrEqual(3)
    const left = await hooks.listDeliveries({ subscriptionId: sub.id })
    expect(left?.data.map((d) => [d.eventId, d.status])).toEqual([
      [recent?.id, 'pending'],
      [old?.id, 'pending'],
    ])
    expect((await hooks.listEvents({ owner: 'u1' })).data.map((e) => e.id)).toEqual([
      old?.id,
      recent?.id,
    ])
  })
})
