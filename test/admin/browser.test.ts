import { copyFileSync, mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { encodeTime } from 'ulid'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import type { Hooks } from '../../src/hooks.ts'
import { type Service, startService } from '../../src/service/service.ts'
import type { AttemptTable, DeliveryTable, EventTable } from '../../src/store/schema.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { launchChromium } from '../support/browser.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { ADMIN_KEY } from './admin-client.ts'

const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url))
const overviewForDocs = fileURLToPath(new URL('../../docs/admin-overview.png', import.meta.url))

let browser: Browser | null = null
let env: Awaited<ReturnType<typeof bookstoreHooks>>
let service: Service
let receiver: Receiver

beforeAll(async () => {
  const launched = await launchChromium()
  if ('skip' in launched) return
  browser = launched.browser
  env = await bookstoreHooks()
  receiver = await startReceiver()
  service = await startService({ hooks: env.hooks, port: 0, adminKey: ADMIN_KEY })
  mkdirSync(screenshots, { recursive: true })
}, 60_000)

afterAll(async () => {
  await browser?.close()
  await service?.stop()
  await receiver?.close()
  await env?.close()
})

beforeEach((context) => {
  if (!browser) context.skip()
})

/** Reloads until `check` holds, as an operator watching the page would. */
async function reloadUntil(page: Page, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`gave up waiting on ${page.url()}`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await page.reload()
  }
}

async function shot(page: Page, name: string) {
  await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true })
}

/** Posts an event as the producer does (the admin key), through the service's API. */
async function produce(data: Record<string, unknown>) {
  const response = await fetch(`${service.url}/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ event: 'book.added', data, owner: 'u1' }),
  })
  expect(response.status).toBe(202)
}

/**
 * An hour of earlier traffic for the overview's charts: three endpoints of other owners, one of
 * which answered 503 (and twice timed out) for a quarter of an hour and is failing again now.
 */
async function seedHistory(hooks: Hooks) {
  const now = Date.now()
  let seed = 7
  const random = () => {
    seed = (seed * 16807) % 2147483647
    return seed / 2147483647
  }
  const subs = [
    await hooks.subscribe({
      owner: 'acme',
      event: 'book.*',
      target: 'https://hooks.acme.example/orders',
    }),
    await hooks.subscribe({
      owner: 'globex',
      event: 'book.added',
      target: 'https://globex.example/webhooks/books',
    }),
    await hooks.subscribe({ owner: 'initech', event: '*', target: 'https://initech.example/tps' }),
  ]
  const events: EventTable[] = []
  const deliveries: DeliveryTable[] = []
  const attempts: AttemptTable[] = []
  let n = 0
  const id = (prefix: string, at: number) =>
    `${prefix}_${encodeTime(at, 10)}${String(n++).padStart(16, '0')}`
  for (let minute = 59; minute >= 1; minute--) {
    const count = 12 + Math.floor(random() * 10) + (minute % 15 === 0 ? 15 : 0)
    for (let i = 0; i < count; i++) {
      const at = now - minute * 60_000 + Math.floor(random() * 60_000)
      const sub = subs[i % 3] as (typeof subs)[number]
      const outage = sub === subs[2] && minute >= 20 && minute <= 35
      const failingNow = sub === subs[2] && minute <= 4
      const status = outage || failingNow ? (random() < 0.15 ? null : 503) : 200
      const duration =
        status === null ? 15_000 : Math.round(40 + random() ** 3 * (outage ? 900 : 260))
      const event = {
        id: id('evt', at),
        name: 'book.added',
        owner: sub.owner,
        data: `{"id":${n}}`,
        ref: null,
        created_at: at,
      }
      const delivery: DeliveryTable = {
        id: id('dlv', at),
        event_id: event.id,
        subscription_id: sub.id,
        owner: sub.owner,
        status: status === 200 ? 'succeeded' : 'failed',
        attempts: 1,
        next_attempt_at: at,
        lease_token: null,
        body: null,
        last_status: status,
        last_error:
          status === 200 ? null : status === null ? 'timed out after 15000 ms' : 'HTTP 503',
        created_at: at,
        updated_at: at + duration,
      }
      events.push(event)
      deliveries.push(delivery)
      attempts.push({
        id: id('atm', at + duration),
        delivery_id: delivery.id,
        number: 1,
        started_at: at,
        duration_ms: duration,
        request_headers: '{}',
        request_method: 'POST',
        request_url: sub.target,
        request_body: null,
        response_status: status,
        response_headers: status === null ? null : '{"content-type":"text/plain"}',
        response_body: status === 503 ? 'upstream unavailable' : status === 200 ? 'ok' : null,
        error: delivery.last_error,
      })
    }
  }
  const { db } = hooks.store
  for (let i = 0; i < events.length; i += 100) {
    await db
      .insertInto('resthooks_events')
      .values(events.slice(i, i + 100))
      .execute()
    await db
      .insertInto('resthooks_deliveries')
      .values(deliveries.slice(i, i + 100))
      .execute()
    await db
      .insertInto('resthooks_attempts')
      .values(attempts.slice(i, i + 100))
      .execute()
  }
  await hooks.store.updateSubscription(subs[2]?.id ?? '', undefined, {
    failing_since: now - 4 * 60_000,
  })
}

describe('the dashboard in a real browser', () => {
  it('signs in, subscribes the receiver, and follows a delivery from success to failure to a successful retry', {
    timeout: 90_000,
  }, async () => {
    await seedHistory(env.hooks)
    const context = await (browser as Browser).newContext({
      viewport: { width: 1280, height: 860 },
    })
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: service.url })
    const page = await context.newPage()
    const problems: string[] = []
    // Script errors, CSP violations, and any file of the dashboard that did not load. (A page's
    // own 4xx, such as the sign-in form answering 401 to a wrong key, is logged by Chromium as a
    // failed resource too: those are judged by the assertions, not here.)
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) {
        problems.push(message.text())
      }
    })
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('response', (response) => {
      const url = new URL(response.url())
      if (
        response.status() >= 400 &&
        (url.pathname.includes('/assets/') || url.pathname.endsWith('.json'))
      ) {
        problems.push(`${response.status()} ${url.pathname}`)
      }
    })

    // Sign in: the dashboard sends a stranger to its sign-in page first.
    await page.goto(`${service.url}/admin/subscriptions`)
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in')
    await shot(page, '01-sign-in')
    await page.getByLabel('Admin key', { exact: true }).fill('not-the-key-not-the-key')
    await page.getByRole('button', { name: 'Sign in' }).click()
    await expect
      .poll(() => page.locator('#field-key-error').textContent())
      .toContain('That is not the admin key')
    // The error summary takes the focus, so that a screen reader announces it first.
    expect(await page.locator(':focus').getAttribute('id')).toBe('error-summary')
    await page.getByLabel('Admin key', { exact: true }).fill(ADMIN_KEY)
    await page.getByRole('button', { name: 'Sign in' }).click()
    await page.waitForURL(`${service.url}/admin/subscriptions`)
    const cookies = await context.cookies()
    expect(cookies).toMatchObject([
      { name: 'resthooks_admin_session', httpOnly: true, sameSite: 'Strict', path: '/admin' },
    ])

    // Subscribe the receiver, watching the live preview of the body.
    await page.getByRole('link', { name: 'New subscription' }).click()
    await page.getByLabel('Owner', { exact: true }).fill('u1')
    await page.getByLabel('Event', { exact: true }).fill('book.added')
    await page.getByLabel('Target URL', { exact: true }).fill(`${receiver.url}/hooks`)
    await page.getByLabel('Headers', { exact: true }).fill('X-Api-Key: k-123')
    await page
      .getByLabel('Sample data (JSON)', { exact: true })
      .fill('{"id": 7, "title": "The Two Towers"}')
    await page
      .getByLabel('Template', { exact: true })
      .fill('{"book": "{{data.title}}", "event": "{{event}}"}')
    await expect
      .poll(() => page.locator('#preview-body').textContent())
      .toBe('{"book": "The Two Towers", "event": "book.added"}')
    expect(await page.locator('#preview-source').textContent()).toBe('the sample data below')
    // With the script on, the preview needs no button.
    expect(await page.getByRole('button', { name: 'Update preview' }).isVisible()).toBe(false)
    await page.getByLabel('Template', { exact: true }).fill('{"book": {{data.title}}')
    await expect.poll(() => page.locator('#preview-problem').isVisible()).toBe(true)
    await page.getByLabel('Template', { exact: true }).fill('')
    await expect
      .poll(() => page.locator('#preview-body').textContent())
      .toContain('"type":"book.added"')
    await page.getByRole('heading', { name: 'New subscription' }).scrollIntoViewIfNeeded()
    await shot(page, '02-new-subscription')
    await page.getByRole('button', { name: 'Create subscription' }).click()
    await expect
      .poll(() => page.getByRole('heading', { name: 'Subscription created' }).isVisible())
      .toBe(true)
    const secret = await page.locator('#secret').textContent()
    expect(secret).toMatch(/^whsec_/)
    await page.getByRole('button', { name: 'Copy' }).click()
    await expect.poll(() => page.getByRole('button', { name: 'Copied' }).isVisible()).toBe(true)
    expect(await page.evaluate('navigator.clipboard.readText()')).toBe(secret)
    await shot(page, '03-secret')
    await page.getByRole('link', { name: 'Go to the subscription' }).click()
    const subscriptionUrl = page.url()

    // An event happens; its delivery shows up with its attempt.
    await produce({ id: 1, title: 'Dune' })
    await receiver.waitFor(1)
    expect(receiver.requests[0]?.headers['x-api-key']).toBe('k-123')
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click()
    await page.getByLabel('Owner', { exact: true }).fill('u1')
    await page.getByRole('button', { name: 'Filter' }).click()
    await reloadUntil(
      page,
      async () =>
        (await page.locator('tbody tr').count()) === 1 &&
        (await page.locator('tbody').textContent())?.includes('succeeded') === true,
    )
    await page.locator('tbody tr a').first().click()
    await expect
      .poll(() => page.getByRole('heading', { name: /Attempt 1/ }).textContent())
      .toContain('HTTP 200')
    await shot(page, '04-delivery-succeeded')

    // The receiver breaks: the failure shows with its response.
    receiver.respondWith((_req, res) => {
      res
        .writeHead(500, { 'content-type': 'text/plain', 'x-trace': 'abc' })
        .end('receiver broke <b>badly</b>')
    })
    await produce({ id: 2, title: 'Emma' })
    await page.goto(`${service.url}/admin/deliveries?owner=u1&status=failed`)
    await reloadUntil(page, async () => (await page.locator('tbody tr').count()) === 1, 20_000)
    await page.locator('tbody tr a').first().click()
    await expect
      .poll(() => page.getByText('receiver broke <b>badly</b>').first().isVisible())
      .toBe(true)
    expect(await page.locator('details.attempt[open]').count()).toBe(1)
    expect(await page.locator('b', { hasText: 'badly' }).count()).toBe(0)
    await expect
      .poll(() => page.getByRole('heading', { name: /Attempt 1/ }).textContent())
      .toContain('HTTP 500')
    await shot(page, '05-delivery-failed')

    // Fixed: retry it from the page, and see it succeed.
    receiver.respondWith((_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain' }).end('thanks'),
    )
    await page.getByRole('button', { name: 'Retry now' }).click()
    await expect
      .poll(() => page.getByText('Queued: the delivery will be attempted again now.').isVisible())
      .toBe(true)
    await reloadUntil(
      page,
      async () => (await page.locator('p .badge').first().textContent()) === 'succeeded',
    )
    const headings = await page.getByRole('heading', { name: /^Attempt \d/ }).allTextContents()
    // Newest first: the retry's success, then the failures.
    expect(headings[0]).toContain('HTTP 200')
    expect(headings.length).toBeGreaterThan(1)
    expect(headings.slice(1).every((h) => h.includes('HTTP 500'))).toBe(true)
    await shot(page, '06-delivery-retried')

    // The subscription page tells the same story; the overview draws it.
    await page.goto(subscriptionUrl)
    await expect.poll(() => page.getByText('Recent deliveries').isVisible()).toBe(true)
    await shot(page, '07-subscription')
    // The overview's charts draw, and refresh themselves every 30 seconds (on a fake clock here).
    await page.clock.install()
    await page.getByRole('link', { name: 'Overview' }).click()
    await page.clock.runFor(1000)
    await page.locator('#chart-outcomes .uplot canvas').waitFor()
    await page.locator('#chart-latency .uplot canvas').waitFor()
    const refreshed = page.waitForResponse((r) =>
      r.url().includes('/admin/overview.json?window=1h'),
    )
    await page.clock.runFor(30_000)
    expect((await refreshed).status()).toBe(200)
    expect(await page.getByText('initech').first().isVisible()).toBe(true)
    await shot(page, '08-overview')
    // The README's picture is refreshed on request only, so that test runs leave the tree clean.
    if (process.env.RESTHOOKS_UPDATE_DOCS_SCREENSHOT === '1') {
      copyFileSync(`${screenshots}08-overview.png`, overviewForDocs)
    }

    await page.getByRole('link', { name: 'Subscriptions' }).click()
    await shot(page, '09-subscriptions')
    await page.getByRole('link', { name: 'Deliveries', exact: true }).click()
    await shot(page, '10-deliveries')

    // Keyboard: the first Tab reaches the skip link, which moves focus to the content.
    await page.keyboard.press('Tab')
    expect(await page.locator(':focus').textContent()).toBe('Skip to content')

    // Sign out: the dashboard is closed again.
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.waitForURL(/\/admin\/sign-in/)
    await page.goto(`${service.url}/admin/`)
    expect(new URL(page.url()).pathname).toBe('/admin/sign-in')

    expect(problems, 'no script errors and no Content-Security-Policy violations').toEqual([])
    await context.close()
  })
})
