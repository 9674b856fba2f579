import { afterEach, describe, expect, it } from 'vitest'
import { ConfigurationError } from '../../src/index.ts'
import { createApiKey } from '../../src/service/api-keys.ts'
import { startService } from '../../src/service/service.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import {
  ADMIN_KEY,
  type AdminEnv,
  adminEnv,
  BASE,
  createClient,
  executableInlineCode,
  subscriptionFields,
} from './admin-client.ts'

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

async function setup(): Promise<AdminEnv> {
  const env = await adminEnv()
  opened.push(env)
  return env
}

/** A subscription with a failed delivery, so that every page and action has something to act on. */
async function seed(env: AdminEnv) {
  const sub = await env.hooks.subscribe({
    owner: 'u1',
    event: 'book.added',
    target: 'http://127.0.0.1:9/unreachable',
  })
  await env.hooks.rawEvent('book.added', { id: 1, title: 'Dune' }, { owner: 'u1' })
  const [delivery] = (await env.hooks.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
  if (!delivery) throw new Error('no delivery')
  return { sub, delivery }
}

function pages(subId: string, deliveryId: string): string[] {
  return [
    `${BASE}`,
    `${BASE}/`,
    `${BASE}/overview.json`,
    `${BASE}/subscriptions`,
    `${BASE}/subscriptions/new`,
    `${BASE}/subscriptions/${subId}`,
    `${BASE}/subscriptions/${subId}/edit`,
    `${BASE}/subscriptions/${subId}/delete`,
    `${BASE}/deliveries`,
    `${BASE}/deliveries/${deliveryId}`,
  ]
}

function actions(subId: string, deliveryId: string): [string, Record<string, string>][] {
  return [
    [`${BASE}/subscriptions`, subscriptionFields()],
    [
      `${BASE}/subscriptions/${subId}`,
      subscriptionFields({ target: 'https://example.com/changed' }),
    ],
    [`${BASE}/subscriptions/${subId}/delete`, {}],
    [`${BASE}/subscriptions/${subId}/rotate-secret`, {}],
    [`${BASE}/subscriptions/${subId}/test`, {}],
    [`${BASE}/subscriptions/${subId}/enable`, {}],
    [`${BASE}/subscriptions/${subId}/disable`, {}],
    [`${BASE}/preview`, subscriptionFields()],
    [`${BASE}/deliveries/replay`, { since: '2000-01-01T00:00' }],
    [`${BASE}/deliveries/${deliveryId}/retry`, {}],
  ]
}

describe('who may use the dashboard', () => {
  it('the signed-in operator gets every page, each with the security headers and no inline script', async () => {
    const env = await setup()
    const { sub, delivery } = await seed(env)
    for (const path of pages(sub.id, delivery.id)) {
      const page = await env.operator.get(path)
      expect(page.status, path).toBe(200)
      expect(page.headers.get('content-security-policy')).toContain("script-src 'self'")
      expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(page.headers.get('x-content-type-options')).toBe('nosniff')
      expect(page.headers.get('cache-control')).toBe('no-store')
      if (!path.endsWith('.json')) {
        expect(page.text).toContain('resthooks')
        expect(executableInlineCode(page.text), path).toEqual([])
      }
    }
  })

  it.each([
    ['no credentials', {}],
    ['an owner’s API key', { authorization: 'Bearer rh_owner' }],
    [
      'the admin key as a bearer token (a producer credential, not a session)',
      { authorization: `Bearer ${ADMIN_KEY}` },
    ],
    [
      'a forged session cookie',
      { cookie: 'resthooks_admin_session=9999999999.AAAAAAAAAAAAAAAAAAAAAAAA.AAAA' },
    ],
  ])(
    '%s: every page redirects to sign-in and shows no data, every action answers 401 and changes nothing',
    async (_who, headers) => {
      const env = await setup()
      const { sub, delivery } = await seed(env)
      const stranger = createClient(env.admin)
      for (const path of pages(sub.id, delivery.id)) {
        const page = await stranger.get(path, headers)
        expect(page.status, path).toBe(303)
        expect(page.location).toBe(`${BASE}/sign-in?next=${encodeURIComponent(path)}`)
        expect(page.text).toBe('')
      }
      const before = await env.dump()
      for (const [path, fields] of actions(sub.id, delivery.id)) {
        const page = await stranger.post(path, fields, { csrf: env.operator.csrf, headers })
        expect(page.status, path).toBe(401)
        expect(page.text).not.toContain(sub.target)
        expect(page.text).not.toContain('Dune')
      }
      expect(await env.dump()).toEqual(before)
    },
  )

  it('a wrong admin key, or an owner’s API key, does not sign in: 401 with the form’s error, and no cookie', async () => {
    const env = await setup()
    const ownerKey = await createApiKey(env.hooks.store, 'u1')
    for (const key of ['wrong-key-wrong-key-wrong', ownerKey.key]) {
      const stranger = createClient(env.admin)
      const page = await stranger.signIn(key)
      expect(page.status).toBe(401)
      expect(page.text).toContain('That is not the admin key')
      expect(page.text).toContain('aria-invalid="true"')
      expect(page.headers.getSetCookie()).toEqual([])
      expect((await stranger.get(`${BASE}/subscriptions`)).status).toBe(303)
    }
    const empty = await createClient(env.admin).signIn('')
    expect(empty.status).toBe(400)
    expect(empty.text).toContain('Enter the admin key')
  })

  it('signing in sets an HttpOnly, SameSite=Strict session cookie on the dashboard’s path, and goes on to where the operator was headed', async () => {
    const env = await setup()
    const page = await createClient(env.admin).signIn()
    const [cookie] = page.headers.getSetCookie()
    expect(cookie).toMatch(
      /^resthooks_admin_session=[^;]+; Path=\/admin; HttpOnly; SameSite=Strict; Max-Age=28800$/,
    )
    expect(cookie).not.toContain(ADMIN_KEY)

    const client = createClient(env.admin)
    const form = await client.get(
      `${BASE}/sign-in?next=${encodeURIComponent(`${BASE}/deliveries?status=failed`)}`,
    )
    expect(form.text).toContain(`value="${BASE}/deliveries?status=failed"`)
    const signed = await client.post(
      `${BASE}/sign-in`,
      { key: ADMIN_KEY, next: `${BASE}/deliveries?status=failed` },
      { csrf: null },
    )
    expect(signed.location).toBe(`${BASE}/deliveries?status=failed`)
    // Already signed in: the sign-in page sends the operator straight on.
    expect((await client.get(`${BASE}/sign-in`)).location).toBe(`${BASE}/`)
  })

  it.each([
    '//evil.example/x',
    'https://evil.example/',
    '/elsewhere',
    `${BASE}/sign-in`,
    '/admin\\@evil',
    `${BASE}x`,
  ])('never sends the operator off the dashboard after sign-in (next=%s)', async (next) => {
    const env = await setup()
    const page = await createClient(env.admin).post(
      `${BASE}/sign-in`,
      { key: ADMIN_KEY, next },
      { csrf: null },
    )
    expect(page.status).toBe(303)
    expect(page.location).toBe(`${BASE}/`)
  })

  it('a secure request gets a Secure cookie', async () => {
    const env = await setup()
    const response = await env.admin(
      new Request(`https://dash.test${BASE}/sign-in`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: `key=${ADMIN_KEY}`,
      }),
    )
    expect(response.headers.getSetCookie()[0]).toMatch(/; Secure$/)
  })

  it('sign-out ends the session: the old cookie no longer opens anything', async () => {
    const env = await setup()
    const cookie = `resthooks_admin_session=${env.operator.cookies.get('resthooks_admin_session')}`
    const out = await env.operator.post(`${BASE}/sign-out`)
    expect(out.status).toBe(303)
    expect(out.location).toBe(`${BASE}/sign-in?done=signed-out`)
    expect(out.headers.getSetCookie()[0]).toContain('Max-Age=0')
    const again = await createClient(env.admin).get(`${BASE}/`, { cookie })
    expect(again.status).toBe(303)
    const form = await env.operator.get(out.location ?? '')
    expect(form.text).toContain('You are signed out.')
  })

  it('sign-out without the CSRF token is refused, and the session lives on', async () => {
    const env = await setup()
    const out = await env.operator.post(`${BASE}/sign-out`, {}, { csrf: null })
    expect(out.status).toBe(403)
    expect((await env.operator.get(`${BASE}/`)).status).toBe(200)
  })

  it('a session token signed with another admin key, or expired, is refused', async () => {
    const env = await setup()
    const other = (await bookstoreHooks()).hooks
    const otherAdmin = other.admin({ adminKey: 'another-admin-key-0123456789', basePath: BASE })
    const client = createClient(otherAdmin)
    await client.signIn('another-admin-key-0123456789')
    const foreign = `resthooks_admin_session=${client.cookies.get('resthooks_admin_session')}`
    expect((await createClient(env.admin).get(`${BASE}/`, { cookie: foreign })).status).toBe(303)
    await other.close()

    const token = env.operator.cookies.get('resthooks_admin_session') ?? ''
    const [, nonce, mac] = token.split('.')
    const expired = `resthooks_admin_session=1000.${nonce}.${mac}`
    expect((await createClient(env.admin).get(`${BASE}/`, { cookie: expired })).status).toBe(303)
  })
})

describe('CSRF protection', () => {
  it.each([
    ['without a token', { csrf: null }],
    ['with a wrong token', { csrf: 'A'.repeat(43) }],
    [
      'from another site (Sec-Fetch-Site: cross-site)',
      { headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } },
    ],
    [
      'from a sibling site (Sec-Fetch-Site: same-site)',
      { headers: { 'sec-fetch-site': 'same-site', origin: 'http://evil.dash.test' } },
    ],
    [
      'with a foreign Origin',
      { headers: { 'sec-fetch-site': '', origin: 'https://evil.example' } },
    ],
    ['with an opaque Origin', { headers: { 'sec-fetch-site': '', origin: 'null' } }],
  ])('refuses every state-changing form %s (403) and changes nothing', async (_how, options) => {
    const env = await setup()
    const { sub, delivery } = await seed(env)
    const before = await env.dump()
    // '' leaves the client's own same-origin Sec-Fetch-Site in place.
    const given = (options as { headers?: Record<string, string> }).headers ?? {}
    const headers = Object.fromEntries(Object.entries(given).filter(([, v]) => v !== ''))
    for (const [path, fields] of actions(sub.id, delivery.id)) {
      const page = await env.operator.post(path, fields, {
        ...('csrf' in options ? { csrf: options.csrf as string | null } : {}),
        headers,
      })
      expect(page.status, path).toBe(403)
      expect(page.text).toContain('Nothing was changed')
    }
    expect(await env.dump()).toEqual(before)
  })

  it('refuses the token of another operator’s session', async () => {
    const env = await setup()
    const { sub } = await seed(env)
    const other = createClient(env.admin)
    await other.signIn()
    await other.get(`${BASE}/`)
    expect(other.csrf).not.toBe(env.operator.csrf)
    const page = await env.operator.post(
      `${BASE}/subscriptions/${sub.id}/disable`,
      {},
      { csrf: other.csrf },
    )
    expect(page.status).toBe(403)
    expect((await env.hooks.getSubscription(sub.id))?.active).toBe(true)
    // …and its own token works.
    const own = await env.operator.post(`${BASE}/subscriptions/${sub.id}/disable`)
    expect(own.status).toBe(303)
    expect((await env.hooks.getSubscription(sub.id))?.active).toBe(false)
  })

  it('refuses a cross-site sign-in', async () => {
    const env = await setup()
    const page = await createClient(env.admin).post(
      `${BASE}/sign-in`,
      { key: ADMIN_KEY },
      { csrf: null, headers: { 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' } },
    )
    expect(page.status).toBe(403)
    expect(page.headers.getSetCookie()).toEqual([])
  })

  it('refuses forms that are not urlencoded (415) or too large (413), changing nothing', async () => {
    const env = await setup()
    await seed(env)
    const before = await env.dump()
    const json = await env.admin(
      new Request(`http://dash.test${BASE}/subscriptions`, {
        method: 'POST',
        headers: {
          cookie: `resthooks_admin_session=${env.operator.cookies.get('resthooks_admin_session')}`,
          'content-type': 'application/json',
        },
        body: '{}',
      }),
    )
    expect(json.status).toBe(415)
    const big = await env.operator.post(`${BASE}/preview`, { template: 'x'.repeat(700 * 1024) })
    expect(big.status).toBe(413)
    expect(await env.dump()).toEqual(before)
  })
})

describe('hooks.admin({ authenticate }): the application signs operators in', () => {
  async function withAuthenticate(authenticate: (request: Request) => unknown) {
    const env = await bookstoreHooks()
    opened.push(env)
    const admin = env.hooks.admin({
      authenticate: authenticate as (request: Request) => boolean,
      basePath: '/staff/hooks',
    })
    return { env, admin }
  }

  it('only `true` lets a request in; the page sets a CSRF cookie its forms are tied to', async () => {
    const { env, admin } = await withAuthenticate(
      (request) => request.headers.get('x-staff') === 'yes',
    )
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const staff = createClient((request) => {
      const headers = new Headers(request.headers)
      headers.set('x-staff', 'yes')
      return admin(new Request(request, { headers }))
    })
    const page = await staff.get('/staff/hooks/subscriptions')
    expect(page.status).toBe(200)
    expect(page.text).toContain('https://example.com/a')
    expect(page.text).not.toContain('Sign out')
    expect(page.headers.getSetCookie()[0]).toMatch(
      /^resthooks_admin_csrf=[^;]+; Path=\/staff\/hooks; HttpOnly; SameSite=Strict$/,
    )
    // A page with forms carries the token.
    expect(
      (await staff.get(`/staff/hooks/subscriptions/${sub.id}`)).headers.getSetCookie(),
    ).toEqual([])
    expect(staff.csrf).not.toBeNull()
    const disabled = await staff.post(`/staff/hooks/subscriptions/${sub.id}/disable`)
    expect(disabled.status).toBe(303)
    expect(disabled.location).toBe(`/staff/hooks/subscriptions/${sub.id}?done=disabled`)

    // The same request without the CSRF cookie the token was made for is refused.
    staff.cookies.clear()
    const refused = await staff.post(`/staff/hooks/subscriptions/${sub.id}/enable`)
    expect(refused.status).toBe(403)
    expect((await env.hooks.getSubscription(sub.id))?.active).toBe(false)

    const outsider = createClient(admin)
    const denied = await outsider.get('/staff/hooks/subscriptions')
    expect(denied.status).toBe(401)
    expect(denied.text).not.toContain('https://example.com/a')
    // No sign-in page of the dashboard's own here.
    expect((await outsider.get('/staff/hooks/sign-in')).status).toBe(404)
  })

  it('with both authenticate and adminKey, either lets an operator in', async () => {
    const env = await bookstoreHooks()
    opened.push(env)
    const admin = env.hooks.admin({
      authenticate: (request) => request.headers.get('x-staff') === 'yes',
      adminKey: ADMIN_KEY,
      basePath: BASE,
    })
    expect((await createClient(admin).get(`${BASE}/`, { 'x-staff': 'yes' })).status).toBe(200)
    const signedIn = createClient(admin)
    await signedIn.signIn()
    const page = await signedIn.get(`${BASE}/`)
    expect(page.status).toBe(200)
    expect(page.text).toContain('Sign out')
    expect((await createClient(admin).get(`${BASE}/`)).location).toBe(
      `${BASE}/sign-in?next=%2Fadmin%2F`,
    )
  })

  it('an owner id (what the API’s authenticate returns) is not an operator', async () => {
    const { admin } = await withAuthenticate(() => 'u1')
    const page = await createClient(admin).get('/staff/hooks/')
    expect(page.status).toBe(401)
  })

  it('an authenticate that throws answers 500 and is reported on hooks.on("error")', async () => {
    const { env, admin } = await withAuthenticate(() => {
      throw new Error('session store down')
    })
    const errors: Error[] = []
    env.hooks.on('error', (error) => errors.push(error))
    const page = await createClient(admin).get('/staff/hooks/')
    expect(page.status).toBe(500)
    expect(page.text).not.toContain('session store down')
    expect(errors.map((e) => e.message)).toEqual(['session store down'])
  })

  it.each([
    [{}, /needs options.authenticate/],
    [{ authenticate: 'yes' }, /options.authenticate must be a function/],
    [{ adminKey: 'short' }, /at least 16 characters/],
    [{ adminKey: ADMIN_KEY, basePath: 'admin' }, /options.basePath must be a path/],
    [{ adminKey: ADMIN_KEY, secret: 'x' }, /options.secret/],
    [{ adminKey: ADMIN_KEY, secureCookies: 'yes' }, /options.secureCookies/],
    [{ adminKey: ADMIN_KEY, colour: 'blue' }, /options.colour is not an option/],
  ])('refuses bad options at start-up: %o', async (options, message) => {
    const env = await bookstoreHooks()
    opened.push(env)
    // biome-ignore lint/suspicious/noExplicitAny: bad options on purpose
    expect(() => env.hooks.admin(options as any)).toThrow(ConfigurationError)
    // biome-ignore lint/suspicious/noExplicitAny: bad options on purpose
    expect(() => env.hooks.admin(options as any)).toThrow(message)
  })
})

describe('resthooks serve mounts the dashboard at /admin', () => {
  it('signs the operator in with the admin key; an owner’s API key gets the sign-in page, never data', async () => {
    const env = await bookstoreHooks()
    opened.push(env)
    await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/secret-target',
    })
    const service = await startService({
      hooks: env.hooks,
      port: 0,
      adminKey: ADMIN_KEY,
      worker: false,
    })
    opened.push({ close: () => service.stop() })
    const ownerKey = (await createApiKey(env.hooks.store, 'u1')).key

    const asOwner = await fetch(`${service.url}/admin/subscriptions`, {
      headers: { authorization: `Bearer ${ownerKey}` },
      redirect: 'manual',
    })
    expect(asOwner.status).toBe(303)
    expect(asOwner.headers.get('location')).toBe('/admin/sign-in?next=%2Fadmin%2Fsubscriptions')
    expect(await asOwner.text()).not.toContain('secret-target')

    const signIn = await fetch(`${service.url}/admin/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: service.url },
      body: new URLSearchParams({ key: ADMIN_KEY, next: '/admin/subscriptions' }),
      redirect: 'manual',
    })
    expect(signIn.status).toBe(303)
    const cookie = signIn.headers.getSetCookie()[0]?.split(';')[0] ?? ''
    const list = await fetch(`${service.url}${signIn.headers.get('location')}`, {
      headers: { cookie },
    })
    expect(list.status).toBe(200)
    expect(await list.text()).toContain('https://example.com/secret-target')
    // The API beside it is untouched: the session cookie is no API credential.
    expect((await fetch(`${service.url}/hooks`, { headers: { cookie } })).status).toBe(401)
    const css = await fetch(`${service.url}/admin/assets/admin.css`)
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
  })

  it('without an admin key the dashboard is off and says how to turn it on', async () => {
    const env = await bookstoreHooks()
    opened.push(env)
    const service = await startService({ hooks: env.hooks, port: 0, worker: false })
    opened.push({ close: () => service.stop() })
    const page = await fetch(`${service.url}/admin/`)
    expect(page.status).toBe(404)
    expect(await page.text()).toContain('RESTHOOKS_ADMIN_KEY')
  })
})

describe('static files', () => {
  it('serves its script, stylesheet and uPlot without sign-in, cacheable by version', async () => {
    const env = await setup()
    const page = await env.operator.get(`${BASE}/`)
    const urls = [...page.text.matchAll(/(?:src|href)="(\/admin\/assets\/[^"]+)"/g)].map(
      (m) => m[1] as string,
    )
    expect(urls.map((u) => u.split('?')[0]).sort()).toEqual([
      '/admin/assets/admin.css',
      '/admin/assets/admin.js',
      '/admin/assets/uplot.css',
      '/admin/assets/uplot.js',
    ])
    for (const url of urls) {
      const asset = await createClient(env.admin).get(url)
      expect(asset.status, url).toBe(200)
      expect(asset.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
      expect(asset.text.length).toBeGreaterThan(1000)
      const etag = asset.headers.get('etag') ?? ''
      const again = await createClient(env.admin).get(url, { 'if-none-match': etag })
      expect(again.status).toBe(304)
    }
    const js = await createClient(env.admin).get(`${BASE}/assets/uplot.js`)
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(js.headers.get('cache-control')).toBe('no-cache')
    expect(js.text).toContain('uPlot')
    expect((await createClient(env.admin).get(`${BASE}/assets/nope.js`)).status).toBe(404)
  })

  it('answers unknown pages 404 and wrong methods 405, signed in or not', async () => {
    const env = await setup()
    expect((await env.operator.get(`${BASE}/nowhere`)).status).toBe(404)
    expect((await env.operator.get(`${BASE}/subscriptions/hook_nope`)).status).toBe(404)
    const wrong = await env.operator.post(`${BASE}/overview.json`)
    expect(wrong.status).toBe(405)
    expect(wrong.headers.get('allow')).toBe('GET')
    expect((await env.operator.get('/adminx')).status).toBe(404)
  })
})
