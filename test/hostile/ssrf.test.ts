import type { LookupAddress } from 'node:dns'
import { afterEach, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../../src/index.ts'
import { apiEnv, expectSuccess } from '../support/api-client.ts'
import { bookEvents, bookstoreHooks } from '../support/bookstore.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

/**
 * The SSRF matrix: every non-public range, IP literals in every spelling, names that resolve to
 * them, a redirect, and DNS rebinding. Each is refused when connecting, with the reason on the
 * attempt, and the receiver never sees a request. Names are resolved by a `lookup` of the
 * test's own (the `lookup` option of createHooks), so that any name can answer any address.
 */

const opened: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

/** A resolver whose answers the test sets per name, and which records what it was asked. */
function fakeDns(initial: Record<string, string> = {}) {
  const answers = new Map(Object.entries(initial))
  const asked: string[] = []
  return {
    asked,
    answers,
    lookup: async (hostname: string): Promise<LookupAddress[]> => {
      asked.push(hostname)
      const address = answers.get(hostname)
      if (address === undefined) {
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' })
      }
      return [{ address, family: address.includes(':') ? 6 : 4 }]
    },
  }
}

/** A receiver that closes every connection, so that each delivery connects (and resolves) anew. */
async function closingReceiver(): Promise<Receiver> {
  const receiver = await startReceiver((_req, res) => {
    res.writeHead(200, { connection: 'close' }).end('ok')
  })
  opened.push(receiver)
  return receiver
}

/** The errors of the attempts of `subscriptionId`'s deliveries, oldest first. */
async function attemptErrors(hooks: Hooks, subscriptionId: string): Promise<(string | null)[]> {
  const deliveries = (await hooks.listDeliveries({ subscriptionId }))?.data ?? []
  const errors: (string | null)[] = []
  for (const delivery of [...deliveries].reverse()) {
    const attempts = (await hooks.getDelivery(delivery.id))?.attempts ?? []
    errors.push(...attempts.map((attempt) => attempt.error))
  }
  return errors
}

/** Every class of address that is not globally routable unicast, with the reason given. */
const BLOCKED: [string, string][] = [
  ['0.0.0.0', 'unspecified address'],
  ['0.1.2.3', 'unspecified address'],
  ['10.1.2.3', 'private address'],
  ['100.64.0.1', 'carrier-grade NAT address'],
  ['100.127.255.254', 'carrier-grade NAT address'],
  ['127.0.0.1', 'loopback address'],
  ['127.255.255.254', 'loopback address'],
  ['169.254.169.254', 'link-local address'],
  ['172.16.0.1', 'private address'],
  ['172.31.255.255', 'private address'],
  ['192.0.0.1', 'reserved address'],
  ['192.0.2.1', 'reserved address'],
  ['192.168.0.1', 'private address'],
  ['198.18.0.1', 'reserved address'],
  ['198.51.100.1', 'reserved address'],
  ['203.0.113.1', 'reserved address'],
  ['224.0.0.1', 'multicast address'],
  ['239.255.255.250', 'multicast address'],
  ['240.0.0.1', 'reserved address'],
  ['255.255.255.255', 'broadcast address'],
  ['::', 'unspecified address'],
  ['::1', 'loopback address'],
  ['::ffff:127.0.0.1', 'loopback address'],
  ['::ffff:169.254.169.254', 'link-local address'],
  ['::ffff:10.0.0.1', 'private address'],
  ['64:ff9b::a9fe:a9fe', 'NAT64 address'],
  ['100::1', 'special-purpose address (discard)'],
  ['2001:db8::1', 'reserved address'],
  ['2002:a9fe:a9fe::', '6to4 address'],
  ['2001::1', 'Teredo address'],
  ['fc00::1', 'unique local address'],
  ['fd12:3456::1', 'unique local address'],
  ['fe80::1', 'link-local address'],
  ['fec0::1', 'special-purpose address (deprecatedSiteLocal)'],
  ['2001:2::1', 'benchmarking address'],
  ['::7f00:1', 'reserved address (outside the global unicast block 2000::/3)'],
  ['::a9fe:a9fe', 'reserved address (outside the global unicast block 2000::/3)'],
  ['ff02::1', 'multicast address'],
]

describe('the SSRF matrix, at connect time', () => {
  it(`refuses a name resolving to each of ${BLOCKED.length} non-public addresses, reason on the attempt`, async () => {
    const receiver = await closingReceiver()
    const dns = fakeDns()
    const env = await bookstoreHooks({
      allowTargets: [],
      lookup: dns.lookup,
      retry: { schedule: [] },
    })
    opened.push(env)
    const subscriptions: { id: string; address: string; reason: string }[] = []
    for (const [index, [address, reason]] of BLOCKED.entries()) {
      dns.answers.set(`h${index}.example.test`, address)
      const target = `http://h${index}.example.test:${receiver.port}/`
      const { id } = await env.hooks.subscribe({ owner: 'u1', event: 'book.added', target })
      subscriptions.push({ id, address, reason })
    }
    await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    const totals = await env.hooks.deliverPending()
    expect(totals).toMatchObject({ exhausted: BLOCKED.length, succeeded: 0 })
    expect(receiver.requests).toHaveLength(0)
    for (const { id, address, reason } of subscriptions) {
      const [error] = await attemptErrors(env.hooks, id)
      expect(error, address).toContain(`(${address}) refused: ${reason}`)
    }
  })

  // Regression: ipaddr.js calls ::/96 (IPv4-compatible, deprecated) and the rest of IPv6 outside
  // 2000::/3 'unicast', and the guard admitted them: ::127.0.0.1 passed as a public address.
  it('refuses IPv6 outside 2000::/3, such as the IPv4-compatible ::127.0.0.1 (regression)', async () => {
    const dns = fakeDns({
      'compat.example.test': '::7f00:1',
      'public.example.test': '2606:4700::1111',
    })
    const env = await bookstoreHooks({
      allowTargets: [],
      lookup: dns.lookup,
      retry: { schedule: [] },
    })
    opened.push(env)
    for (const literal of ['http://[::127.0.0.1]/', 'http://[::2]/', 'http://[1::1]/']) {
      await expect(
        env.hooks.subscribe({ owner: 'u1', event: 'book.added', target: literal }),
      ).rejects.toMatchObject({ errors: [{ field: 'target' }] })
    }
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'http://compat.example.test/',
    })
    await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    await env.hooks.deliverPending()
    expect(await attemptErrors(env.hooks, sub.id)).toEqual([
      expect.stringContaining('(::7f00:1) refused: reserved address (outside the global unicast'),
    ])
    // A global unicast address is still admitted by the guard.
    await expect(
      env.hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: 'http://[2606:4700::1111]/',
      }),
    ).resolves.toMatchObject({ target: 'http://[2606:4700::1111]/' })
  })

  it('refuses a name when any one of its addresses is not public', async () => {
    const receiver = await closingReceiver()
    const env = await bookstoreHooks({
      allowTargets: ['127.0.0.1/32'],
      retry: { schedule: [] },
      lookup: async () => [
        { address: '127.0.0.1', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
    })
    opened.push(env)
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `http://mixed.example.test:${receiver.port}/`,
    })
    await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    await env.hooks.deliverPending()
    expect(receiver.requests).toHaveLength(0)
    expect(await attemptErrors(env.hooks, sub.id)).toEqual([
      expect.stringContaining('(169.254.169.254) refused: link-local address'),
    ])
  })

  it.each([
    ['http://2130706433/', '127.0.0.1'],
    ['http://0x7f.1/', '127.0.0.1'],
    ['http://017700000001/', '127.0.0.1'],
    ['http://0x7f000001/', '127.0.0.1'],
    ['http://0177.0.0.1/', '127.0.0.1'],
    ['http://127.1/', '127.0.0.1'],
    ['http://2852039166/', '169.254.169.254'],
    ['http://0xa9.0xfe.0xa9.0xfe/', '169.254.169.254'],
    ['http://0/', '0.0.0.0'],
    ['http://[::ffff:7f00:1]/', '::ffff:7f00:1'],
    ['http://[0:0:0:0:0:ffff:127.0.0.1]/', '::ffff:7f00:1'],
    ['http://[::]/', '::'],
    ['http://[fd00::1]/', 'fd00::1'],
  ])(
    'refuses the literal %s when subscribing, and at connect time if stored before',
    async (target, address) => {
      const receiver = await closingReceiver()
      const strict = await bookstoreHooks({ allowTargets: [], retry: { schedule: [] } })
      opened.push(strict)
      await expect(
        strict.hooks.subscribe({ owner: 'u1', event: 'book.added', target }),
      ).rejects.toMatchObject({ errors: [{ field: 'target' }] })
      // A subscription saved while the operator admitted everything, then delivered by an
      // instance that does not: the agent judges the literal as it connects.
      const lax = createHooks({ store: strict.reopen(), ssrfGuard: false, events: bookEvents })
      const sub = await lax.subscribe({ owner: 'u1', event: 'book.added', target })
      await lax.close()
      await strict.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
      expect(await strict.hooks.deliverPending()).toMatchObject({ exhausted: 1 })
      expect(receiver.requests).toHaveLength(0)
      const [error] = await attemptErrors(strict.hooks, sub.id)
      expect(error).toMatch(/refused: /)
      expect(error).toContain(address)
    },
  )

  it('never follows a redirect, not even to an admitted address', async () => {
    const elsewhere = await closingReceiver()
    for (const location of [
      `${elsewhere.url}/stolen`,
      'http://169.254.169.254/latest/meta-data/',
    ]) {
      const redirecting = await startReceiver((_req, res) => {
        res.writeHead(302, { location, connection: 'close' }).end()
      })
      opened.push(redirecting)
      const env = await bookstoreHooks({ retry: { schedule: [] } })
      opened.push(env)
      const sub = await env.hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${redirecting.url}/hook`,
      })
      await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
      expect(await env.hooks.deliverPending()).toMatchObject({ exhausted: 1 })
      expect(redirecting.requests).toHaveLength(1)
      expect(await attemptErrors(env.hooks, sub.id)).toEqual(['HTTP 302'])
    }
    expect(elsewhere.requests).toHaveLength(0)
  })

  it('DNS rebinding: a name that was public is refused once it resolves to a private address', async () => {
    const receiver = await closingReceiver()
    // 127.0.0.1 stands for the public address here: it is the only one admitted.
    const dns = fakeDns({ 'rebind.example.test': '127.0.0.1' })
    const env = await bookstoreHooks({
      allowTargets: ['127.0.0.1/32'],
      lookup: dns.lookup,
      retry: { schedule: [] },
    })
    opened.push(env)
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `http://rebind.example.test:${receiver.port}/`,
    })
    await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 1 })
    expect(receiver.requests).toHaveLength(1)

    for (const rebound of ['169.254.169.254', '10.0.0.7', '::1']) {
      dns.answers.set('rebind.example.test', rebound)
      await env.hooks.modelEvent('Book', 'created', { id: 2, ownerId: 'u1' })
      expect(await env.hooks.deliverPending()).toMatchObject({ exhausted: 1 })
    }
    expect(receiver.requests).toHaveLength(1)
    const errors = await attemptErrors(env.hooks, sub.id)
    expect(errors).toEqual([
      null,
      expect.stringContaining('(169.254.169.254) refused: link-local address'),
      expect.stringContaining('(10.0.0.7) refused: private address'),
      expect.stringContaining('(::1) refused: loopback address'),
    ])
    // Resolved when delivering, every time, not once when subscribing.
    expect(dns.asked.filter((name) => name === 'rebind.example.test')).toHaveLength(4)
  })

  it('the test event (POST /hooks/{id}/test) goes through the same guard', async () => {
    const receiver = await closingReceiver()
    const dns = fakeDns({ 'meta.example.test': '169.254.169.254' })
    const env = await apiEnv({ allowTargets: [], lookup: dns.lookup, retry: { schedule: [] } })
    opened.push(env)
    const created = await env.call('POST', '/api/hooks', {
      as: 'alice',
      body: { event: 'user.logged_in', target: `http://meta.example.test:${receiver.port}/` },
    })
    const { id } = expectSuccess(env, 'POST /hooks', created)
    const test = await env.call('POST', `/api/hooks/${id}/test`, { as: 'alice' })
    expectSuccess(env, 'POST /hooks/{id}/test', test)
    expect(await env.hooks.deliverPending()).toMatchObject({ exhausted: 1 })
    expect(receiver.requests).toHaveLength(0)
    const log = await env.call('GET', `/api/hooks/${id}/deliveries`, { as: 'alice' })
    const delivery = await env.call('GET', `/api/deliveries/${log.json.data[0].id}`, {
      as: 'alice',
    })
    expect(delivery.json.attempts[0].error).toContain(
      'meta.example.test (169.254.169.254) refused: link-local address',
    )
  })
})
