import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { newId } from '../../src/ids.ts'
import { migrations } from '../../src/store/migrations.ts'
import type { AttemptTable } from '../../src/store/schema.ts'
import { startReceiver } from '../support/receiver.ts'
import { temporaryStore } from '../support/store-kind.ts'
import { type AdminEnv, adminEnv, BASE, createClient, visibleText } from './admin-client.ts'

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

async function setup(options: Parameters<typeof adminEnv>[0] = {}): Promise<AdminEnv> {
  const env = await adminEnv(options)
  opened.push(env)
  return env
}

async function receiver() {
  const started = await startReceiver()
  opened.push(started)
  return started
}

const XSS = '<script>alert(1)</script>'

describe('the delivery log', () => {
  it('lists every owner’s deliveries and filters them by subscription, status, event, owner and time', async () => {
    let clock = Date.now() - 2 * 60 * 60_000
    const env = await setup({ now: () => clock })
    const target = await receiver()
    target.respondWith((req, res) => res.writeHead(req.path === '/bad' ? 500 : 200).end())
    const good = await env.hooks.subscribe({
      owner: 'alice',
      event: 'book.*',
      target: `${target.url}/good`,
    })
    const bad = await env.hooks.subscribe({
      owner: 'bob',
      event: 'book.*',
      target: `${target.url}/bad`,
    })
    await env.hooks.rawEvent('book.added', { id: 1 }, { broadcast: true }) // two hours ago
    clock = Date.now()
    await env.hooks.rawEvent('book.read', { id: 2 }, { broadcast: true })
    await env.hooks.deliverPending()

    const all = await env.operator.get(`${BASE}/deliveries`)
    expect(all.status).toBe(200)
    const rows = (text: string) =>
      (text.match(/<tr>\s*<td><a href="\/admin\/deliveries\/dlv_/g) ?? []).length
    expect(rows(all.text)).toBe(4)
    expect(visibleText(all.text)).toContain(`book.read ${target.url}/bad bob 1 HTTP 500`)

    const cases: [string, number][] = [
      [`subscription=${good.id}`, 2],
      ['status=pending', 2],
      ['status=succeeded', 2],
      ['status=failed', 0],
      ['event=book.read', 2],
      ['owner=bob', 2],
      [`from=${new Date(clock - 60 * 60_000).toISOString().slice(0, 16)}`, 2],
      [`to=${new Date(clock - 60 * 60_000).toISOString().slice(0, 16)}`, 2],
      [`owner=bob&event=book.added&subscription=${bad.id}`, 1],
    ]
    for (const [query, count] of cases) {
      const page = await env.operator.get(`${BASE}/deliveries?${query}`)
      expect(page.status, query).toBe(200)
      expect(rows(page.text), query).toBe(count)
    }
  })

  it.each([
    ['status=lost', "Status: must be 'pending', 'succeeded' or 'failed'"],
    ['from=yesterday', 'Created from (UTC): must be a time'],
    ['from=2026-02-31T10:00', 'Created from (UTC): must be a time'],
    ['from=2026-01-02T00:00&to=2026-01-01T00:00', 'Created before (UTC): must be after From'],
    ['owner=%00', 'Owner: must not contain control characters'],
  ])('refuses a bad filter (%s) with a clear error and lists nothing', async (query, message) => {
    const env = await setup()
    await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'https://example.com/a' })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'u1' })
    const page = await env.operator.get(`${BASE}/deliveries?${query}`)
    expect(page.status).toBe(400)
    expect(visibleText(page.text)).toContain(message)
    expect(page.text).not.toContain('href="/admin/deliveries/dlv_')
  })
})

describe('one delivery', () => {
  it('shows each attempt’s request (method, URL, headers, body) and response (status, headers, body, duration, error), inert', async () => {
    const env = await setup()
    const target = await receiver()
    target.respondWith((_req, res) => {
      res.writeHead(500, {
        'x-reason': `"><img src=x onerror=alert(1)>`,
        'content-type': 'text/html',
      })
      res.end(`<h1>Oops</h1>${XSS}`)
    })
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${target.url}/in`,
      headers: { 'X-Token': 't1' },
    })
    await env.hooks.rawEvent('book.added', { id: 7, title: XSS }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const [delivery] = await env.hooks.store.admin.listDeliveries({ limit: 1 })
    const page = await env.operator.get(`${BASE}/deliveries/${delivery?.id}`)
    expect(page.status).toBe(200)
    expect(page.text).not.toContain('<script>alert')
    expect(page.text).not.toContain('<img src=x')
    expect(page.text).not.toContain('<h1>Oops')
    const text = visibleText(page.text)
    expect(text).toContain(`Attempt 1 HTTP 500`)
    expect(text).toContain(`POST ${target.url}/in`)
    expect(text).toContain('X-Token t1')
    expect(text).toMatch(/webhook-signature v1,[A-Za-z0-9+/=]+/)
    expect(text).toContain(`"title":"${XSS}"`)
    expect(text).toContain(`x-reason "><img src=x onerror=alert(1)>`)
    expect(text).toContain(`<h1>Oops</h1>${XSS}`)
    // The badge says HTTP 500; an error line would only repeat it.
    expect(text).not.toContain('Error: HTTP 500')
    expect(text).toMatch(/\d+ ms/)
    // The signing secret itself is stored nowhere but on the subscription.
    const attempts = await env.hooks.store.admin.listAttempts(delivery?.id ?? '')
    expect(JSON.stringify(attempts)).not.toContain(sub.secret)
    expect(attempts[0]).toMatchObject({ request_method: 'POST', request_url: `${target.url}/in` })
  })

  it('names the error of an attempt that got no response', async () => {
    const env = await setup({ retry: { schedule: [], jitter: 0 } })
    await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'http://127.0.0.1:9/closed',
    })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const [delivery] = await env.hooks.store.admin.listDeliveries({ limit: 1 })
    const page = visibleText((await env.operator.get(`${BASE}/deliveries/${delivery?.id}`)).text)
    expect(page).toMatch(/Attempt 1 no response .* Error: connect ECONNREFUSED 127\.0\.0\.1:9/)
    expect(page).toContain('No response.')
    const overview = visibleText((await env.operator.get(`${BASE}/`)).text)
    expect(overview).toMatch(/no response connect ECONNREFUSED 127\.0\.0\.1:9/)
    const log = visibleText((await env.operator.get(`${BASE}/deliveries`)).text)
    expect(log).toContain(
      'failed book.added http://127.0.0.1:9/closed u1 1 no response connect ECONNREFUSED',
    )
  })

  it('keeps at most 4 KiB of the request body and 8 KiB of the response body, cut at a character', async () => {
    const env = await setup()
    const target = await receiver()
    target.respondWith((_req, res) => res.writeHead(200).end('é'.repeat(10_000)))
    await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${target.url}/in` })
    await env.hooks.rawEvent('book.added', { id: 1, text: 'ü'.repeat(5000) }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const [delivery] = await env.hooks.store.admin.listDeliveries({ limit: 1 })
    const [attempt] = await env.hooks.store.admin.listAttempts(delivery?.id ?? '')
    const requestBytes = Buffer.byteLength(attempt?.request_body ?? '')
    expect(requestBytes).toBeLessThanOrEqual(4096)
    expect(requestBytes).toBeGreaterThan(4090)
    expect(attempt?.request_body).not.toContain('\ufffd')
    expect(target.requests[0]?.body.startsWith(attempt?.request_body ?? 'x')).toBe(true)
    expect(Buffer.byteLength(attempt?.response_body ?? '')).toBeLessThanOrEqual(8192)
  })

  it('retries a failed delivery at once, and shows the new attempt succeed', async () => {
    const env = await setup({ retry: { schedule: [], jitter: 0 } })
    const target = await receiver()
    target.respondWith((_req, res) => res.writeHead(503).end('down'))
    await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${target.url}/in` })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const [delivery] = await env.hooks.store.admin.listDeliveries({ limit: 1 })
    expect(delivery?.status).toBe('failed')
    expect(
      visibleText((await env.operator.get(`${BASE}/deliveries/${delivery?.id}`)).text),
    ).toContain('Retry now')

    target.respondWith((_req, res) => res.writeHead(204).end())
    const retried = await env.operator.post(`${BASE}/deliveries/${delivery?.id}/retry`)
    expect(retried.location).toBe(`${BASE}/deliveries/${delivery?.id}?done=retried`)
    expect((await env.hooks.store.findDelivery(delivery?.id ?? ''))?.status).toBe('pending')
    await env.hooks.deliverPending()
    const page = visibleText((await env.operator.get(retried.location ?? '')).text)
    expect(page).toContain('Queued: the delivery will be attempted again now.')
    expect(page).toContain('succeeded')
    expect(page).toContain('Attempt 1 HTTP 503')
    expect(page).toContain('Attempt 2 HTTP 204')
  })

  it('leaves a delivery a worker holds right now to that worker', async () => {
    const env = await setup()
    await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: 'https://example.com/a' })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'u1' })
    const [claimed] = await env.hooks.store.claimDeliveries(1, 60_000, Date.now())
    const id = claimed?.delivery.id ?? ''
    const page = await env.operator.get(`${BASE}/deliveries/${id}`)
    expect(visibleText(page.text)).toContain('A worker is attempting this delivery right now.')
    const before = await env.hooks.store.findDelivery(id)
    const retried = await env.operator.post(`${BASE}/deliveries/${id}/retry`)
    expect(retried.location).toBe(`${BASE}/deliveries/${id}?done=in-flight`)
    expect(await env.hooks.store.findDelivery(id)).toEqual(before)
  })
})

describe('replaying failed deliveries', () => {
  async function failedDeliveries(env: AdminEnv) {
    const target = await receiver()
    target.respondWith((_req, res) => res.writeHead(500).end())
    const a = await env.hooks.subscribe({
      owner: 'alice',
      event: 'book.added',
      target: `${target.url}/a`,
    })
    const b = await env.hooks.subscribe({
      owner: 'bob',
      event: 'book.added',
      target: `${target.url}/b`,
    })
    await env.hooks.rawEvent('book.added', { id: 1 }, { broadcast: true })
    await env.hooks.rawEvent('book.added', { id: 2 }, { broadcast: true })
    await env.hooks.deliverPending()
    return { a, b }
  }
  const pending = async (env: AdminEnv) =>
    (await env.hooks.store.admin.listDeliveries({ status: 'pending', limit: 50 }))
      .map((d) => d.subscription_id)
      .sort()

  it('of one subscription, of one owner, or of all, since a time', async () => {
    const env = await setup({ retry: { schedule: [], jitter: 0 } })
    const { a, b } = await failedDeliveries(env)
    const since = new Date(Date.now() - 60 * 60_000).toISOString().slice(0, 16)

    const one = await env.operator.post(`${BASE}/deliveries/replay`, { since, subscription: a.id })
    expect(one.location).toBe(
      `${BASE}/deliveries?status=pending&done=replayed&count=2&subscription=${a.id}`,
    )
    expect(await pending(env)).toEqual([a.id, a.id])
    expect(visibleText((await env.operator.get(one.location ?? '')).text)).toContain(
      '2 failed deliveries were queued again.',
    )

    const owner = await env.operator.post(`${BASE}/deliveries/replay`, { since, owner: 'bob' })
    expect(owner.location).toContain('count=2&owner=bob')
    expect(await pending(env)).toEqual([a.id, a.id, b.id, b.id].sort())

    await env.hooks.deliverPending()
    const all = await env.operator.post(`${BASE}/deliveries/replay`, { since })
    expect(all.location).toContain('count=4')
    // Since a time after they were created: none.
    await env.hooks.deliverPending()
    const later = new Date(Date.now() + 60_000).toISOString().slice(0, 16)
    const none = await env.operator.post(`${BASE}/deliveries/replay`, { since: later })
    expect(none.location).toContain('count=0')
  })

  it.each([
    [{ since: 'last week' }, 'since: must be a time'],
    [{ since: '' }, 'since: must be a time'],
    [
      { since: '2026-01-01T00:00', subscription: 'hook_nope' },
      'there is no subscription hook_nope',
    ],
  ])('refuses %o with a clear error, replaying nothing', async (fields, message) => {
    const env = await setup({ retry: { schedule: [], jitter: 0 } })
    await failedDeliveries(env)
    const before = await env.dump()
    const page = await env.operator.post(`${BASE}/deliveries/replay`, fields)
    expect(page.status).toBe(400)
    expect(visibleText(page.text)).toContain(message)
    expect(await env.dump()).toEqual(before)
  })
})

describe('the overview', () => {
  it('counts, charts and names the endpoints failing now with the reason, and the disabled ones with a way back', async () => {
    const env = await setup()
    const target = await receiver()
    target.respondWith((req, res) => {
      if (req.path === '/down') res.writeHead(502).end('bad gateway')
      else res.writeHead(200).end()
    })
    const up = await env.hooks.subscribe({
      owner: 'alice',
      event: 'book.added',
      target: `${target.url}/up`,
    })
    const down = await env.hooks.subscribe({
      owner: 'bob',
      event: 'book.added',
      target: `${target.url}/down`,
    })
    const off = await env.hooks.subscribe({
      owner: 'carol',
      event: 'book.added',
      target: `${target.url}/off`,
    })
    await env.hooks.store.updateSubscription(off.id, undefined, {
      status: 'disabled',
      disabled_reason: `too many failures ${XSS}`,
    })
    for (let i = 0; i < 3; i++)
      await env.hooks.rawEvent('book.added', { id: i }, { broadcast: true })
    await env.hooks.deliverPending()

    const page = await env.operator.get(`${BASE}/`)
    expect(page.status).toBe(200)
    const text = visibleText(page.text)
    expect(text).toContain('3 attempts succeeded, last hour')
    expect(text).toContain('3 attempts failed, last hour')
    expect(text).toContain('3 deliveries pending')
    expect(text).toContain('2 active subscriptions')
    expect(text).toContain('1 failing now')
    expect(text).toContain('1 disabled')
    expect(text).toContain(`${target.url}/down bob book.added`)
    expect(text).toContain('0 % of 3 HTTP 502 answered HTTP 502: bad gateway')
    expect(text).not.toContain(`${target.url}/up alice`)
    expect(text).toContain(`${target.url}/off carol book.added`)
    expect(text).toContain(`too many failures ${XSS} Enable`)
    expect(page.text).not.toContain('<script>alert')

    const data = JSON.parse(
      /<script type="application\/json" id="overview-data"[^>]*>([\s\S]*?)<\/script>/.exec(
        page.text,
      )?.[1] ?? '',
    )
    expect(data.window).toBe('1h')
    expect(data.buckets).toHaveLength(60)
    const sum = (key: string) =>
      data.buckets.reduce((n: number, b: Record<string, number>) => n + (b[key] ?? 0), 0)
    expect([sum('succeeded'), sum('httpErrors'), sum('noResponse')]).toEqual([3, 3, 0])
    expect(data.buckets.at(-1).p50).toBeGreaterThanOrEqual(0)

    const enabled = await env.operator.post(`${BASE}/subscriptions/${off.id}/enable`, {
      next: 'overview',
    })
    expect(enabled.location).toBe(`${BASE}/?done=enabled`)
    expect((await env.hooks.getSubscription(off.id))?.active).toBe(true)
    expect(up.id).toBeTruthy()
    expect(down.id).toBeTruthy()
  })

  it('answers the charts’ data as JSON for each window, and the last hour for an unknown one', async () => {
    const env = await setup()
    for (const [window, buckets, bucketMs] of [
      ['1h', 60, 60_000],
      ['6h', 72, 300_000],
      ['24h', 96, 900_000],
      ['bogus', 60, 60_000],
    ] as const) {
      const page = await env.operator.get(`${BASE}/overview.json?window=${window}`)
      expect(page.status).toBe(200)
      const data = JSON.parse(page.text)
      expect(data.buckets).toHaveLength(buckets)
      expect(data.bucketMs).toBe(bucketMs)
      expect(data.buckets[1].start - data.buckets[0].start).toBe(bucketMs)
      expect(data.buckets.at(-1).start).toBeLessThanOrEqual(Date.now())
    }
    const six = await env.operator.get(`${BASE}/?window=6h`)
    expect(six.text).toContain('aria-current="true">Last 6 hours</a>')
  })
})

describe('operator-scope queries', () => {
  function attempt(
    deliveryId: string,
    startedAt: number,
    durationMs: number,
    status: number | null,
  ): AttemptTable {
    return {
      id: newId('atm'),
      delivery_id: deliveryId,
      number: 1,
      started_at: startedAt,
      duration_ms: durationMs,
      request_headers: '{}',
      request_method: 'POST',
      request_url: 'https://example.com/',
      request_body: '{}',
      response_status: status,
      response_headers: null,
      response_body: null,
      error: status === null ? 'connect ECONNREFUSED' : null,
    }
  }

  it('counts attempts per bucket by outcome, with p50 and p95 interpolated as percentile_cont does', async () => {
    const env = await setup()
    const bucket = 60_000
    const to = Math.floor(Date.now() / bucket) * bucket + bucket
    const from = to - 5 * bucket
    const rows: AttemptTable[] = []
    for (let i = 1; i <= 10; i++) rows.push(attempt('dlv_x', from + 4 * bucket + i, i * 10, 200))
    rows.push(attempt('dlv_x', from + 4 * bucket + 50, 1000, 500))
    rows.push(attempt('dlv_x', from + 4 * bucket + 51, 15_000, null))
    rows.push(attempt('dlv_x', from + bucket + 5, 40, 200))
    rows.push(attempt('dlv_x', from - 1, 5, 200)) // before the window
    await env.hooks.store.db.insertInto('resthooks_attempts').values(rows).execute()
    const series = await env.hooks.store.admin.outcomeSeries({ from, to, bucketMs: bucket })
    expect(series.map((b) => [b.succeeded, b.httpErrors, b.noResponse])).toEqual([
      [0, 0, 0],
      [1, 0, 0],
      [0, 0, 0],
      [0, 0, 0],
      [10, 1, 1],
    ])
    expect(series[1]).toMatchObject({ p50: 40, p95: 40 })
    // 10, 20, …, 100 and 1000 (a 500 still answered; the attempt without a response is left out)
    expect(series[4]?.p50).toBeCloseTo(60)
    expect(series[4]?.p95).toBeCloseTo(550)
    expect(series[0]).toMatchObject({ p50: null, p95: null })
  })

  it('migration 3 adds the request columns to an existing store; older attempts show as not recorded', async () => {
    const database = await temporaryStore()
    opened.push({ close: () => database.store.close().then(() => database.remove()) })
    const { db } = database.store
    await sql`CREATE TABLE resthooks_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)`.execute(
      db,
    )
    for (const migration of migrations.filter((m) => m.version <= 2)) {
      for (const statement of migration.statements) await sql.raw(statement).execute(db)
      await db
        .insertInto('resthooks_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: 0 })
        .execute()
    }
    await sql`INSERT INTO resthooks_events (id, name, owner, data, created_at) VALUES ('evt_1', 'book.added', 'u1', '{"id":1}', 1)`.execute(
      db,
    )
    await sql`INSERT INTO resthooks_deliveries (id, event_id, subscription_id, owner, status, attempts, next_attempt_at, created_at, updated_at) VALUES ('dlv_1', 'evt_1', 'hook_gone', 'u1', 'failed', 1, 1, 1, 1)`.execute(
      db,
    )
    await sql`INSERT INTO resthooks_attempts (id, delivery_id, number, started_at, duration_ms, request_headers, response_status) VALUES ('atm_1', 'dlv_1', 1, 1, 12, '{"webhook-id":"evt_1"}', 500)`.execute(
      db,
    )
    await database.store.migrate()
    const versions = await db
      .selectFrom('resthooks_migrations')
      .select('version')
      .orderBy('version')
      .execute()
    expect(versions.map((v) => Number(v.version))).toEqual(migrations.map((m) => m.version))
    const [old] = await database.store.admin.listAttempts('dlv_1')
    expect(old).toMatchObject({
      request_method: null,
      request_url: null,
      request_body: null,
      response_status: 500,
    })

    const { createHooks } = await import('../../src/index.ts')
    const hooks = createHooks({ store: database.store, events: { 'book.added': 'Book.created' } })
    const admin = hooks.admin({ adminKey: 'admin-key-for-the-tests-0123456789', basePath: BASE })
    const client = createClient(admin)
    await client.signIn()
    const page = await client.get(`${BASE}/deliveries/dlv_1`)
    expect(page.status).toBe(200)
    const text = visibleText(page.text)
    expect(text).toContain('Method and URL not recorded')
    expect(text).toContain('No body recorded.')
    expect(text).toContain('hook_gone (removed)')
  })
})

describe('odd input never makes the dashboard answer 5xx', () => {
  it.each([
    '/deliveries/%00',
    '/deliveries/%ZZ',
    '/subscriptions/%00/edit',
    `/subscriptions/${'x'.repeat(5000)}`,
    '/deliveries?before=%00',
    `/deliveries?before=${encodeURIComponent(XSS)}`,
    '/deliveries?from=99999-01-01T00:00',
    '/deliveries?event=%FF%FE',
    '/subscriptions?target=%25%5F%27',
    '/subscriptions?before=zzz&owner=%F0%9F%98%80',
    '/?window=%00',
  ])('GET %s', async (path) => {
    const env = await setup()
    const page = await env.operator.get(`${BASE}${path}`)
    expect(page.status, page.text.slice(0, 500)).toBeLessThan(500)
    expect(page.text).not.toContain('<script>alert')
  })

  it.each([
    ['/subscriptions/%00/disable', {}],
    ['/deliveries/%00/retry', {}],
    ['/subscriptions', { owner: 'u\u0000', event: '\u0000' }],
    ['/deliveries/replay', { since: '2026-01-01T00:00', owner: 'a\u0000' }],
    ['/preview', { template: '{{a}}', sample: '\u0000' }],
  ])('POST %s', async (path, fields) => {
    const env = await setup()
    const page = await env.operator.post(`${BASE}${path}`, fields as Record<string, string>)
    expect(page.status, page.text.slice(0, 500)).toBeLessThan(500)
  })
})
