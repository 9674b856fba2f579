import { queryObjects } from 'node:v8'
import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { createHooks, type OperationalEvents } from '../src/index.ts'
import type { ClaimedDelivery, DeliveryOutcome } from '../src/store/store.ts'
import { verifyWebhook } from '../src/verify/index.ts'
import { bookstoreHooks } from './support/bookstore.ts'
import { pairOf, type Receiver, startReceiver } from './support/receiver.ts'
import { itOn, temporaryStore } from './support/store-kind.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>> | undefined
let receiver: Receiver | undefined

afterEach(async () => {
  await env?.close()
  await receiver?.close()
  env = undefined
  receiver = undefined
})

async function setup(options: Parameters<typeof bookstoreHooks>[0] = {}) {
  env = await bookstoreHooks(options)
  receiver = await startReceiver()
  return { hooks: env.hooks, receiver }
}

const book = { id: 7, title: 'The Two Towers', pages: 327, ownerId: 'u1' }

function collect<K extends keyof OperationalEvents>(
  hooks: { on: (name: K, fn: (p: OperationalEvents[K]) => void) => unknown },
  name: K,
) {
  const seen: OperationalEvents[K][] = []
  hooks.on(name, (payload) => seen.push(payload))
  return seen
}

/** The outcome a worker records for a claimed delivery whose request got a 200. */
function succeededOutcome(
  claimed: ClaimedDelivery,
  attemptId: string,
  startedAt: number,
  durationMs: number,
): DeliveryOutcome {
  return {
    result: 'succeeded',
    deliveryId: claimed.delivery.id,
    subscriptionId: claimed.delivery.subscription_id,
    leaseToken: claimed.delivery.lease_token ?? '',
    attempt: {
      id: attemptId,
      delivery_id: claimed.delivery.id,
      number: 1,
      started_at: startedAt,
      duration_ms: durationMs,
      request_headers: '{}',
      request_method: 'POST',
      request_url: 'http://127.0.0.1:9/in',
      request_body: '{}',
      response_status: 200,
      response_headers: '{}',
      response_body: '',
      error: null,
    },
  }
}

describe('the wire format', () => {
  it('signs each request so that the standardwebhooks package and verifyWebhook accept it', async () => {
    const { hooks, receiver } = await setup()
    const { secret, id } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/in`,
    })
    const { id: eventId } = (await hooks.modelEvent('Book', 'created', book)) ?? { id: '' }
    await hooks.deliverPending()
    const [request] = receiver.requests
    if (!request) throw new Error('nothing arrived')
    expect(request.method).toBe('POST')
    expect(request.headers).toMatchObject({
      'content-type': 'application/json',
      'webhook-id': eventId,
      'hook-event': 'book.added',
      'hook-subscription': id,
      'hook-attempt': '1',
    })
    expect(request.headers['user-agent']).toMatch(/^resthooks\/\d+\.\d+\.\d+/)
    expect(Number(request.headers['webhook-timestamp'])).toBeCloseTo(Date.now() / 1000, -1)
    const headers = request.headers as Record<string, string>
    expect(new Webhook(secret).verify(request.body, headers)).toMatchObject({ type: 'book.added' })
    const verified = await verifyWebhook(request, secret)
    expect(verified.payload).toMatchObject({ data: { title: 'The Two Towers' } })
  })

  it('sends the subscription’s method, custom headers and thorn’s Hook-HMAC when asked', async () => {
    const { hooks, receiver } = await setup()
    const { secret } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      method: 'PUT',
      headers: { 'x-api-key': 'k1' },
      hmacDigest: 'sha256',
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const [request] = receiver.requests
    expect(request?.method).toBe('PUT')
    expect(request?.headers['x-api-key']).toBe('k1')
    const { createHmac } = await import('node:crypto')
    const expected = createHmac('sha256', secret)
      .update(request?.body ?? '')
      .digest('base64')
    expect(request?.headers['hook-hmac']).toBe(expected)
  })

  it('a thin subscription receives only the id of the data', async () => {
    const { hooks, receiver } = await setup({
      refs: { Book: (b: { id: number }) => `https://api.example.com/books/${b.id}` },
    })
    await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: receiver.url,
      payload: 'thin',
    })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const body = JSON.parse(receiver.requests[0]?.body ?? '{}')
    expect(body.data).toEqual({ id: 7 })
    expect(body.ref).toBe('https://api.example.com/books/7')
  })

  it('a serializer from the serializers option shapes data, before toHookPayload', async () => {
    const { hooks, receiver } = await setup({
      serializers: { Book: (b: typeof book) => ({ id: b.id, name: b.title.toUpperCase() }) },
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await hooks.modelEvent('Book', 'created', { ...book, toHookPayload: () => ({ ignored: 1 }) })
    await hooks.deliverPending()
    const body = JSON.parse(receiver.requests[0]?.body ?? '{}')
    expect(body).toMatchObject({ type: 'book.added', data: { id: 7, name: 'THE TWO TOWERS' } })
  })

  it('an instance’s toHookPayload(hook) is the whole body, per subscription', async () => {
    const { hooks, receiver } = await setup()
    const all = await hooks.subscribe({ owner: 'u1', event: '*', target: `${receiver.url}/all` })
    const one = await hooks.subscribe({ owner: 'u1', event: 'book.read', target: receiver.url })
    class Reading {
      ownerId = 'u1'
      toHookPayload(hook: { id: string; event: string }) {
        return { custom: true, hook: hook.id, pattern: hook.event }
      }
    }
    await hooks.modelEvent('Book', 'read', new Reading())
    await hooks.deliverPending()
    const bodies = receiver.requests.map((r) => JSON.parse(r.body))
    expect(bodies).toHaveLength(2)
    expect(bodies).toContainEqual({ custom: true, hook: all.id, pattern: '*' })
    expect(bodies).toContainEqual({ custom: true, hook: one.id, pattern: 'book.read' })
  })
})

describe('retries and failures', () => {
  it('a 500 then a 200 is retried and succeeds, with both attempts on the delivery', async () => {
    const { hooks, receiver } = await setup()
    let calls = 0
    receiver.respondWith((_req, res) => {
      calls++
      res.writeHead(calls === 1 ? 500 : 200).end(calls === 1 ? 'boom' : 'ok')
    })
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const failed = collect(hooks, 'delivery.failed')
    const succeeded = collect(hooks, 'delivery.succeeded')
    await hooks.modelEvent('Book', 'created', book)
    const worker = hooks.worker({ pollIntervalMs: 20 })
    await worker.start()
    await receiver.waitFor(2)
    await worker.stop()
    expect(receiver.requests.map((r) => r.headers['hook-attempt'])).toEqual(['1', '2'])
    expect(new Set(receiver.requests.map((r) => r.headers['webhook-id'])).size).toBe(1)
    expect(failed).toMatchObject([{ status: 500, error: 'HTTP 500', attempt: 1 }])
    expect(succeeded).toMatchObject([{ status: 200, attempt: 2, subscriptionId: sub.id }])
    const page = await hooks.listDeliveries({ subscriptionId: sub.id })
    const delivery = await hooks.getDelivery(page?.data[0]?.id ?? '')
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: [{}, {}] })
    expect(delivery?.attempts.map((a) => [a.number, a.responseStatus, a.responseBody])).toEqual([
      [1, 500, 'boom'],
      [2, 200, 'ok'],
    ])
    expect(delivery?.attempts[0]?.requestHeaders['webhook-signature']).toMatch(/^v1,/)
  })

  it('a 410 Gone removes the subscription: no further deliveries go to it', async () => {
    const { hooks, receiver } = await setup()
    receiver.respondWith((_req, res) => res.writeHead(410).end())
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const removed = collect(hooks, 'subscription.removed')
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(await hooks.getSubscription(sub.id)).toBeUndefined()
    expect(removed).toMatchObject([{ subscriptionId: sub.id, owner: 'u1' }])
    expect(await hooks.modelEvent('Book', 'created', book)).toMatchObject({ deliveries: 0 })
    await hooks.deliverPending()
    expect(receiver.requests).toHaveLength(1)
  })

  it('a receiver that hangs times out, and the attempt says so', async () => {
    const { hooks, receiver } = await setup({ timeoutMs: 300, retry: { schedule: [] } })
    receiver.respondWith(() => {})
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const exhausted = collect(hooks, 'delivery.exhausted')
    const started = Date.now()
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(Date.now() - started).toBeLessThan(5000)
    expect(exhausted).toMatchObject([{ error: 'timed out after 300 ms', status: null }])
    const page = await hooks.listDeliveries({ subscriptionId: sub.id, status: 'failed' })
    expect(page?.data).toHaveLength(1)
  })

  it('a 302 is a failure and its Location is not followed', async () => {
    const { hooks, receiver } = await setup({ retry: { schedule: [] } })
    receiver.respondWith((req, res) => {
      if (req.path === '/elsewhere') res.writeHead(200).end()
      else res.writeHead(302, { location: '/elsewhere' }).end()
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/in` })
    const exhausted = collect(hooks, 'delivery.exhausted')
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(receiver.requests.map((r) => r.path)).toEqual(['/in'])
    expect(exhausted).toMatchObject([{ status: 302, error: 'HTTP 302' }])
  })

  it('Retry-After on a 429 or 503 sets when the next attempt is made', async () => {
    const { hooks, receiver } = await setup({ retry: { schedule: [60_000, 60_000], jitter: 0 } })
    let calls = 0
    receiver.respondWith((_req, res) => {
      calls++
      if (calls === 1) res.writeHead(503, { 'retry-after': '1' }).end()
      else res.writeHead(200).end()
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const failed = collect(hooks, 'delivery.failed')
    await hooks.modelEvent('Book', 'created', book)
    const worker = hooks.worker({ pollIntervalMs: 50 })
    await worker.start()
    await receiver.waitFor(2, 5000)
    await worker.stop()
    const [first, second] = receiver.requests
    const waited = (second?.receivedAt ?? 0) - (first?.receivedAt ?? 0)
    // Honoured: not the scheduled 60 s, and not before the second asked for.
    expect(waited).toBeGreaterThanOrEqual(950)
    expect(waited).toBeLessThan(5000)
    const next = Date.parse(failed[0]?.nextAttemptAt ?? '')
    expect(next - (first?.receivedAt ?? 0)).toBeGreaterThanOrEqual(950)
  })

  it('a subscription failing for the disable period without a success is disabled when a delivery runs out', async () => {
    let clock = Date.now()
    const { hooks, receiver } = await setup({
      now: () => clock,
      retry: { schedule: [] },
      disableAfterMs: 5 * 24 * 3600_000,
    })
    receiver.respondWith((_req, res) => res.writeHead(500).end())
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const disabled = collect(hooks, 'subscription.disabled')
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect((await hooks.getSubscription(sub.id))?.status).toBe('active')
    clock += 5 * 24 * 3600_000 + 1000
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const after = await hooks.getSubscription(sub.id)
    expect(after).toMatchObject({ active: false, status: 'disabled' })
    expect(after?.disabledReason).toMatch(/HTTP 500/)
    expect(disabled).toMatchObject([{ subscriptionId: sub.id }])
    // Disabled: new events are not queued for it.
    expect(await hooks.modelEvent('Book', 'created', book)).toMatchObject({ deliveries: 0 })

    // Re-enabling and replaying the failures are one call each.
    receiver.respondWith((_req, res) => res.writeHead(200).end())
    await hooks.updateSubscription(sub.id, { active: true })
    expect(await hooks.replay(sub.id, { since: new Date(0) })).toBe(2)
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 2 })
  })

  it('a success resets the failure clock, so an endpoint that recovers is never disabled', async () => {
    let clock = Date.now()
    const { hooks, receiver } = await setup({ now: () => clock, retry: { schedule: [] } })
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    receiver.respondWith((_req, res) => res.writeHead(500).end())
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    receiver.respondWith((_req, res) => res.writeHead(200).end())
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    clock += 6 * 24 * 3600_000
    receiver.respondWith((_req, res) => res.writeHead(500).end())
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect((await hooks.getSubscription(sub.id))?.status).toBe('active')
  })

  it('retrying a delivery sends it again now', async () => {
    const { hooks, receiver } = await setup({ retry: { schedule: [] } })
    receiver.respondWith((_req, res) => res.writeHead(500).end())
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const [delivery] = (await hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
    receiver.respondWith((_req, res) => res.writeHead(200).end())
    expect(await hooks.retryDelivery(delivery?.id ?? '', { owner: 'u2' })).toBe(false)
    expect(await hooks.retryDelivery(delivery?.id ?? '', { owner: 'u1' })).toBe(true)
    await hooks.deliverPending()
    expect(receiver.requests.map((r) => r.headers['hook-attempt'])).toEqual(['1', '2'])
    expect((await hooks.getDelivery(delivery?.id ?? ''))?.status).toBe('succeeded')
  })

  it('retrying a delivery that is being sent right now leaves it to that attempt', async () => {
    const { hooks, receiver } = await setup()
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    receiver.respondWith((_req, res) => {
      void held.then(() => res.writeHead(200).end())
    })
    const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    await hooks.modelEvent('Book', 'created', book)
    const pass = hooks.deliverPending()
    await receiver.waitFor(1)
    const [delivery] = (await hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
    expect(await hooks.retryDelivery(delivery?.id ?? '')).toBe(true)
    release()
    expect(await pass).toMatchObject({ succeeded: 1 })
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    expect(receiver.requests).toHaveLength(1)
    expect(await hooks.getDelivery(delivery?.id ?? '')).toMatchObject({
      status: 'succeeded',
      attempts: [{ number: 1, responseStatus: 200 }],
    })
  })
})

describe('the worker', () => {
  it('when recording fails for a moment (the database restarting), it records again without resending', async () => {
    const database = await temporaryStore()
    let failures = 2
    const store = {
      ...database.store,
      recordOutcomes: (...args: Parameters<typeof database.store.recordOutcomes>) =>
        failures-- > 0
          ? Promise.reject(new Error('connection terminated'))
          : database.store.recordOutcomes(...args),
    }
    const hooks = createHooks({
      store,
      events: { 'book.added': 'Book.created' },
      allowTargets: ['127.0.0.0/8'],
    })
    receiver = await startReceiver()
    try {
      await hooks.migrate()
      const sub = await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
      const errors = collect(hooks, 'error')
      await hooks.modelEvent('Book', 'created', book)
      await hooks.deliverPending()
      expect(errors.map((error) => error.message)).toEqual([
        'connection terminated',
        'connection terminated',
      ])
      expect(receiver.requests).toHaveLength(1)
      const [delivery] = (await hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
      expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1 })
    } finally {
      await hooks.close()
      await database.remove()
    }
  })

  /** 120 deliveries to three receivers' paths, and the store's claims counted. */
  async function countedClaims() {
    const { hooks, receiver } = await setup()
    const { store } = hooks
    const calls = { claims: 0, claimsWithRecording: 0 }
    const claimDeliveries = store.claimDeliveries.bind(store)
    const recordOutcomes = store.recordOutcomes.bind(store)
    store.claimDeliveries = (...args) => {
      calls.claims++
      return claimDeliveries(...args)
    }
    store.recordOutcomes = async (...args) => {
      const recorded = await recordOutcomes(...args)
      if (recorded.claimed) calls.claimsWithRecording++
      return recorded
    }
    for (const path of ['a', 'b', 'c']) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${path}` })
    }
    for (let i = 0; i < 40; i++) await hooks.modelEvent('Book', 'created', { ...book, id: i })
    const everyOneOnce = () => {
      const sent = receiver.requests.map(pairOf)
      expect(new Set(sent).size).toBe(120)
      expect(sent).toHaveLength(120)
    }
    return { hooks, calls, everyOneOnce }
  }

  it('with few requests in flight, it claims with its recordings: one commit for both', async () => {
    const { hooks, calls, everyOneOnce } = await countedClaims()
    expect(await hooks.deliverPending({ concurrency: 10 })).toMatchObject({ succeeded: 120 })
    everyOneOnce()
    // The first claim comes before any recording; after it, each claim rides on one.
    expect(calls.claims).toBeLessThanOrEqual(2)
    expect(calls.claimsWithRecording).toBeGreaterThanOrEqual(10)
  })

  itOn('postgres')(
    'on PostgreSQL a large claim runs beside the recording, not behind it',
    async () => {
      const { hooks, calls, everyOneOnce } = await countedClaims()
      // 60 in flight: claims of 30 and more, over the 16 that go with a recording.
      expect(
        await hooks.deliverPending({ concurrency: 60, perTargetConcurrency: 60 }),
      ).toMatchObject({ succeeded: 120 })
      everyOneOnce()
      expect(calls.claimsWithRecording).toBe(0)
      expect(calls.claims).toBeGreaterThanOrEqual(2)
    },
  )

  it('a delivery whose lease ended while its request ran is recorded as sent, not claimed again with its recording', async () => {
    const { hooks } = await setup()
    const { store } = hooks
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'http://127.0.0.1:9/in' })
    await hooks.modelEvent('Book', 'created', book)
    const now = Date.now()
    const [first] = await store.claimDeliveries(1, 10, now)
    if (!first) throw new Error('nothing claimed')
    // Its lease of 10 ms is over when the request's answer is recorded, a second later.
    const recorded = await store.recordOutcomes(
      [succeededOutcome(first, 'att_late', now, 1000)],
      now + 1000,
      { limit: 10, leaseMs: 60_000 },
    )
    expect(recorded.claimed ?? []).toEqual([])
    expect(await hooks.getDelivery(first.delivery.id)).toMatchObject({
      status: 'succeeded',
      attempts: [{ id: 'att_late', responseStatus: 200 }],
    })
  })

  it('records attempts that finish one after another together, not one transaction each', async () => {
    // Ten requests in flight, answered one every 2 ms once all ten are out.
    const answers: (() => void)[] = []
    const { hooks } = await setup({
      transport: () =>
        new Promise((resolve) => {
          answers.push(() => resolve({ status: 200, headers: {}, body: '' }))
          if (answers.length === 10) {
            answers.forEach((answer, i) => {
              setTimeout(answer, 1 + 2 * i)
            })
          }
        }),
    })
    const { store } = hooks
    const recordOutcomes = store.recordOutcomes.bind(store)
    const recorded: number[] = []
    store.recordOutcomes = (outcomes, ...rest) => {
      recorded.push(outcomes.length)
      return recordOutcomes(outcomes, ...rest)
    }
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'http://127.0.0.1:9/in' })
    for (let i = 0; i < 10; i++) await hooks.modelEvent('Book', 'created', { ...book, id: i })
    expect(await hooks.deliverPending({ concurrency: 10 })).toMatchObject({ succeeded: 10 })
    expect(recorded.reduce((sum, n) => sum + n)).toBe(10)
    // The first answer waits for the next ones (2 ms apart) instead of a transaction
    // of its own. Later ones may go one by one: from the fifth on, a claim is due with each.
    expect(recorded[0]).toBeGreaterThan(1)
  })

  it('a recording that fails claims nothing with it', async () => {
    const { hooks } = await setup()
    const { store } = hooks
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'http://127.0.0.1:9/in' })
    for (let i = 0; i < 3; i++) await hooks.modelEvent('Book', 'created', { ...book, id: i })
    const now = Date.now()
    const [first] = await store.claimDeliveries(1, 60_000, now)
    if (!first) throw new Error('nothing claimed')
    const outcome = succeededOutcome(first, 'att_once', now, 1)
    const claim = { limit: 1, leaseMs: 60_000 }
    const recorded = await store.recordOutcomes([outcome], now, claim)
    expect(recorded.claimed).toHaveLength(1)
    // The same attempt id again: the recording fails, and the claim made with it is undone.
    await expect(
      store.recordOutcomes([outcome], now, { limit: 10, leaseMs: 60_000 }),
    ).rejects.toThrow()
    expect(await store.claimDeliveries(10, 60_000, now)).toHaveLength(1)
  })

  it('delivers events as they are dispatched, and stop() lets requests in flight finish', async () => {
    const { hooks, receiver } = await setup()
    let release: () => void = () => {}
    const held = new Promise<void>((resolve) => {
      release = resolve
    })
    receiver.respondWith((_req, res) => {
      void held.then(() => res.writeHead(200).end())
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const succeeded = collect(hooks, 'delivery.succeeded')
    const worker = hooks.worker()
    await worker.start()
    await hooks.modelEvent('Book', 'created', book)
    await receiver.waitFor(1)
    const stopped = worker.stop()
    await hooks.modelEvent('Book', 'created', book)
    release()
    await stopped
    expect(succeeded).toHaveLength(1)
    expect(receiver.requests).toHaveLength(1)
    const pending = await hooks.deliverPending()
    expect(pending.succeeded).toBe(1)
  })

  it('a finished attempt keeps nothing alive until its time limit (no AbortSignal.timeout per attempt)', async () => {
    // Each AbortSignal.timeout() lived, with its timer, for the whole timeoutMs after its
    // request had ended: at thousands of deliveries a second the worker's old generation grew
    // by 100 MB and more (bench/memory.ts). The attempt's timer is now cleared when it ends.
    const { hooks, receiver } = await setup({ timeoutMs: 10 * 60_000 })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    for (let i = 0; i < 100; i++) await hooks.modelEvent('Book', 'created', { ...book, id: i })
    // The lease must outlast the time limit, as the worker's docs say.
    expect(await hooks.deliverPending({ leaseMs: 20 * 60_000 })).toMatchObject({ succeeded: 100 })
    // queryObjects collects garbage first, then counts what is still alive: the timers of
    // AbortSignal.timeout() stay until they fire, however soon their signal is collected.
    const probe = setTimeout(() => {}, 0)
    clearTimeout(probe)
    const Timeout = probe.constructor as new () => unknown
    expect(queryObjects(Timeout, { format: 'count' })).toBeLessThan(50)
  })

  it('an error inside the loop is reported on `error`, and the loop goes on', async () => {
    const { hooks, receiver } = await setup({
      transport: async () => {
        throw new Error('proxy unreachable')
      },
      retry: { schedule: [] },
    })
    await hooks.subscribe({ owner: 'u1', event: 'book.added', target: receiver.url })
    const exhausted = collect(hooks, 'delivery.exhausted')
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(exhausted).toMatchObject([{ error: 'proxy unreachable' }])
  })
})

describe('what a receiver answers is recorded, whatever it holds', () => {
  it('a response body with NUL bytes is recorded (U+FFFD on PostgreSQL), alone and in a batch', async () => {
    const { hooks, receiver } = await setup()
    receiver.respondWith((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\u0000done')
    })
    for (const path of ['a', 'b', 'c']) {
      await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/${path}` })
    }
    // One delivery alone, then three recorded together.
    await hooks.modelEvent('Book', 'created', book)
    expect(await hooks.deliverPending({ concurrency: 1 })).toMatchObject({ succeeded: 3 })
    await hooks.modelEvent('Book', 'created', { ...book, id: 8 })
    expect(await hooks.deliverPending({ concurrency: 10 })).toMatchObject({ succeeded: 3 })
    expect(await hooks.countDeliveries({ status: 'succeeded' })).toBe(6)
    const [sub] = (await hooks.listSubscriptions({ owner: 'u1' })).data
    const page = await hooks.listDeliveries({ subscriptionId: sub?.id ?? '' })
    for (const delivery of page?.data ?? []) {
      const attempts = (await hooks.getDelivery(delivery.id))?.attempts ?? []
      expect(attempts).toHaveLength(1)
      expect(['ok\u0000done', 'ok\uFFFDdone']).toContain(attempts[0]?.responseBody)
    }
  })
})
