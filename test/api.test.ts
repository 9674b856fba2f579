import { Webhook } from 'standardwebhooks'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRoutes } from '../src/http/routes.ts'
import type { HooksOptions } from '../src/index.ts'
import {
  ADMIN,
  type ApiEnv,
  type ApiResponse,
  apiEnv,
  expectProblem,
  expectSuccess,
  type Json,
  streamedBody,
} from './support/api-client.ts'
import { type ReceivedRequest, type Responder, startReceiver } from './support/receiver.ts'

const opened: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

async function setup(options: Partial<HooksOptions> = {}) {
  const env = await apiEnv(options)
  opened.push(env)
  return env
}

async function receiver() {
  const started = await startReceiver()
  opened.push(started)
  return started
}

/** Subscribes through the API and checks the 201. */
async function subscribe(env: ApiEnv, body: Record<string, unknown>, as = 'u1'): Promise<Json> {
  return expectSuccess(env, 'POST /hooks', await env.call('POST', '/api/hooks', { body, as }))
}

/** Posts an event as the producer and checks the 202. */
async function ingest(env: ApiEnv, body: Record<string, unknown>): Promise<Json> {
  return expectSuccess(
    env,
    'POST /events',
    await env.call('POST', '/api/events', { body, as: ADMIN }),
  )
}

const answer =
  (status: number): Responder =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`)
  }

function headersOf(request: ReceivedRequest): Record<string, string> {
  return Object.fromEntries(Object.entries(request.headers).map(([k, v]) => [k, String(v)]))
}

describe('subscriptions through the API', () => {
  it('POST /hooks answers 201 with the subscription and its secret, and Location reads it back without the secret', async () => {
    const env = await setup()
    const response = await env.call('POST', '/api/hooks', {
      body: {
        event: 'book.added',
        target: 'https://example.com/hooks',
        headers: { 'x-api-key': 'k1' },
        metadata: { zap: 42 },
      },
    })
    const created = expectSuccess(env, 'POST /hooks', response)
    expect(created).toMatchObject({
      event: 'book.added',
      target: 'https://example.com/hooks',
      active: true,
      status: 'active',
      headers: { 'x-api-key': 'k1' },
      metadata: { zap: 42 },
    })
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(created).not.toHaveProperty('owner')
    expect(response.headers.get('location')).toBe(`/api/hooks/${created.id}`)

    const read = await env.call('GET', response.headers.get('location') ?? '')
    const { secret: _secret, ...withoutSecret } = created
    expect(expectSuccess(env, 'GET /hooks/{id}', read)).toEqual(withoutSecret)
    expect(read.text).not.toContain(created.secret)
    expect((await env.hooks.getSubscription(created.id))?.owner).toBe('u1')
  })

  it.each(['target_url', 'url'])('accepts the target as %s', async (field) => {
    const env = await setup()
    const created = await subscribe(env, { event: 'book.added', [field]: 'https://example.com/z' })
    expect(created.target).toBe('https://example.com/z')
    expect(created).not.toHaveProperty(field)
    const stored = await env.hooks.getSubscription(created.id, { owner: 'u1' })
    expect(stored?.target).toBe('https://example.com/z')
  })

  it.each([
    ['target', 'target_url'],
    ['target', 'url'],
    ['target_url', 'url'],
  ])('refuses %s and %s together, and stores nothing', async (a, b) => {
    const env = await setup()
    const before = await env.dump()
    const response = await env.call('POST', '/api/hooks', {
      body: { event: 'book.added', [a]: 'https://example.com/a', [b]: 'https://example.com/b' },
    })
    expectProblem(response, 400, { type: 'validation', field: 'target' })
    expect(await env.dump()).toEqual(before)
  })

  it('refuses a subscription without any target', async () => {
    const env = await setup()
    const response = await env.call('POST', '/api/hooks', { body: { event: 'book.added' } })
    expectProblem(response, 400, { field: 'target' })
    expect((await env.hooks.listSubscriptions({ owner: 'u1' })).data).toEqual([])
  })

  it('PATCH changes the given fields only, and {"active": false} / {"active": true} disable and re-enable', async () => {
    const env = await setup()
    const created = await subscribe(env, {
      event: 'book.added',
      target: 'https://example.com/hooks',
      metadata: { keep: true },
    })
    const patched = expectSuccess(
      env,
      'PATCH /hooks/{id}',
      await env.call('PATCH', `/api/hooks/${created.id}`, {
        body: { event: 'book.*', headers: { 'x-tenant': 't1' }, payload: 'thin' },
      }),
    )
    expect(patched).toMatchObject({
      id: created.id,
      event: 'book.*',
      headers: { 'x-tenant': 't1' },
      payload: 'thin',
      target: 'https://example.com/hooks',
      metadata: { keep: true },
    })
    expect(patched).not.toHaveProperty('secret')
    const read = await env.call('GET', `/api/hooks/${created.id}`)
    expect(read.json).toEqual(patched)

    const off = await env.call('PATCH', `/api/hooks/${created.id}`, { body: { active: false } })
    expect(expectSuccess(env, 'PATCH /hooks/{id}', off)).toMatchObject({
      active: false,
      status: 'disabled',
    })
    expect(off.json.disabledReason).toEqual(expect.any(String))
    const on = await env.call('PATCH', `/api/hooks/${created.id}`, { body: { active: true } })
    expect(expectSuccess(env, 'PATCH /hooks/{id}', on)).toMatchObject({
      active: true,
      status: 'active',
      disabledReason: null,
    })
  })

  it('DELETE answers 204 with no body, and then the subscription answers 404 everywhere', async () => {
    const env = await setup()
    const created = await subscribe(env, { event: 'book.added', target: 'https://example.com/h' })
    const removed = await env.call('DELETE', `/api/hooks/${created.id}`)
    expectSuccess(env, 'DELETE /hooks/{id}', removed)
    expect(removed.text).toBe('')
    expectProblem(await env.call('GET', `/api/hooks/${created.id}`), 404, { type: 'not-found' })
    expectProblem(await env.call('DELETE', `/api/hooks/${created.id}`), 404)
    expect((await env.call('GET', '/api/hooks')).json.data).toEqual([])
  })

  it('rotate-secret answers a new secret, and the next delivery is signed with it', async () => {
    const env = await setup()
    const target = await receiver()
    const created = await subscribe(env, { event: 'user.logged_in', target: target.url })
    const rotated = expectSuccess(
      env,
      'POST /hooks/{id}/rotate-secret',
      await env.call('POST', `/api/hooks/${created.id}/rotate-secret`),
    )
    expect(rotated.id).toBe(created.id)
    expect(rotated.secret).toMatch(/^whsec_/)
    expect(rotated.secret).not.toBe(created.secret)
    expect((await env.call('GET', `/api/hooks/${created.id}`)).text).not.toContain(rotated.secret)

    await ingest(env, { event: 'user.logged_in', data: { at: 1 }, owner: 'u1' })
    await env.hooks.deliverPending()
    const [request] = target.requests
    if (!request) throw new Error('nothing was delivered')
    const headers = headersOf(request)
    expect(() => new Webhook(rotated.secret).verify(request.body, headers)).not.toThrow()
    // The old secret signs beside the new one during the grace period.
    expect(headers['webhook-signature']?.split(' ')).toHaveLength(2)
  })
})

describe('lists', () => {
  it('GET /hooks pages newest first, following next until it is null', async () => {
    const env = await setup()
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      ids.push((await subscribe(env, { event: 'book.added', target: `https://e.com/${i}` })).id)
    }
    await subscribe(env, { event: 'book.added', target: 'https://e.com/other' }, 'u2')
    const seen: string[] = []
    let path = '/api/hooks?limit=2'
    const sizes: number[] = []
    for (;;) {
      const page = expectSuccess(env, 'GET /hooks', await env.call('GET', path))
      sizes.push(page.data.length)
      seen.push(...page.data.map((s: { id: string }) => s.id))
      if (page.next === null) break
      path = `/api/hooks?limit=2&cursor=${encodeURIComponent(page.next)}`
    }
    expect(sizes).toEqual([2, 2, 1])
    expect(seen).toEqual([...ids].reverse())
  })

  it('GET /hooks?event= lists only the subscriptions to exactly that event or pattern', async () => {
    const env = await setup()
    const added = await subscribe(env, { event: 'book.added', target: 'https://e.com/1' })
    const all = await subscribe(env, { event: 'book.*', target: 'https://e.com/2' })
    await subscribe(env, { event: 'user.logged_in', target: 'https://e.com/3' })
    const ids = async (event: string) => {
      const response = await env.call('GET', `/api/hooks?event=${encodeURIComponent(event)}`)
      return expectSuccess(env, 'GET /hooks', response).data.map((s: { id: string }) => s.id)
    }
    expect(await ids('book.added')).toEqual([added.id])
    expect(await ids('book.*')).toEqual([all.id])
    expect(await ids('book.removed')).toEqual([])
  })

  it('GET /event-types lists the registered event names', async () => {
    const env = await setup()
    const body = expectSuccess(env, 'GET /event-types', await env.call('GET', '/api/event-types'))
    expect(body.data.map((t: { name: string }) => t.name)).toEqual([
      'book.added',
      'book.changed',
      'book.read',
      'book.removed',
      'user.logged_in',
    ])
  })
})

describe('the delivery log', () => {
  /** One subscription with a succeeded, a failed (no retries) and a pending delivery. */
  async function withLog() {
    const env = await setup({ retry: { schedule: [] } })
    const target = await receiver()
    const hook = await subscribe(env, { event: 'user.logged_in', target: target.url })
    const succeeded = await ingest(env, { event: 'user.logged_in', data: { n: 1 }, owner: 'u1' })
    await env.hooks.deliverPending()
    target.respondWith(answer(500))
    const failed = await ingest(env, { event: 'user.logged_in', data: { n: 2 }, owner: 'u1' })
    await env.hooks.deliverPending()
    const pending = await ingest(env, { event: 'user.logged_in', data: { n: 3 }, owner: 'u1' })
    const log = expectSuccess(
      env,
      'GET /hooks/{id}/deliveries',
      await env.call('GET', `/api/hooks/${hook.id}/deliveries`),
    )
    const idOf = (eventId: string): string =>
      log.data.find((d: { eventId: string }) => d.eventId === eventId)?.id
    return {
      env,
      target,
      hook,
      log,
      ids: { succeeded: idOf(succeeded.id), failed: idOf(failed.id), pending: idOf(pending.id) },
    }
  }

  it('GET /hooks/{id}/deliveries lists newest first, and ?status= keeps only that status', async () => {
    const { env, hook, log, ids } = await withLog()
    expect(log.data.map((d: { id: string }) => d.id)).toEqual([
      ids.pending,
      ids.failed,
      ids.succeeded,
    ])
    expect(log.data.map((d: { status: string }) => d.status)).toEqual([
      'pending',
      'failed',
      'succeeded',
    ])
    expect(log.next).toBeNull()
    for (const status of ['pending', 'succeeded', 'failed'] as const) {
      const page = expectSuccess(
        env,
        'GET /hooks/{id}/deliveries',
        await env.call('GET', `/api/hooks/${hook.id}/deliveries?status=${status}`),
      )
      expect(page.data.map((d: { id: string }) => d.id)).toEqual([ids[status]])
    }
    const first = await env.call('GET', `/api/hooks/${hook.id}/deliveries?limit=2`)
    expect(first.json.data).toHaveLength(2)
    expect(first.json.next).toBe(ids.failed)
    const second = await env.call(
      'GET',
      `/api/hooks/${hook.id}/deliveries?limit=2&cursor=${first.json.next}`,
    )
    expect(second.json).toEqual({
      data: [expect.objectContaining({ id: ids.succeeded })],
      next: null,
    })
  })

  it('GET /deliveries/{id} shows the delivery with each attempt’s request and response', async () => {
    const { env, hook, ids } = await withLog()
    const failed = expectSuccess(
      env,
      'GET /deliveries/{id}',
      await env.call('GET', `/api/deliveries/${ids.failed}`),
    )
    expect(failed).toMatchObject({
      id: ids.failed,
      subscriptionId: hook.id,
      status: 'failed',
      lastStatus: 500,
    })
    expect(failed.attempts).toHaveLength(1)
    expect(failed.attempts[0]).toMatchObject({
      number: 1,
      responseStatus: 500,
      responseBody: 'answered 500',
    })
    expect(failed.attempts[0].requestHeaders['hook-event']).toBe('user.logged_in')
    const pending = await env.call('GET', `/api/deliveries/${ids.pending}`)
    expect(expectSuccess(env, 'GET /deliveries/{id}', pending).attempts).toEqual([])
  })

  it('POST /deliveries/{id}/retry answers 202 and the delivery is sent again with the same webhook-id', async () => {
    const { env, target, ids } = await withLog()
    target.respondWith(answer(200))
    const before = target.requests.length
    const retried = await env.call('POST', `/api/deliveries/${ids.failed}/retry`)
    expectSuccess(env, 'POST /deliveries/{id}/retry', retried)
    expect(retried.text).toBe('')
    await env.hooks.deliverPending()
    const resent = target.requests.slice(before).filter((r) => r.body.includes('"n":2'))
    expect(resent).toHaveLength(1)
    expect(resent[0]?.headers['hook-attempt']).toBe('2')
    const original = target.requests.find((r) => r.body.includes('"n":2'))
    expect(resent[0]?.headers['webhook-id']).toBe(original?.headers['webhook-id'])
    const delivery = (await env.call('GET', `/api/deliveries/${ids.failed}`)).json
    expect(delivery.status).toBe('succeeded')
    expect(delivery.attempts.map((a: { responseStatus: number }) => a.responseStatus)).toEqual([
      500, 200,
    ])
  })

  it('POST /hooks/{id}/replay re-queues the failed deliveries since the given time, and they are sent', async () => {
    const { env, target, hook, ids } = await withLog()
    const future = new Date(Date.now() + 60_000).toISOString()
    const none = await env.call('POST', `/api/hooks/${hook.id}/replay`, { body: { since: future } })
    expect(expectSuccess(env, 'POST /hooks/{id}/replay', none)).toEqual({ replayed: 0 })

    const since = new Date(Date.now() - 60_000).toISOString()
    const replay = await env.call('POST', `/api/hooks/${hook.id}/replay`, { body: { since } })
    expect(expectSuccess(env, 'POST /hooks/{id}/replay', replay)).toEqual({ replayed: 1 })
    const requeued = (await env.call('GET', `/api/deliveries/${ids.failed}`)).json
    expect(requeued.status).toBe('pending')

    target.respondWith(answer(200))
    await env.hooks.deliverPending()
    const failed = await env.call('GET', `/api/hooks/${hook.id}/deliveries?status=failed`)
    expect(failed.json.data).toEqual([])
    const succeeded = await env.call('GET', `/api/hooks/${hook.id}/deliveries?status=succeeded`)
    expect(succeeded.json.data).toHaveLength(3)
  })

  it('POST /hooks/{id}/test answers 202 and delivers hook.test to that subscription only', async () => {
    const env = await setup()
    const target = await receiver()
    const hook = await subscribe(env, { event: 'book.added', target: `${target.url}/tested` })
    await subscribe(env, { event: '*', target: `${target.url}/other` })
    const response = await env.call('POST', `/api/hooks/${hook.id}/test`)
    const result = expectSuccess(env, 'POST /hooks/{id}/test', response)
    expect(result.deliveries).toBe(1)
    await env.hooks.deliverPending()
    expect(target.requests.map((r) => r.path)).toEqual(['/tested'])
    const [request] = target.requests
    expect(request?.headers['hook-event']).toBe('hook.test')
    expect(request?.headers['hook-subscription']).toBe(hook.id)
    expect(request?.headers['webhook-id']).toBe(result.id)
    const headers = request ? headersOf(request) : {}
    expect(() => new Webhook(hook.secret).verify(request?.body ?? '', headers)).not.toThrow()
  })
})

describe('the event feed', () => {
  it('GET /events lists the owner’s and broadcast events oldest first, and ?after= continues after an id', async () => {
    const env = await setup()
    const first = await ingest(env, { event: 'user.logged_in', data: { n: 1 }, owner: 'u1' })
    await ingest(env, { event: 'user.logged_in', data: { n: 2 }, owner: 'u2' })
    const everyone = await ingest(env, { event: 'user.logged_in', data: { n: 3 }, broadcast: true })
    const last = await ingest(env, { event: 'user.logged_in', data: { n: 4 }, owner: 'u1' })

    const page = expectSuccess(env, 'GET /events', await env.call('GET', '/api/events?limit=2'))
    expect(page.data.map((e: { id: string }) => e.id)).toEqual([first.id, everyone.id])
    expect(page.data[0]).toMatchObject({ type: 'user.logged_in', data: { n: 1 }, ref: null })
    expect(page.next).toBe(everyone.id)
    const rest = await env.call('GET', `/api/events?after=${page.next}`)
    expect(expectSuccess(env, 'GET /events', rest)).toEqual({
      data: [expect.objectContaining({ id: last.id, data: { n: 4 } })],
      next: null,
    })
    const caughtUp = await env.call('GET', `/api/events?after=${last.id}`)
    expect(caughtUp.json).toEqual({ data: [], next: null })
  })
})

describe('the producer', () => {
  it('POST /events with the admin key answers 202 {id, deliveries} and the event is delivered', async () => {
    const env = await setup()
    const target = await receiver()
    const hook = await subscribe(env, { event: 'user.logged_in', target: target.url })
    await subscribe(env, { event: 'user.logged_in', target: `${target.url}/u2` }, 'u2')
    const result = await ingest(env, {
      event: 'user.logged_in',
      data: { user: 'ana', at: '2026-01-01T00:00:00Z' },
      owner: 'u1',
    })
    expect(result).toEqual({ id: expect.stringMatching(/^evt_/), deliveries: 1 })
    await env.hooks.deliverPending()
    expect(target.requests).toHaveLength(1)
    const [request] = target.requests
    expect(request?.headers['webhook-id']).toBe(result.id)
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      type: 'user.logged_in',
      hook: { id: hook.id, event: 'user.logged_in', target: target.url },
      data: { user: 'ana', at: '2026-01-01T00:00:00Z' },
    })
  })

  it('POST /events with broadcast: true reaches the matching subscriptions of every owner', async () => {
    const env = await setup()
    await subscribe(env, { event: 'user.logged_in', target: 'https://e.com/1' }, 'u1')
    await subscribe(env, { event: '*', target: 'https://e.com/2' }, 'u2')
    await subscribe(env, { event: 'book.added', target: 'https://e.com/3' }, 'u3')
    const result = await ingest(env, { event: 'user.logged_in', data: {}, broadcast: true })
    expect(result.deliveries).toBe(2)
  })

  it('POST /events answers 202 {id: null, deliveries: 0} when dispatch is switched off', async () => {
    const env = await setup({ enabled: false })
    await subscribe(env, { event: 'book.added', target: 'https://e.com/1' })
    const result = await ingest(env, { event: 'book.added', data: { id: 1 }, owner: 'u1' })
    expect(result).toEqual({ id: null, deliveries: 0 })
    expect(await env.hooks.countDeliveries({ status: 'pending' })).toBe(0)
  })

  it('POST /event-types registers a type that can then be subscribed to and posted', async () => {
    const env = await setup()
    const refused = await env.call('POST', '/api/hooks', {
      body: { event: 'order.paid', target: 'https://e.com/orders' },
    })
    expectProblem(refused, 400, { field: 'event' })

    const registered = expectSuccess(
      env,
      'POST /event-types',
      await env.call('POST', '/api/event-types', {
        as: ADMIN,
        body: { events: { 'order.paid': null, 'order.shipped': 'Order.shipped' } },
      }),
    )
    expect(registered.data.map((t: { name: string }) => t.name)).toEqual(
      expect.arrayContaining(['order.paid', 'order.shipped', 'book.added']),
    )
    const types = (await env.call('GET', '/api/event-types')).json
    expect(types.data).toContainEqual({ name: 'order.paid' })

    await subscribe(env, { event: 'order.*', target: 'https://e.com/orders' })
    const result = await ingest(env, { event: 'order.paid', data: { total: 5 }, owner: 'u1' })
    expect(result.deliveries).toBe(1)
  })
})

// ── refused requests ────────────────────────────────────────────────────────

interface RefusedCase {
  name: string
  method: string
  /** `{hook}` and `{delivery}` stand for ids of u1's data. */
  path: string
  /** Who calls: an owner, `admin`, or null for no credentials. @default 'u1' */
  as?: string | null | undefined
  body?: unknown
  headers?: Record<string, string>
  status: number
  type?: string
  field?: string
  /** Extra checks of the response. */
  check?: (response: ApiResponse) => void
}

const TARGET = 'https://example.com/hooks'
const sub = (extra: Record<string, unknown>) => ({ event: 'book.added', target: TARGET, ...extra })
const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`

const notObjects = ['[]', '"x"', 'null', '42', 'true', '[{"event":"book.added"}]']
const bodyRoutes: { method: string; path: string; as?: string }[] = [
  { method: 'POST', path: '/api/hooks' },
  { method: 'PATCH', path: '/api/hooks/{hook}' },
  { method: 'POST', path: '/api/hooks/{hook}/replay' },
  { method: 'POST', path: '/api/events', as: ADMIN },
  { method: 'POST', path: '/api/event-types', as: ADMIN },
]

const refused: RefusedCase[] = [
  // Bodies that are not a JSON object.
  ...bodyRoutes.flatMap(({ method, path, as }) => [
    {
      name: `${method} ${path}: bad JSON`,
      method,
      path,
      as,
      body: '{"event": "book.added",',
      status: 400,
      type: 'invalid-json',
    },
    ...notObjects.map((text) => ({
      name: `${method} ${path}: ${text} (not an object)`,
      method,
      path,
      as,
      body: text,
      status: 400,
      type: 'validation',
      field: '',
    })),
  ]),
  // Wrong types and unknown fields.
  {
    name: 'event is a number',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ event: 42 }),
    status: 400,
    field: 'event',
  },
  {
    name: 'active is a string',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ active: 'yes' }),
    status: 400,
    field: 'active',
  },
  {
    name: 'headers is an array',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: ['x'] }),
    status: 400,
    field: 'headers',
  },
  {
    name: 'a header value is a number',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-n': 1 } }),
    status: 400,
    field: 'headers.x-n',
  },
  {
    name: 'metadata is a string',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ metadata: 'x' }),
    status: 400,
    field: 'metadata',
  },
  {
    name: 'method GET',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ method: 'GET' }),
    status: 400,
    field: 'method',
  },
  {
    name: 'target is null',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: null }),
    status: 400,
    field: 'target',
  },
  {
    name: 'an unknown field',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ colour: 'red' }),
    status: 400,
    field: 'colour',
  },
  {
    name: 'owner in the body (the credentials name the owner)',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ owner: 'u2' }),
    status: 400,
    field: 'owner',
  },
  {
    name: 'a secret in the body',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ secret: 'whsec_mine' }),
    status: 400,
    field: 'secret',
  },
  {
    name: 'a filter with an operand of the wrong type',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ filter: { pages: { gt: [1] } } }),
    status: 400,
    field: 'filter.pages.gt',
  },
  {
    name: 'a template that does not render valid JSON',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ template: '{"id": {{data.id}}, }' }),
    status: 400,
    field: 'template',
  },
  // Events and patterns.
  {
    name: 'an unknown event',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ event: 'book.burned' }),
    status: 400,
    field: 'event',
  },
  {
    name: 'a pattern matching no event',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ event: 'magazine.*' }),
    status: 400,
    field: 'event',
  },
  {
    name: 'not a name or pattern',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ event: 'Book Added' }),
    status: 400,
    field: 'event',
  },
  {
    name: 'an empty event',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ event: '' }),
    status: 400,
    field: 'event',
  },
  // Targets.
  {
    name: 'a target that is not a URL',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: 'not a url' }),
    status: 400,
    field: 'target',
  },
  {
    name: 'an ftp:// target',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: 'ftp://example.com/x' }),
    status: 400,
    field: 'target',
  },
  {
    name: 'an ftp:// url (thorn’s name; the error names target)',
    method: 'POST',
    path: '/api/hooks',
    body: { event: 'book.added', url: 'ftp://example.com/x' },
    status: 400,
    field: 'target',
  },
  {
    name: 'a javascript: target_url',
    method: 'POST',
    path: '/api/hooks',
    body: { event: 'book.added', target_url: 'javascript:alert(1)' },
    status: 400,
    field: 'target',
  },
  {
    name: 'a target with credentials',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: 'https://u:p@example.com/' }),
    status: 400,
    field: 'target',
  },
  {
    name: 'a private address the guard never admits',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: 'http://10.1.2.3/' }),
    status: 400,
    field: 'target',
  },
  {
    name: 'a 3000-character target',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ target: `https://e.com/${'a'.repeat(3000)}` }),
    status: 400,
    field: 'target',
  },
  // Headers.
  {
    name: 'CR/LF in a header value',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-a': 'v\r\nInjected: 1' } }),
    status: 400,
    field: 'headers.x-a',
  },
  {
    name: 'a bare LF in a header value',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-a': 'v\nx' } }),
    status: 400,
    field: 'headers.x-a',
  },
  {
    name: 'NUL in a header value',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-a': 'v\u0000' } }),
    status: 400,
    field: 'headers.x-a',
  },
  {
    name: 'CR/LF in a header name',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-a\r\nInjected': '1' } }),
    status: 400,
    field: 'headers.x-a\r\nInjected',
  },
  {
    name: 'a space in a header name',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x a': '1' } }),
    status: 400,
    field: 'headers.x a',
  },
  ...[
    'webhook-signature',
    'Host',
    'Content-Type',
    'hook-event',
    'User-Agent',
    'Transfer-Encoding',
  ].map((name) => ({
    name: `the reserved header ${name}`,
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { [name]: 'x' } }),
    status: 400,
    field: `headers.${name}`,
  })),
  // The same checks on PATCH.
  {
    name: 'PATCH: an unknown field',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { colour: 'red' },
    status: 400,
    field: 'colour',
  },
  {
    name: 'PATCH: target_url (only POST takes the aliases)',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { target_url: TARGET },
    status: 400,
    field: 'target_url',
  },
  {
    name: 'PATCH: an ftp:// target',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { target: 'ftp://e.com/' },
    status: 400,
    field: 'target',
  },
  {
    name: 'PATCH: an unknown event',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { event: 'nope.nope' },
    status: 400,
    field: 'event',
  },
  {
    name: 'PATCH: CR/LF in a header',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { headers: { 'x-a': '\r\n' } },
    status: 400,
    field: 'headers.x-a',
  },
  {
    name: 'PATCH: a reserved header',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { headers: { 'webhook-id': 'x' } },
    status: 400,
    field: 'headers.webhook-id',
  },
  {
    name: 'PATCH: active "no"',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: { active: 'no' },
    status: 400,
    field: 'active',
  },
  // Replay.
  {
    name: 'replay without since',
    method: 'POST',
    path: '/api/hooks/{hook}/replay',
    body: {},
    status: 400,
    field: 'since',
  },
  {
    name: 'replay since "yesterday"',
    method: 'POST',
    path: '/api/hooks/{hook}/replay',
    body: { since: 'yesterday' },
    status: 400,
    field: 'since',
  },
  {
    name: 'replay with an unknown field',
    method: 'POST',
    path: '/api/hooks/{hook}/replay',
    body: { since: '2026-01-01T00:00:00Z', all: true },
    status: 400,
    field: 'all',
  },
  // The producer's ingest.
  {
    name: 'ingest: an unknown event',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'book.burned', data: {}, owner: 'u1' },
    status: 400,
    type: 'invalid-event',
    field: 'event',
  },
  {
    name: 'ingest: hook.test (reserved)',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'hook.test', data: {}, owner: 'u1' },
    status: 400,
    field: 'event',
  },
  {
    name: 'ingest: no data',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', owner: 'u1' },
    status: 400,
    field: 'data',
  },
  {
    name: 'ingest: neither owner nor broadcast',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', data: {} },
    status: 400,
    field: 'owner',
  },
  {
    name: 'ingest: broadcast false and no owner',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', data: {}, broadcast: false },
    status: 400,
    field: 'owner',
  },
  {
    name: 'ingest: owner and broadcast',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', data: {}, owner: 'u1', broadcast: true },
    status: 400,
    field: 'broadcast',
  },
  {
    name: 'ingest: owner is a number',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', data: {}, owner: 7 },
    status: 400,
    field: 'owner',
  },
  {
    name: 'ingest: an unknown field',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'user.logged_in', payload: {}, owner: 'u1' },
    status: 400,
    field: 'payload',
  },
  {
    name: 'ingest: data nested 10,000 levels deep',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: `{"event":"user.logged_in","owner":"u1","data":${deep(10_000)}}`,
    status: 400,
    field: '',
  },
  // Registering event types.
  {
    name: 'event types: a bad name',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: { 'Order Paid': null } },
    status: 400,
    field: 'events',
  },
  {
    name: 'event types: one bad name among good ones registers none',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: { 'order.paid': null, 'Bad!': null } },
    status: 400,
    field: 'events',
  },
  {
    name: 'event types: a bad mapping',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: { 'order.paid': 'not a mapping' } },
    status: 400,
    field: 'events',
  },
  {
    name: 'event types: book.added mapped differently',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: { 'book.added': 'Book.deleted' } },
    status: 400,
    field: 'events',
  },
  {
    name: 'event types: hook.test',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: { 'hook.test': null } },
    status: 400,
    field: 'events',
  },
  {
    name: 'event types: events is an array',
    method: 'POST',
    path: '/api/event-types',
    as: ADMIN,
    body: { events: ['order.paid'] },
    status: 400,
    field: 'events',
  },
  // Deep nesting, odd text.
  {
    name: 'metadata nested 10,000 levels deep',
    method: 'POST',
    path: '/api/hooks',
    body: `{"event":"book.added","target":"${TARGET}","metadata":{"a":${deep(10_000)}}}`,
    status: 400,
    field: '',
  },
  {
    name: 'metadata over 16 KiB',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ metadata: { a: 'x'.repeat(20_000) } }),
    status: 400,
    field: 'metadata',
  },
  {
    name: 'a lone surrogate as the event',
    method: 'POST',
    path: '/api/hooks',
    body: '{"event":"\\ud800","target":"https://e.com/"}',
    status: 400,
    field: 'event',
  },
  // Size and content type.
  {
    name: 'a body over the limit with its Content-Length',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ metadata: { a: 'x'.repeat(300_000) } }),
    status: 413,
    type: 'payload-too-large',
  },
  {
    name: 'text/plain',
    method: 'POST',
    path: '/api/hooks',
    body: JSON.stringify(sub({})),
    headers: { 'content-type': 'text/plain' },
    status: 415,
    type: 'unsupported-media-type',
  },
  {
    name: 'a form',
    method: 'POST',
    path: '/api/hooks',
    body: 'event=book.added&target=https://e.com/',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    status: 415,
  },
  {
    name: 'no content type',
    method: 'POST',
    path: '/api/hooks',
    body: new TextEncoder().encode(JSON.stringify(sub({}))),
    status: 415,
  },
  {
    name: 'PATCH as text/plain',
    method: 'PATCH',
    path: '/api/hooks/{hook}',
    body: '{"active":false}',
    headers: { 'content-type': 'text/plain' },
    status: 415,
  },
  // Query parameters of the lists.
  ...['/api/hooks', '/api/hooks/{hook}/deliveries', '/api/events'].flatMap((path) =>
    ['abc', '0', '1000', '-1', '2.5'].map((limit) => ({
      name: `GET ${path}?limit=${limit}`,
      method: 'GET',
      path: `${path}?limit=${limit}`,
      status: 400,
      type: 'validation',
      field: 'limit',
    })),
  ),
  {
    name: 'GET deliveries ?status=bogus',
    method: 'GET',
    path: '/api/hooks/{hook}/deliveries?status=bogus',
    status: 400,
    field: 'status',
  },
  // Routing.
  { name: 'an unknown route', method: 'GET', path: '/api/nope', status: 404, type: 'not-found' },
  {
    name: 'a route below an id route',
    method: 'GET',
    path: '/api/hooks/{hook}/deliveries/x/y',
    status: 404,
  },
  { name: 'a path outside the base path', method: 'GET', path: '/hooks', status: 404 },
  {
    name: 'a path that only starts like the base path',
    method: 'GET',
    path: '/apihooks',
    status: 404,
  },
  {
    name: 'an unknown subscription',
    method: 'GET',
    path: '/api/hooks/hook_01JD8X2Q4C5M7N9P1R3S5T7V9W',
    status: 404,
    type: 'not-found',
  },
  {
    name: 'an unknown delivery',
    method: 'POST',
    path: '/api/deliveries/dlv_nope/retry',
    status: 404,
  },
  {
    name: 'PATCH of an unknown subscription',
    method: 'PATCH',
    path: '/api/hooks/hook_nope',
    body: { active: false },
    status: 404,
  },
  ...[
    { method: 'DELETE', path: '/api/hooks', allow: ['GET', 'POST'] },
    { method: 'PUT', path: '/api/hooks/{hook}', allow: ['DELETE', 'GET', 'PATCH'] },
    { method: 'GET', path: '/api/hooks/{hook}/rotate-secret', allow: ['POST'] },
    { method: 'DELETE', path: '/api/events', allow: ['GET', 'POST'] },
    { method: 'POST', path: '/api/openapi.json', allow: ['GET'] },
  ].map(({ method, path, allow }) => ({
    name: `${method} ${path} answers 405 with Allow: ${allow.join(', ')}`,
    method,
    path,
    body: method === 'GET' ? undefined : {},
    status: 405,
    type: 'method-not-allowed',
    check: (response: ApiResponse) => {
      const header = response.headers.get('allow') ?? ''
      expect(header.split(/,\s*/).sort()).toEqual(allow)
    },
  })),
  // Credentials.
  ...[
    {
      method: 'POST',
      path: '/api/events',
      body: { event: 'user.logged_in', data: {}, owner: 'u1' },
    },
    { method: 'POST', path: '/api/event-types', body: { events: { 'order.paid': null } } },
  ].flatMap(({ method, path, body }) => [
    { name: `${path} called by an owner`, method, path, body, status: 403, type: 'forbidden' },
    {
      name: `${path} called without credentials`,
      method,
      path,
      body,
      as: null,
      status: 401,
      type: 'unauthenticated',
      check: (response: ApiResponse) => {
        expect(response.headers.get('www-authenticate')).toBe('Bearer')
      },
    },
  ]),
  {
    name: 'POST /hooks without credentials',
    method: 'POST',
    path: '/api/hooks',
    as: null,
    body: sub({}),
    status: 401,
    type: 'unauthenticated',
    check: (response) => expect(response.headers.get('www-authenticate')).toBe('Bearer'),
  },
  // NUL: PostgreSQL cannot store it in text; no id holds it, and no field may.
  ...['/api/hooks/hook_%00', '/api/deliveries/dlv_%00', '/api/deliveries/%00/retry'].map(
    (path) => ({
      name: `${path}: NUL in an id`,
      method: path.endsWith('retry') ? 'POST' : 'GET',
      path,
      status: 404,
      type: 'not-found',
    }),
  ),
  {
    name: 'GET /events?after=%00: NUL in a query parameter',
    method: 'GET',
    path: '/api/events?after=%00',
    status: 400,
    type: 'validation',
    field: 'after',
  },
  {
    name: 'POST /hooks: NUL in a header value',
    method: 'POST',
    path: '/api/hooks',
    body: sub({ headers: { 'x-tenant': 'a\u0000b' } }),
    status: 400,
    type: 'validation',
    field: 'headers.x-tenant',
  },
  {
    name: 'POST /events: NUL in the owner',
    method: 'POST',
    path: '/api/events',
    as: ADMIN,
    body: { event: 'book.added', owner: 'u\u00001', data: {} },
    status: 400,
    type: 'validation',
    field: 'owner',
  },
  {
    name: 'an empty Authorization header',
    method: 'GET',
    path: '/api/hooks',
    headers: { authorization: '' },
    as: null,
    status: 401,
  },
]

describe('refused requests answer a problem and change nothing', () => {
  let env: ApiEnv
  const ids = { hook: '', delivery: '' }

  beforeAll(async () => {
    env = await apiEnv({ retry: { schedule: [] } })
    const hook = await subscribe(env, { event: 'user.logged_in', target: 'http://127.0.0.1:9/' })
    await subscribe(env, { event: 'user.logged_in', target: 'https://e.com/u2' }, 'u2')
    await ingest(env, { event: 'user.logged_in', data: { n: 1 }, owner: 'u1' })
    await ingest(env, { event: 'user.logged_in', data: { n: 2 }, broadcast: true })
    await env.hooks.deliverPending() // port 9 refuses: a failed delivery with an attempt
    const log = await env.call('GET', `/api/hooks/${hook.id}/deliveries`)
    ids.hook = hook.id
    ids.delivery = log.json.data[0].id
  })

  afterAll(async () => {
    await env.close()
  })

  it('the fixture holds subscriptions, events, deliveries and attempts to protect', async () => {
    const dump = await env.dump()
    for (const table of ['subscriptions', 'events', 'deliveries', 'attempts']) {
      expect(dump[`resthooks_${table}`]?.length, table).toBeGreaterThan(0)
    }
  })

  it.each(refused)('$name → $status', async (c) => {
    const path = c.path.replace('{hook}', ids.hook).replace('{delivery}', ids.delivery)
    const before = await env.dump()
    const response = await env.call(c.method, path, {
      as: c.as === undefined ? 'u1' : c.as,
      body: c.body,
      ...(c.headers ? { headers: c.headers } : {}),
    })
    expectProblem(response, c.status, {
      ...(c.type ? { type: c.type } : {}),
      ...(c.field !== undefined ? { field: c.field } : {}),
    })
    c.check?.(response)
    expect(await env.dump()).toEqual(before)
  })

  it.each([
    { name: 'a lying Content-Length', contentLength: '10' },
    { name: 'no Content-Length', contentLength: undefined },
  ])(
    'a streamed body over the limit with $name answers 413, unread beyond the limit',
    async ({ contentLength }) => {
      const before = await env.dump()
      const body = streamedBody(20 * 1024 * 1024)
      const response = await env.call('POST', '/api/hooks', {
        body: body.stream,
        headers: contentLength ? { 'content-length': contentLength } : {},
      })
      expectProblem(response, 413, { type: 'payload-too-large' })
      expect(body.pulled()).toBeLessThan(1024 * 1024)
      expect(await env.dump()).toEqual(before)
    },
  )

  it('a Content-Length over the limit answers 413 before the body is read', async () => {
    const body = streamedBody(1024)
    const response = await env.call('POST', '/api/hooks', {
      body: body.stream,
      headers: { 'content-length': String(10 * 1024 * 1024) },
    })
    expectProblem(response, 413)
    expect(body.pulled()).toBe(0)
  })
})

// ── fuzzing ─────────────────────────────────────────────────────────────────

/** A small seeded PRNG (mulberry32), so that a failing run can be replayed with its seed. */
function random(seed: number) {
  let state = seed >>> 0
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  return { next, int, pick }
}

const ODD_STRINGS = [
  '',
  ' ',
  'book.added',
  'book.*',
  '*',
  'hook.test',
  'https://example.com/h',
  'http://127.0.0.1:9/',
  'ftp://x',
  '\u0000',
  '\ud800',
  '\udfff\ud800',
  '\u202e\u200b\ufeff',
  '🦄🧨',
  'ﷺ',
  'e\u0301',
  '\r\n',
  '%00',
  '%',
  '../../etc/passwd',
  '__proto__',
  'constructor',
  '{"a":1}',
  'x'.repeat(5000),
  'é'.repeat(70_000),
]
const FIELDS = [
  'event',
  'target',
  'target_url',
  'url',
  'active',
  'method',
  'headers',
  'payload',
  'hmacDigest',
  'metadata',
  'since',
  'data',
  'owner',
  'broadcast',
  'events',
  '__proto__',
  'constructor',
  '',
]

/** Percent-encodes `text`; a lone surrogate becomes its (invalid) UTF-8 bytes. */
function encodePath(text: string): string {
  try {
    return encodeURIComponent(text)
  } catch {
    return '%ED%A0%80'
  }
}

/** Sets `key` as an own property, even `__proto__`, so that it reaches the JSON text. */
function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
}

/** A valid body per route, for the fuzzer to mutate (a route without one gets `{}`). */
const TEMPLATES: Record<string, () => Record<string, unknown>> = {
  'POST /hooks': () => ({
    event: 'book.added',
    target: 'https://e.com/h',
    headers: { 'x-a': '1' },
    metadata: { a: 1 },
  }),
  'PATCH /hooks/{id}': () => ({ active: true, headers: { 'x-a': '1' }, metadata: { a: 1 } }),
  'POST /hooks/{id}/replay': () => ({ since: '2026-01-01T00:00:00Z' }),
  'POST /events': () => ({ event: 'user.logged_in', owner: 'u1', data: { a: [1, { b: 2 }] } }),
  'POST /event-types': () => ({ events: { 'order.paid': null } }),
}

describe('fuzzing', () => {
  it('hundreds of random requests never answer 5xx and never throw', async () => {
    const seed = Number(process.env.FUZZ_SEED ?? 20261122)
    const r = random(seed)
    const env = await setup({ retry: { schedule: [] } })
    const reported: Error[] = []
    env.hooks.on('error', (error) => reported.push(error))
    const hook = await subscribe(env, { event: 'user.logged_in', target: 'http://127.0.0.1:9/' })
    await ingest(env, { event: 'user.logged_in', data: {}, owner: 'u1' })
    await env.hooks.deliverPending()
    const delivery = (await env.call('GET', `/api/hooks/${hook.id}/deliveries`)).json.data[0].id

    const value = (depth: number): unknown => {
      switch (r.int(depth > 3 ? 5 : 8)) {
        case 0:
          return null
        case 1:
          return r.next() < 0.5
        case 2:
          return r.pick([0, -1, 1.5, 1e308, -0, 2 ** 53 + 1, 42])
        case 3:
        case 4:
          return r.pick(ODD_STRINGS)
        case 5:
          return Array.from({ length: r.int(4) }, () => value(depth + 1))
        default: {
          const object: Record<string, unknown> = {}
          for (let i = r.int(5); i > 0; i--) {
            setOwn(object, r.next() < 0.7 ? r.pick(FIELDS) : r.pick(ODD_STRINGS), value(depth + 1))
          }
          return object
        }
      }
    }
    /** `[[[[…]]]]` or `{"a":{"a":…}}`, 10,000 or 120,000 levels deep. */
    const nested = () => {
      const levels = r.pick([10_000, 120_000])
      return r.next() < 0.5 ? deep(levels) : `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
    }
    const garbage = () =>
      Array.from({ length: r.int(200) }, () => String.fromCharCode(r.int(0x3000))).join('')
    const huge = () => 'x'.repeat(r.pick([1000, 20_000, 200_000, 270_000, 1_000_000]))

    /** A route's valid body with up to three fields changed, removed or added. */
    const mutated = (key: string): string => {
      const body = TEMPLATES[key]?.() ?? {}
      const SPOT = 'fuzz-nested-spot-7c1'
      for (let i = r.int(4); i > 0; i--) {
        const keys = Object.keys(body)
        const field = keys.length > 0 && r.next() < 0.7 ? r.pick(keys) : r.pick(FIELDS)
        const current = Object.hasOwn(body, field) ? body[field] : undefined
        switch (r.int(6)) {
          case 0:
            setOwn(body, field, r.next() < 0.5 ? SPOT : { a: SPOT })
            break
          case 1:
            setOwn(body, field, huge())
            break
          case 2:
            delete body[field]
            break
          case 3:
            if (current !== null && typeof current === 'object' && !Array.isArray(current)) {
              setOwn(current as Record<string, unknown>, r.pick(ODD_STRINGS), value(1))
              break
            }
            setOwn(body, field, value(0))
            break
          default:
            setOwn(body, field, value(0))
        }
      }
      return JSON.stringify(body).replace(`"${SPOT}"`, nested())
    }
    const wildBody = (): string | undefined => {
      switch (r.int(6)) {
        case 0:
          return undefined
        case 1:
          return garbage()
        case 2:
          return nested()
        case 3:
          return r.pick([
            'null',
            '[]',
            '""',
            '0',
            '{}',
            '{"a":',
            '\ufeff{}',
            '{"__proto__":{"x":1}}',
          ])
        default:
          return JSON.stringify(value(0))
      }
    }
    let hookId: string = hook.id
    const idLike = () =>
      r.pick([
        hookId,
        hookId,
        hookId,
        delivery,
        delivery,
        'hook_nope',
        encodePath(r.pick(ODD_STRINGS)),
        '%E0%A4%A',
        '%ZZ',
        'x'.repeat(10_000),
        '..',
      ])
    const query = () =>
      `?${r.pick(['limit', 'cursor', 'event', 'status', 'after', '__proto__'])}=${encodePath(
        String(r.pick([...ODD_STRINGS, '1', '0', '250', '251', 'abc', '1e2', 'failed'])),
      )}`
    const methods = ['GET', 'POST', 'PATCH', 'DELETE', 'PUT', 'HEAD', 'OPTIONS', 'PROPFIND']
    const auths = ['u1', 'u2', ADMIN, null, 'x'.repeat(300)]
    const contentTypes = [
      'application/json',
      'application/json; charset=utf-8',
      'application/merge-patch+json',
      'text/plain',
      'multipart/form-data; boundary=x',
      '',
    ]

    // Aimed requests: each route (from the route list, so a new route is fuzzed too) with the
    // right method and mostly the right credentials, its valid body mutated. Then wild ones.
    const routes = createRoutes(env.hooks)
    const plan: {
      method: string
      path: string
      as: string | null
      json: boolean
      text?: string | undefined
    }[] = []
    for (const route of routes) {
      const key = `${route.method} ${route.path}`
      const right = route.auth === 'producer' ? ADMIN : route.auth === 'public' ? null : 'u1'
      for (let i = 0; i < 30; i++) {
        const path = `/api${route.path.replace('{id}', idLike())}`
        plan.push({
          method: route.method,
          path: route.query && r.next() < 0.5 ? `${path}${query()}` : path,
          as: r.next() < 0.8 ? right : r.pick(auths),
          json: r.next() < 0.85,
          ...(route.body ? { text: r.next() < 0.8 ? mutated(key) : wildBody() } : {}),
        })
      }
    }
    const paths = [...routes.map((route) => route.path), '/', '/nope', '/hooks/{id}/x/y']
    for (let i = 0; i < 150; i++) {
      const method = r.pick(methods)
      const text = method === 'GET' || method === 'HEAD' ? undefined : wildBody()
      plan.push({
        method,
        path: `/api${r.pick(paths).replace('{id}', idLike())}${r.next() < 0.3 ? query() : ''}`,
        as: r.pick(auths),
        json: r.next() < 0.5,
        ...(text === undefined ? {} : { text }),
      })
    }

    const failures: string[] = []
    const statuses = new Map<number, number>()
    for (const { method, path, as, json, text } of plan) {
      const contentType = json ? 'application/json' : r.pick(contentTypes)
      try {
        const response = await env.call(method, path, {
          as,
          ...(text === undefined ? {} : { body: new TextEncoder().encode(text) }),
          headers: contentType ? { 'content-type': contentType } : {},
        })
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1)
        if (response.status === 204 && !(await env.hooks.getSubscription(hookId))) {
          // Unsubscribed: later requests get a live subscription again.
          const target = 'http://127.0.0.1:9/'
          hookId = (await env.hooks.subscribe({ owner: 'u1', event: '*', target })).id
        }
        if (response.status >= 500) {
          const sent = (text ?? '').slice(0, 200)
          failures.push(
            `${method} ${path.slice(0, 120)} ${sent} → ${response.status} ${response.text}`,
          )
        }
        if (response.status >= 400) {
          expect(response.headers.get('content-type')).toBe('application/problem+json')
        }
      } catch (error) {
        failures.push(`${method} ${path.slice(0, 120)} threw ${String(error)}`)
      }
    }
    expect(failures, `seed ${seed}`).toEqual([])
    expect(reported).toEqual([])
    // The requests reached the handlers, not only the router and the credentials check.
    const seen = [...statuses.keys()]
    for (const status of [200, 201, 202, 400, 401, 403, 404, 405, 413, 415]) {
      expect(seen, `statuses: ${JSON.stringify([...statuses])}`).toContain(status)
    }
  })
})
