import { expect } from 'vitest'
import type { HooksOptions } from '../../src/index.ts'
import { dumpStore } from '../support/api-client.ts'
import { bookstoreHooks } from '../support/bookstore.ts'

/** The admin key of the test dashboards. */
export const ADMIN_KEY = 'admin-key-for-the-tests-0123456789'
/** Where the test dashboards are mounted. */
export const BASE = '/admin'
const ORIGIN = 'http://dash.test'

/** A response, read. */
export interface Page {
  status: number
  headers: Headers
  text: string
  location: string | null
}

type Handler = (request: Request) => Promise<Response>

/**
 * A browser-like client of a dashboard handler, in-process: it keeps cookies, sends the headers
 * a same-origin form post has (`Origin`, `Sec-Fetch-Site`), and finds the CSRF token in pages.
 */
export function createClient(handler: Handler) {
  const cookies = new Map<string, string>()
  let csrf: string | null = null

  async function send(method: string, path: string, init: RequestInit = {}): Promise<Page> {
    const headers = new Headers(init.headers)
    if (cookies.size > 0 && !headers.has('cookie')) {
      headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '))
    }
    const response = await handler(new Request(`${ORIGIN}${path}`, { ...init, method, headers }))
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';')
      const at = pair.indexOf('=')
      const name = pair.slice(0, at)
      const value = pair.slice(at + 1)
      if (/Max-Age=0/i.test(line)) cookies.delete(name)
      else cookies.set(name, value)
    }
    const text = await response.text()
    const token = /name="_csrf" value="([^"]+)"/.exec(text)?.[1]
    if (token) csrf = token
    return {
      status: response.status,
      headers: response.headers,
      text,
      location: response.headers.get('location'),
    }
  }

  const client = {
    cookies,
    get csrf() {
      return csrf
    },
    get: (path: string, headers: Record<string, string> = {}) => send('GET', path, { headers }),
    /**
     * Posts a form as the dashboard's own page would: with the CSRF token (unless `csrf` says
     * otherwise) and same-origin headers (unless `headers` replace them).
     */
    async post(
      path: string,
      fields: Record<string, string> = {},
      options: { csrf?: string | null; headers?: Record<string, string> } = {},
    ): Promise<Page> {
      if (options.csrf === undefined && csrf === null) await client.get(`${BASE}/`)
      const token = options.csrf === undefined ? csrf : options.csrf
      const body = new URLSearchParams(fields)
      if (token !== null && !('_csrf' in fields)) body.set('_csrf', token)
      return send('POST', path, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: ORIGIN,
          'sec-fetch-site': 'same-origin',
          ...options.headers,
        },
        body: body.toString(),
      })
    },
    /** Signs in with the admin key and checks the session cookie's attributes. */
    async signIn(key = ADMIN_KEY): Promise<Page> {
      const page = await send('POST', `${BASE}/sign-in`, {
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: ORIGIN,
          'sec-fetch-site': 'same-origin',
        },
        body: new URLSearchParams({ key, next: `${BASE}/` }).toString(),
      })
      return page
    },
  }
  return client
}

export type Client = ReturnType<typeof createClient>

/**
 * A dashboard over a fresh bookstore database (SQLite, or PostgreSQL in the postgres project),
 * mounted at /admin with its own sign-in (the admin key), and a signed-in operator.
 */
export async function adminEnv(options: Partial<HooksOptions> = {}) {
  const env = await bookstoreHooks(options)
  const admin = env.hooks.admin({ adminKey: ADMIN_KEY, basePath: BASE })
  const operator = createClient(admin)
  const signedIn = await operator.signIn()
  expect(signedIn.status).toBe(303)
  return {
    ...env,
    admin,
    operator,
    /** A new client without a session. */
    stranger: () => createClient(admin),
    dump: () => dumpStore(env.hooks.store),
  }
}

export type AdminEnv = Awaited<ReturnType<typeof adminEnv>>

/** The text of a page without its markup, with whitespace collapsed (what a reader sees). */
export function visibleText(html: string): string {
  return html
    .replace(/<script[\s\S]*?<\/script>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim()
}

/** The form fields of a new subscription, as the form posts them. */
export function subscriptionFields(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    owner: 'u1',
    event: 'book.added',
    target: 'https://example.com/hooks',
    method: 'POST',
    contentType: 'application/json',
    payload: 'full',
    hmacDigest: '',
    headers: '',
    filter: '',
    template: '',
    metadata: '',
    active: 'on',
    intent: 'save',
    ...overrides,
  }
}

/** Every inline <script> that is not a JSON data block, and every inline event handler. */
export function executableInlineCode(html: string): string[] {
  const found: string[] = []
  for (const match of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
    const attributes = match[1] ?? ''
    if (/type="application\/json"/.test(attributes)) continue
    if ((match[2] ?? '').trim() !== '') found.push(match[0])
  }
  for (const match of html.matchAll(/<[^>]+\son[a-z]+\s*=/gi)) found.push(match[0])
  return found
}
