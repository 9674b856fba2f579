/**
 * `subscriptionCacheMs`: dispatch answers "which subscriptions match" from memory for a bounded
 * time. Changes made through the same instance are seen at once; another process's within the
 * window (PRODUCT.md allows up to a second), and never later.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ConfigurationError, createHooks, fromKysely, type SqlExecutor } from '../src/index.ts'
import { bookEvents, bookstoreHooks } from './support/bookstore.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

const WINDOW_MS = 400

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let receiver: Receiver
// The instance's clock (the `now` option), moved by hand: the window does not depend on how
// long the other statements take on a busy machine.
let clock = 0

beforeEach(async () => {
  clock = Date.now()
  env = await bookstoreHooks({ subscriptionCacheMs: WINDOW_MS, now: () => clock })
  receiver = await startReceiver()
})

afterEach(async () => {
  await env.close()
  await receiver.close()
})

const book = (id: number, ownerId = 'u1') => ({ id, title: `Book ${id}`, ownerId })

/** Another process's view of the same database: its own store, no cache. */
function otherProcess() {
  return createHooks({
    store: env.reopen(),
    events: { ...bookEvents },
    allowTargets: ['127.0.0.0/8'],
  })
}

describe('subscriptionCacheMs', () => {
  it('sees this instance’s subscribe, update and unsubscribe at once', async () => {
    const { hooks } = env
    // Cache the empty answer for u1, then subscribe through the same instance.
    expect(await hooks.modelEvent('Book', 'created', book(1))).toMatchObject({ deliveries: 0 })
    const hook = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    expect(await hooks.modelEvent('Book', 'created', book(2))).toMatchObject({ deliveries: 1 })

    await hooks.updateSubscription(hook.id, { active: false })
    expect(await hooks.modelEvent('Book', 'created', book(3))).toMatchObject({ deliveries: 0 })
    await hooks.updateSubscription(hook.id, { active: true })
    expect(await hooks.modelEvent('Book', 'created', book(4))).toMatchObject({ deliveries: 1 })

    await hooks.unsubscribe(hook.id)
    expect(await hooks.modelEvent('Book', 'created', book(5))).toMatchObject({ deliveries: 0 })
  })

  it('sees another process’s new subscription within the window, not later', async () => {
    const { hooks } = env
    const other = otherProcess()
    try {
      expect(await hooks.modelEvent('Book', 'created', book(1))).toMatchObject({ deliveries: 0 })
      await other.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      // Served from memory: the trade the option makes.
      expect(await hooks.modelEvent('Book', 'created', book(2))).toMatchObject({ deliveries: 0 })
      clock += WINDOW_MS - 1
      expect(await hooks.modelEvent('Book', 'created', book(3))).toMatchObject({ deliveries: 0 })
      clock += 1
      expect(await hooks.modelEvent('Book', 'created', book(4))).toMatchObject({ deliveries: 1 })
      // The other owners' answers are their own: u2 was never cached and is read now.
      await other.subscribe({ owner: 'u2', event: 'book.added', target: receiver.url })
      expect(await hooks.modelEvent('Book', 'created', book(5, 'u2'))).toMatchObject({
        deliveries: 1,
      })
    } finally {
      await other.close()
    }
  })

  it('a clock set back ends every cached answer', async () => {
    const { hooks } = env
    const other = otherProcess()
    try {
      expect(await hooks.modelEvent('Book', 'created', book(1))).toMatchObject({ deliveries: 0 })
      await other.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      clock -= 60_000
      expect(await hooks.modelEvent('Book', 'created', book(2))).toMatchObject({ deliveries: 1 })
    } finally {
      await other.close()
    }
  })

  it('a repeated event reads the subscriptions table once per window', async () => {
    const { hooks } = env
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const statements: string[] = []
    const counting = (tx: SqlExecutor): SqlExecutor => ({
      executeSql(text, values) {
        statements.push(text)
        return tx.executeSql(text, values)
      },
    })
    await hooks.store.db.transaction().execute(async (trx) => {
      const tx = counting(fromKysely(trx))
      for (let id = 1; id <= 3; id++) {
        expect(await hooks.modelEvent('Book', 'created', book(id), { tx })).toMatchObject({
          deliveries: 1,
        })
      }
    })
    const lookups = statements.filter((text) => /FROM resthooks_subscriptions/i.test(text))
    expect(lookups).toHaveLength(1)
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 3 })
  })

  it('a subscription the worker removes (410 Gone) gets no more deliveries at once', async () => {
    const { hooks } = env
    receiver.respondWith((_request, response) => response.writeHead(410).end())
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    expect(await hooks.modelEvent('Book', 'created', book(1))).toMatchObject({ deliveries: 1 })
    await hooks.deliverPending()
    expect(await hooks.listSubscriptions({ owner: 'u1' })).toMatchObject({ data: [] })
    expect(await hooks.modelEvent('Book', 'created', book(2))).toMatchObject({ deliveries: 0 })
  })

  it('more than 1000 ms, a negative or a non-number is a configuration error', async () => {
    const store = env.reopen()
    try {
      for (const subscriptionCacheMs of [1001, -1, Number.NaN, '500']) {
        expect(() => createHooks({ store, subscriptionCacheMs } as never)).toThrowError(
          new ConfigurationError(
            'options.subscriptionCacheMs must be a number of ms from 0 to 1000',
          ),
        )
      }
    } finally {
      await store.close()
    }
  })
})
