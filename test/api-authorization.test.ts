import { afterEach, describe, expect, it } from 'vitest'
import { createRoutes } from '../src/http/routes.ts'
import type { Hooks } from '../src/index.ts'
import { ADMIN, type ApiEnv, apiEnv, expectProblem, expectSuccess } from './support/api-client.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

/**
 * The authorization matrix: every route × (no credentials, another owner, the owner). The rows
 * are keyed by the routes that createRoutes declares, so a route added without a row fails here.
 */

const opened: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

/** What alice owns, and bob's own data beside it. */
interface Fixture {
  env: ApiEnv
  receiver: Receiver
  alice: { hook: string; delivery: string; event: string }
  bob: { hook: string }
}

// Markers that appear in each owner's data (targets, payloads), and in nothing else.
const ALICE = 'alice-only-7f3a'
const BOB = 'bob-only-91c2'

async function fixture(): Promise<Fixture> {
  const env = await apiEnv({ retry: { schedule: [] } })
  const receiver = await startReceiver()
  opened.push(env, receiver)
  const subscribe = async (owner: string, marker: string) => {
    const body = { event: 'user.logged_in', target: `${receiver.url}/${marker}` }
    const response = await env.call('POST', '/api/hooks', { as: owner, body })
    return expectSuccess(env, 'POST /hooks', response).id as string
  }
  const post = async (owner: string, marker: string) => {
    const body = { event: 'user.logged_in', data: { marker }, owner }
    const response = await env.call('POST', '/api/events', { as: ADMIN, body })
    return expectSuccess(env, 'POST /events', response).id as string
  }
  const aliceHook = await subscribe('alice', ALICE)
  const bobHook = await subscribe('bob', BOB)
  const event = await post('alice', ALICE)
  await post('bob', BOB)
  await env.hooks.deliverPending()
  expect(receiver.requests).toHaveLength(2)
  const log = await env.call('GET', `/api/hooks/${aliceHook}/deliveries`, { as: 'alice' })
  const delivery = log.json.data[0]?.id as string
  expect(delivery).toMatch(/^dlv_/)
  return { env, receiver, alice: { hook: aliceHook, delivery, event }, bob: { hook: bobHook } }
}

interface Row {
  /** Who succeeds: the owner of the data, the producer (admin key), or anyone. */
  actor: 'owner' | 'producer' | 'public'
  /**
   * What another owner gets: `not-found` (404, nothing changes), `own-data` (success, but
   * nothing of the owner's appears or changes), `forbidden` (403), `shared` (the same answer
   * as the owner: data that belongs to nobody).
   */
  stranger: 'not-found' | 'own-data' | 'forbidden' | 'shared'
  request(ids: Fixture['alice']): { path: string; body?: unknown }
}

const rows: Record<string, Row> = {
  'GET /event-types': {
    actor: 'owner',
    stranger: 'shared',
    request: () => ({ path: '/event-types' }),
  },
  'POST /hooks': {
    actor: 'owner',
    stranger: 'own-data',
    request: () => ({
      path: '/hooks',
      body: { event: 'user.logged_in', target: 'https://e.com/new' },
    }),
  },
  'GET /hooks': { actor: 'owner', stranger: 'own-data', request: () => ({ path: '/hooks' }) },
  'GET /hooks/{id}': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}` }),
  },
  'PATCH /hooks/{id}': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}`, body: { metadata: { changed: true } } }),
  },
  'DELETE /hooks/{id}': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}` }),
  },
  'POST /hooks/{id}/rotate-secret': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}/rotate-secret` }),
  },
  'POST /hooks/{id}/test': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}/test` }),
  },
  'GET /hooks/{id}/deliveries': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/hooks/${ids.hook}/deliveries` }),
  },
  'POST /hooks/{id}/replay': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({
      path: `/hooks/${ids.hook}/replay`,
      body: { since: '2000-01-01T00:00:00Z' },
    }),
  },
  'GET /deliveries/{id}': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/deliveries/${ids.delivery}` }),
  },
  'POST /deliveries/{id}/retry': {
    actor: 'owner',
    stranger: 'not-found',
    request: (ids) => ({ path: `/deliveries/${ids.delivery}/retry` }),
  },
  'GET /events': { actor: 'owner', stranger: 'own-data', request: () => ({ path: '/events' }) },
  'POST /events': {
    actor: 'producer',
    stranger: 'forbidden',
    request: () => ({
      path: '/events',
      body: { event: 'user.logged_in', data: { marker: ALICE }, owner: 'alice' },
    }),
  },
  'POST /event-types': {
    actor: 'producer',
    stranger: 'forbidden',
    request: () => ({ path: '/event-types', body: { events: { 'order.paid': null } } }),
  },
  'GET /openapi.json': {
    actor: 'public',
    stranger: 'shared',
    request: () => ({ path: '/openapi.json' }),
  },
}

// createRoutes only declares the routes; nothing of `hooks` is touched until one is called.
const ROUTES = createRoutes({} as Hooks).map((route) => `${route.method} ${route.path}`)

function rowOf(key: string): Row {
  const row = rows[key]
  if (!row) throw new Error(`the route ${key} has no row in the authorization matrix`)
  return row
}

async function call(f: Fixture, key: string, as: string | null) {
  const [method = ''] = key.split(' ')
  const { path, body } = rowOf(key).request(f.alice)
  return f.env.call(method, `/api${path}`, { as, ...(body === undefined ? {} : { body }) })
}

describe('the authorization matrix', () => {
  it('has a row for every route, and a route for every row', () => {
    expect(Object.keys(rows).sort()).toEqual([...ROUTES].sort())
  })

  it.each(ROUTES)(
    '%s without credentials: 401 with WWW-Authenticate (public: 200), nothing changes',
    async (key) => {
      const f = await fixture()
      const before = await f.env.dump()
      const response = await call(f, key, null)
      if (rowOf(key).actor === 'public') {
        expectSuccess(f.env, key, response)
      } else {
        expectProblem(response, 401, { type: 'unauthenticated' })
        expect(response.headers.get('www-authenticate')).toBe('Bearer')
      }
      expect(await f.env.dump()).toEqual(before)
    },
  )

  it.each(ROUTES)(
    '%s by another owner: none of the owner’s data is seen or changed',
    async (key) => {
      const f = await fixture()
      const before = await f.env.dump()
      const alicesHooks = await f.env.hooks.listSubscriptions({ owner: 'alice' })
      const response = await call(f, key, 'bob')
      expect(response.text).not.toContain(ALICE)
      if (response.status < 400) {
        // (A 404 may echo the id that bob sent; an answer must not show alice's.)
        for (const id of Object.values(f.alice)) expect(response.text).not.toContain(id)
      }
      switch (rowOf(key).stranger) {
        case 'not-found':
          expectProblem(response, 404, { type: 'not-found' })
          expect(await f.env.dump()).toEqual(before)
          break
        case 'forbidden':
          expectProblem(response, 403, { type: 'forbidden' })
          expect(await f.env.dump()).toEqual(before)
          break
        case 'own-data': {
          expectSuccess(f.env, key, response)
          expect(await f.env.hooks.listSubscriptions({ owner: 'alice' })).toEqual(alicesHooks)
          const after = await f.env.dump()
          expect(after.resthooks_deliveries).toEqual(before.resthooks_deliveries)
          expect(after.resthooks_events).toEqual(before.resthooks_events)
          // A list shows bob his own data: it is scoped, not empty.
          if (key.startsWith('GET')) expect(response.text).toContain(BOB)
          break
        }
        case 'shared': {
          expectSuccess(f.env, key, response)
          const asOwner = await call(f, key, 'alice')
          expect(response.text).toBe(asOwner.text)
          expect(await f.env.dump()).toEqual(before)
          break
        }
      }
    },
  )

  it.each(ROUTES)('%s by its owner (or the producer): the success status', async (key) => {
    const f = await fixture()
    const row = rowOf(key)
    const as = row.actor === 'producer' ? ADMIN : 'alice'
    const response = await call(f, key, as)
    expectSuccess(f.env, key, response)
    if (key === 'GET /hooks' || key === 'GET /events') expect(response.text).toContain(ALICE)
    if (key === 'GET /hooks' || key === 'GET /events') expect(response.text).not.toContain(BOB)
  })

  it('an owner using the producer’s routes gets 403, and the producer has no owner data', async () => {
    const f = await fixture()
    expectProblem(await call(f, 'POST /events', 'alice'), 403)
    const asProducer = await f.env.call('GET', '/api/hooks', { as: ADMIN })
    expect(expectSuccess(f.env, 'GET /hooks', asProducer).data).toEqual([])
  })
})

describe('an authenticate function that throws', () => {
  it('answers 500 without details, reports the error, and changes nothing', async () => {
    const env = await apiEnv()
    opened.push(env)
    const reported: Error[] = []
    env.hooks.on('error', (error) => reported.push(error))
    const handler = env.hooks.api({
      authenticate: () => {
        throw new Error('session store is down')
      },
    })
    const response = await handler(
      new Request('http://localhost/hooks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: 'user.logged_in', target: 'https://e.com/1' }),
      }),
    )
    expect(response.status).toBe(500)
    expect(response.headers.get('content-type')).toBe('application/problem+json')
    expect(await response.text()).not.toContain('session store')
    expect(reported.map((error) => error.message)).toEqual(['session store is down'])
    const stored = await env.hooks.store.db.selectFrom('resthooks_subscriptions').select('id')
    expect(await stored.execute()).toEqual([])
  })
})
