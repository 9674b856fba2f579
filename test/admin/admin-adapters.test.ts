import { once } from 'node:events'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import express from 'express'
import { afterEach, describe, expect, it } from 'vitest'
import { toExpress } from '../../src/http/adapters/express.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { ADMIN_KEY } from './admin-client.ts'

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

/** The dashboard in Express under /ops, with or without a body parser that reads forms first. */
async function mounted(parserFirst: boolean) {
  const env = await bookstoreHooks()
  opened.push(env)
  const app = express()
  if (parserFirst) app.use(express.urlencoded({ extended: false }))
  app.use('/ops', toExpress(env.hooks.admin({ adminKey: ADMIN_KEY, basePath: '/ops' })))
  const server: Server = app.listen(0, '127.0.0.1')
  await once(server, 'listening')
  opened.push({ close: () => new Promise((resolve) => server.close(() => resolve())) })
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return { env, origin }
}

describe('the dashboard in Express', () => {
  it.each([
    ['mounted before any body parser', false],
    ['behind express.urlencoded()', true],
  ])('signs in and saves a form %s', async (_how, parserFirst) => {
    const { env, origin } = await mounted(parserFirst)
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const form = (fields: Record<string, string>) => ({
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin },
      body: new URLSearchParams(fields).toString(),
      redirect: 'manual' as const,
    })
    const signIn = await fetch(
      `${origin}/ops/sign-in`,
      form({ key: ADMIN_KEY, next: '/ops/subscriptions' }),
    )
    expect(signIn.status).toBe(303)
    expect(signIn.headers.get('location')).toBe('/ops/subscriptions')
    const cookie = signIn.headers.getSetCookie()[0]?.split(';')[0] ?? ''
    expect(signIn.headers.getSetCookie()[0]).toContain('Path=/ops;')

    const page = await (
      await fetch(`${origin}/ops/subscriptions/${sub.id}`, { headers: { cookie } })
    ).text()
    const csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? ''
    const disabled = await fetch(`${origin}/ops/subscriptions/${sub.id}/disable`, {
      ...form({ _csrf: csrf }),
      headers: { ...form({}).headers, cookie },
    })
    expect(disabled.status).toBe(303)
    expect((await env.hooks.getSubscription(sub.id))?.active).toBe(false)
  })
})
