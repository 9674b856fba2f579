import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { adminRoutes } from '../../src/admin/routes.ts'
import { createRoutes } from '../../src/http/routes.ts'
import type { Hooks } from '../../src/index.ts'
import { createApiKey } from '../../src/service/api-keys.ts'
import { type Service, startService } from '../../src/service/service.ts'
import { ADMIN_KEY, type Client, createClient, subscriptionFields } from '../admin/admin-client.ts'
import { dumpStore } from '../support/api-client.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

/**
 * The authorization matrix of the standalone service, over HTTP with real credentials: every
 * route of the API, the ingest and the dashboard × (no credentials, another owner's API key, the
 * owner's API key, the admin key). The routes come from `createRoutes` and `adminRoutes`: a route
 * added without a row here fails the first test. (test/api-authorization.test.ts checks the
 * API's answers field by field in-process; test/admin/admin-auth.test.ts the dashboard's
 * sessions and CSRF.)
 */

const ALICE = 'alice-marker-5e1d'

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let service: Service
let receiver: Receiver
let keys: { alice: string; bob: string }
let ids: { hook: string; delivery: string }

beforeAll(async () => {
  env = await bookstoreHooks({ retry: { schedule: [] } })
  receiver = await startReceiver()
  service = await startService({ hooks: env.hooks, port: 0, adminKey: ADMIN_KEY, worker: false })
  keys = {
    alice: (await createApiKey(env.hooks.store, 'alice')).key,
    bob: (await createApiKey(env.hooks.store, 'bob')).key,
  }
  const hook = await env.hooks.subscribe({
    owner: 'alice',
    event: 'user.logged_in',
    target: `${receiver.url}/${ALICE}`,
  })
  await env.hooks.subscribe({ owner: 'bob', event: 'user.logged_in', target: `${receiver.url}/b` })
  await env.hooks.rawEvent('user.logged_in', { marker: ALICE }, { owner: 'alice' })
  await env.hooks.deliverPending()
  const [delivery] = (await env.hooks.listDeliveries({ subscriptionId: hook.id }))?.data ?? []
  ids = { hook: hook.id, delivery: delivery?.id ?? '' }
})

afterAll(async () => {
  await service?.stop()
  await env?.close()
  await receiver?.close()
})

type Who = 'nobody' | 'bob' | 'alice' | 'admin'
const WHO: Who[] = ['nobody', 'bob', 'alice', 'admin']

function authorization(who: Who): Record<string, string> {
  if (who === 'nobody') return {}
  const token = who === 'admin' ? ADMIN_KEY : keys[who]
  return { authorization: `Bearer ${token}` }
}

/** A request body for each API route that takes one. */
const API_BODIES: Record<string, unknown> = {
  'POST /hooks': { event: 'user.logged_in', target: 'https://example.com/new' },
  'PATCH /hooks/{id}': { metadata: { changed: true } },
  'POST /hooks/{id}/replay': { since: '2000-01-01T00:00:00Z' },
  'POST /events': { event: 'user.logged_in', owner: 'alice', data: { n: 2 } },
  'POST /event-types': { events: { 'order.paid': null } },
}

// createRoutes only declares the routes; nothing of `hooks` is touched until one is called.
const API = createRoutes({} as Hooks).map((route) => ({
  key: `${route.method} ${route.path}`,
  method: route.method,
  path: route.path,
  auth: route.auth,
}))

/** The form fields of each dashboard action. */
const ADMIN_FORMS: Record<string, () => Record<string, string>> = {
  'POST /subscriptions': () => subscriptionFields(),
  'POST /subscriptions/{id}': () => subscriptionFields({ target: 'https://example.com/changed' }),
  'POST /subscriptions/{id}/delete': () => ({}),
  'POST /subscriptions/{id}/rotate-secret': () => ({}),
  'POST /subscriptions/{id}/test': () => ({}),
  'POST /subscriptions/{id}/enable': () => ({}),
  'POST /subscriptions/{id}/disable': () => ({}),
  'POST /preview': () => subscriptionFields(),
  'POST /deliveries/replay': () => ({ since: '2000-01-01T00:00' }),
  'POST /deliveries/{id}/retry': () => ({}),
}

const ADMIN = adminRoutes.map((route) => ({
  key: `${route.method} ${route.path}`,
  method: route.method,
  path: route.path,
}))

function fill(path: string): string {
  return path.replace('{id}', path.startsWith('/deliveries') ? ids.delivery : ids.hook)
}

async function callApi(route: (typeof API)[number], who: Who) {
  const body = API_BODIES[route.key]
  const response = await fetch(`${service.url}${fill(route.path)}`, {
    method: route.method,
    headers: {
      ...authorization(who),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  })
  return { status: response.status, text: await response.text() }
}

/** A dashboard client that talks to the service over HTTP, as a same-origin browser would. */
function dashboardClient(extraHeaders: Record<string, string> = {}): Client {
  return createClient(async (request) => {
    const url = new URL(request.url)
    const headers = new Headers(request.headers)
    if (headers.has('origin')) headers.set('origin', service.url)
    for (const [name, value] of Object.entries(extraHeaders)) headers.set(name, value)
    return fetch(`${service.url}${url.pathname}${url.search}`, {
      method: request.method,
      headers,
      ...(request.method === 'GET' ? {} : { body: await request.text() }),
      redirect: 'manual',
    })
  })
}

describe('the authorization matrix of the service, over HTTP', () => {
  it('covers every route of the API and of the dashboard', () => {
    const bodied = API.filter((r) => ['POST', 'PATCH', 'PUT'].includes(r.method)).map((r) => r.key)
    const unexpected = bodied.filter((key) => !(key in API_BODIES))
    // A bodied route that needs no body: the ones whose action is their path.
    expect(unexpected.sort()).toEqual([
      'POST /deliveries/{id}/retry',
      'POST /hooks/{id}/rotate-secret',
      'POST /hooks/{id}/test',
    ])
    const posts = ADMIN.filter((r) => r.method === 'POST').map((r) => r.key)
    expect(posts.sort()).toEqual(Object.keys(ADMIN_FORMS).sort())
    expect(API.length).toBeGreaterThan(0)
    expect(ADMIN.length).toBeGreaterThan(0)
  })

  it.each(API.map((route) => [route.key, route] as const))(
    'API %s: nobody 401, the admin key only on the ingest, another owner never sees or changes the owner’s data',
    async (_key, route) => {
      for (const who of ['nobody', 'bob', 'admin'] as const) {
        const before = await dumpStore(env.hooks.store)
        const { status, text } = await callApi(route, who)
        if (route.auth === 'public') {
          expect(status, who).toBe(200)
          continue
        }
        if (who === 'nobody' || (who === 'admin' && route.auth === 'owner')) {
          // The admin key is the producer's credential, not an owner's.
          expect(status, `${who}: ${text}`).toBe(401)
        } else if (who === 'bob' && route.auth === 'producer') {
          expect(status, text).toBe(403)
        } else if (who === 'admin' && route.auth === 'producer') {
          expect(status, text).toBeLessThan(300)
          continue
        } else {
          // Another owner: 404 for the owner's resources, or a success scoped to bob's own.
          expect([200, 201, 202, 204, 404], text).toContain(status)
          expect(text).not.toContain(ALICE)
          // (A 404 may echo the id that bob sent; a success must not show alice's.)
          if (status < 300) expect(text).not.toContain(ids.delivery)
          if (status === 404) expect(await dumpStore(env.hooks.store)).toEqual(before)
          const alices = await env.hooks.listSubscriptions({ owner: 'alice' })
          expect(alices.data.map((s) => s.id)).toContain(ids.hook)
          expect(alices.data.find((s) => s.id === ids.hook)?.metadata).toEqual({})
          continue
        }
        expect(await dumpStore(env.hooks.store), `${who} changed the store`).toEqual(before)
      }
    },
  )

  it.each(ADMIN.map((route) => [route.key, route] as const))(
    'dashboard %s: no API key, owner’s or admin’s as a bearer, gets in; the signed-in operator does',
    async (_key, route) => {
      for (const who of WHO) {
        const client = dashboardClient(authorization(who))
        const before = await dumpStore(env.hooks.store)
        const path = `/admin${fill(route.path)}`
        if (route.method === 'GET') {
          const page = await client.get(path)
          expect(page.status, who).toBe(303)
          expect(page.location).toMatch(/^\/admin\/sign-in\?next=/)
          expect(page.text).toBe('')
        } else {
          const page = await client.post(path, ADMIN_FORMS[route.key]?.() ?? {}, { csrf: 'x' })
          expect(page.status, who).toBe(401)
          expect(page.text).not.toContain(ALICE)
        }
        expect(await dumpStore(env.hooks.store), `${who} changed the store`).toEqual(before)
      }
      const operator = dashboardClient()
      expect((await operator.signIn()).status).toBe(303)
      let path = `/admin${fill(route.path)}`
      if (route.key === 'POST /subscriptions/{id}/delete') {
        // The operator deletes a subscription of its own making, so that the rest still run.
        const doomed = await env.hooks.subscribe({
          owner: 'carol',
          event: 'user.logged_in',
          target: 'https://example.com/doomed',
        })
        path = `/admin/subscriptions/${doomed.id}/delete`
      }
      const page =
        route.method === 'GET'
          ? await operator.get(path)
          : await operator.post(path, ADMIN_FORMS[route.key]?.() ?? {})
      expect(page.status, page.text.slice(0, 300)).toBeLessThan(400)
    },
  )

  // Last: the owner's own calls change things (one deletes the subscription).
  it('API: the owner gets the success status on every owner route', async () => {
    const ordered = [...API.filter((r) => r.auth === 'owner')].sort(
      (a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'),
    )
    for (const route of ordered) {
      const { status, text } = await callApi(route, 'alice')
      expect(status, `${route.key}: ${text}`).toBeLessThan(300)
    }
  })
})
