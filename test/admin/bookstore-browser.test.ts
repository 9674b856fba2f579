/**
 * The bookstore demo in a real browser (issue 7): through the dashboard alone, subscribe the
 * demo's receiver, create a book through the demo's API, see the delivery with its attempt, make
 * the receiver fail with its switch, see the failure and its response, retry, see it succeed.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest'
import { launchChromium } from '../support/browser.ts'
import { until } from '../support/shell.ts'
import { temporaryDatabase } from '../support/sqlite-file.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url))
const ADMIN_KEY = 'rh_admin_bookstore-browser-test-key'

let browser: Browser | null = null
let demo: ChildProcess | undefined
let url = ''
const database = temporaryDatabase('bookstore-browser.db')

beforeAll(async () => {
  const launched = await launchChromium()
  if ('skip' in launched) return
  browser = launched.browser
  mkdirSync(screenshots, { recursive: true })
  demo = spawn(process.execPath, ['examples/bookstore/main.ts'], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', BOOKSTORE_DB: database.path, RESTHOOKS_ADMIN_KEY: ADMIN_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let printed = ''
  demo.stdout?.on('data', (chunk: Buffer) => {
    printed += chunk
  })
  await until(() => printed.includes('Ctrl-C stops'), 30_000)
  url = /resthooks bookstore demo: (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1] ?? ''
}, 60_000)

afterAll(async () => {
  await browser?.close()
  if (demo && demo.exitCode === null) {
    const exited = new Promise((resolve) => demo?.once('exit', resolve))
    demo.kill('SIGTERM')
    await exited
  }
  database.remove()
})

beforeEach((context) => {
  if (!browser) context.skip()
})

async function reloadUntil(page: Page, check: () => Promise<boolean>, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`gave up waiting on ${page.url()}`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await page.reload()
  }
}

async function addBook(title: string): Promise<void> {
  const response = await fetch(`${url}/books`, {
    method: 'POST',
    headers: { authorization: 'Bearer demo-bob', 'content-type': 'application/json' },
    body: JSON.stringify({ title, author: 'Someone' }),
  })
  expect(response.status).toBe(201)
}

it('the bookstore demo through its dashboard: subscribe the receiver, a book is delivered, the receiver fails, a retry succeeds', async () => {
  const page = await (browser as Browser).newPage()

  await page.goto(`${url}/admin/subscriptions`)
  await page.getByLabel('Admin key', { exact: true }).fill(ADMIN_KEY)
  await page.getByRole('button', { name: 'Sign in' }).click()
  await page.waitForURL(`${url}/admin/subscriptions`)

  // bob has no subscription yet: the operator subscribes the demo receiver for him.
  await page.getByRole('link', { name: 'New subscription' }).click()
  await page.getByLabel('Owner', { exact: true }).fill('bob')
  await page.getByLabel('Event', { exact: true }).fill('book.added')
  await page.getByLabel('Target URL', { exact: true }).fill(`${url}/receiver/inbox`)
  await page.getByRole('button', { name: 'Create subscription' }).click()
  await expect
    .poll(() => page.getByRole('heading', { name: 'Subscription created' }).isVisible())
    .toBe(true)

  // bob adds a book through the demo's API: its delivery shows with its attempt.
  await addBook('Beloved')
  await page.goto(`${url}/admin/deliveries?owner=bob`)
  await reloadUntil(page, async () =>
    ((await page.locator('tbody').textContent()) ?? '').includes('succeeded'),
  )
  await page.locator('tbody tr a').first().click()
  await expect
    .poll(() => page.getByRole('heading', { name: /Attempt 1/ }).textContent())
    .toContain('HTTP 204')
  await page.screenshot({ path: `${screenshots}bookstore-1-delivered.png`, fullPage: true })

  // The receiver's switch makes it fail: the next book's delivery fails, with its response.
  await page.goto(`${url}/receiver`)
  await page.getByRole('button', { name: 'Make the receiver fail' }).click()
  await expect.poll(() => page.getByText('Answering 500 to every webhook.').isVisible()).toBe(true)
  await addBook('Jazz')
  await page.goto(`${url}/admin/deliveries?owner=bob`)
  await reloadUntil(page, async () => (await page.locator('tbody tr').count()) === 2)
  await page.locator('tbody tr', { hasNotText: 'succeeded' }).locator('a').first().click()
  await reloadUntil(page, async () =>
    ((await page.getByRole('heading', { name: /Attempt 1/ }).textContent()) ?? '').includes(
      'HTTP 500',
    ),
  )
  await expect
    .poll(() => page.getByText('the demo receiver is set to fail').first().isVisible())
    .toBe(true)
  const failedDelivery = page.url()
  await page.screenshot({ path: `${screenshots}bookstore-2-failed.png`, fullPage: true })

  // Fixed: back to normal, retry from the dashboard, and see it succeed.
  await page.goto(`${url}/receiver`)
  await page.getByRole('button', { name: 'Answer normally again' }).click()
  await page.goto(failedDelivery)
  await page.getByRole('button', { name: 'Retry now' }).click()
  await reloadUntil(
    page,
    async () => (await page.locator('p .badge').first().textContent()) === 'succeeded',
  )
  const headings = await page.getByRole('heading', { name: /^Attempt \d/ }).allTextContents()
  expect(headings[0]).toContain('HTTP 204')
  expect(headings.at(-1)).toContain('HTTP 500')
  await page.screenshot({ path: `${screenshots}bookstore-3-retried.png`, fullPage: true })
}, 90_000)
