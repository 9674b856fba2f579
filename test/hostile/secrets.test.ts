import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { createRoutes } from '../../src/http/routes.ts'
import {
  ConfigurationError,
  createHooks,
  type Hooks,
  SecretDecryptionError,
} from '../../src/index.ts'
import { isAdminKey } from '../../src/service/admin-key.ts'
import { createApiKey, ownerOfApiKey } from '../../src/service/api-keys.ts'
import { ENCRYPTED_SECRET_PREFIX } from '../../src/subscriptions/secret-box.ts'
import { verifyWebhook, WebhookVerificationError } from '../../src/verify/index.ts'
import { ADMIN_KEY, createClient, subscriptionFields } from '../admin/admin-client.ts'
import { ADMIN, apiEnv, dumpStore } from '../support/api-client.ts'
import { bookEvents, bookstoreHooks } from '../support/bookstore.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from '../support/receiver.ts'
import { temporaryDatabaseOfKind } from '../support/store-kind.ts'

const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.ts')

/**
 * Secrets: a subscription's secret is shown on creation and rotation only; API keys are stored
 * as hashes; `secretEncryptionKey` keeps secrets encrypted at rest while deliveries still verify;
 * receivers tell replays, forgeries and stripped headers apart.
 */

const opened: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

async function receiverFor(): Promise<Receiver> {
  const receiver = await startReceiver()
  opened.push(receiver)
  return receiver
}

/** The forms of a secret that must not show anywhere: whole, and its base64 key alone. */
function forms(secret: string): string[] {
  return [secret, secret.replace(/^whsec_/, '')]
}

function expectNoSecret(text: string, secrets: string[], where: string): void {
  for (const secret of secrets) {
    for (const form of forms(secret)) expect(text.includes(form), where).toBe(false)
  }
}

const KEY = randomBytes(32).toString('base64')

async function subscriptionRow(hooks: Hooks, id: string) {
  return hooks.store.db
    .selectFrom('resthooks_subscriptions')
    .select(['secret', 'previous_secret'])
    .where('id', '=', id)
    .executeTakeFirstOrThrow()
}

function asWebhook(request: ReceivedRequest) {
  return { headers: request.headers, body: request.body }
}

describe('subscription secrets are shown on creation and rotation only', () => {
  it('no other API route, and no dashboard page or action, returns the secret', async () => {
    const receiver = await receiverFor()
    const env = await apiEnv({ retry: { schedule: [] } })
    opened.push(env)
    const created = await env.call('POST', '/api/hooks', {
      as: 'alice',
      body: { event: 'user.logged_in', target: `${receiver.url}/a`, hmacDigest: 'sha256' },
    })
    const id = created.json.id as string
    const first = created.json.secret as string
    expect(first).toMatch(/^whsec_/)
    await env.hooks.rawEvent('user.logged_in', { n: 1 }, { owner: 'alice' })
    await env.hooks.deliverPending()
    const deliveryId = (await env.hooks.listDeliveries({ subscriptionId: id }))?.data[0]?.id ?? ''

    const rotated = await env.call('POST', `/api/hooks/${id}/rotate-secret`, { as: 'alice' })
    const second = rotated.json.secret as string
    expect(second).toMatch(/^whsec_/)
    expect(second).not.toBe(first)
    expectNoSecret(rotated.text, [first], 'rotate shows the new secret only')
    await env.hooks.rawEvent('user.logged_in', { n: 2 }, { owner: 'alice' })
    await env.hooks.deliverPending()

    // Every API route but the two that hand out a secret, in an order that deletes last.
    const routes = createRoutes(env.hooks)
      .filter(
        (r) => !['POST /hooks', 'POST /hooks/{id}/rotate-secret'].includes(`${r.method} ${r.path}`),
      )
      .sort((a, b) => Number(a.method === 'DELETE') - Number(b.method === 'DELETE'))
    const bodies: Record<string, unknown> = {
      'PATCH /hooks/{id}': { metadata: { changed: true } },
      'POST /hooks/{id}/replay': { since: '2000-01-01T00:00:00Z' },
      'POST /events': { event: 'user.logged_in', owner: 'alice', data: {} },
      'POST /event-types': { events: { 'order.paid': null } },
    }
    // The dashboard on the same engine, signed in.
    const admin = env.hooks.admin({ adminKey: ADMIN_KEY, basePath: '/admin' })
    const operator = createClient(admin)
    await operator.signIn()
    const pages = [
      '/admin/',
      '/admin/overview.json',
      '/admin/subscriptions',
      `/admin/subscriptions/${id}`,
      `/admin/subscriptions/${id}/edit`,
      `/admin/subscriptions/${id}/delete`,
      '/admin/deliveries',
      `/admin/deliveries/${deliveryId}`,
    ]
    for (const path of pages) {
      const page = await operator.get(path)
      expect(page.status, path).toBe(200)
      expectNoSecret(page.text, [first, second], path)
    }
    for (const [action, fields] of [
      [`/admin/subscriptions/${id}`, subscriptionFields({ target: `${receiver.url}/b` })],
      [`/admin/subscriptions/${id}/test`, {}],
      [`/admin/subscriptions/${id}/disable`, {}],
      [`/admin/subscriptions/${id}/enable`, {}],
      ['/admin/preview', subscriptionFields()],
    ] as const) {
      const page = await operator.post(action, fields)
      expect(page.status, action).toBeLessThan(400)
      expectNoSecret(page.text, [first, second], action)
      if (page.location)
        expectNoSecret((await operator.get(page.location)).text, [first, second], page.location)
    }
    for (const route of routes) {
      const key = `${route.method} ${route.path}`
      const path = route.path.replace(
        '{id}',
        route.path.startsWith('/deliveries') ? deliveryId : id,
      )
      const body = bodies[key]
      const response = await env.call(route.method, `/api${path}`, {
        as: route.auth === 'producer' ? ADMIN : 'alice',
        ...(body === undefined ? {} : { body }),
      })
      expect(response.status, `${key}: ${response.text}`).toBeLessThan(300)
      expectNoSecret(response.text, [first, second], key)
    }
    // The dashboard's own rotation shows its new secret, and only that one.
    const other = await env.hooks.subscribe({
      owner: 'bob',
      event: 'user.logged_in',
      target: `${receiver.url}/c`,
    })
    const page = await operator.post(`/admin/subscriptions/${other.id}/rotate-secret`, {})
    expect(page.status).toBe(200)
    expect(page.text).toMatch(/whsec_[A-Za-z0-9+/=]{44}/)
    expectNoSecret(page.text, [other.secret], 'the dashboard rotation')
  })
})

describe('API keys', () => {
  it('are stored as a SHA-256 hash: no row holds the key', async () => {
    const env = await bookstoreHooks()
    opened.push(env)
    const created = await createApiKey(env.hooks.store, 'alice')
    const stored = JSON.stringify(await dumpStore(env.hooks.store))
    expect(stored).not.toContain(created.key)
    expect(stored).not.toContain(created.key.slice('rh_'.length))
    expect(stored).toMatch(/"hash":"[0-9a-f]{64}"/)
    expect(await ownerOfApiKey(env.hooks.store, created.key)).toBe('alice')
    // One character off, or the hash itself offered as the key, authenticates no one.
    const flipped = created.key.slice(0, -1) + (created.key.endsWith('A') ? 'B' : 'A')
    expect(await ownerOfApiKey(env.hooks.store, flipped)).toBeUndefined()
    const hash = /"hash":"([0-9a-f]{64})"/.exec(stored)?.[1] ?? ''
    expect(await ownerOfApiKey(env.hooks.store, hash)).toBeUndefined()
  })

  it('the admin key is compared as fixed-length hashes: any length of guess is a plain no', () => {
    const key = 'k'.repeat(40)
    // timingSafeEqual throws on unequal lengths; comparing hashes makes every guess 32 bytes.
    for (const guess of ['', 'k', 'k'.repeat(39), 'k'.repeat(41), 'x'.repeat(10_000)]) {
      expect(isAdminKey(key, guess)).toBe(false)
    }
    expect(isAdminKey(key, key)).toBe(true)
  })
})

describe('secretEncryptionKey: secrets encrypted at rest', () => {
  it('stores no plaintext secret, and deliveries verify with the secret the subscriber was given', async () => {
    const receiver = await receiverFor()
    const env = await bookstoreHooks({ secretEncryptionKey: KEY, retry: { schedule: [] } })
    opened.push(env)
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'user.logged_in',
      target: `${receiver.url}/h`,
      hmacDigest: 'sha256',
    })
    const row = await subscriptionRow(env.hooks, sub.id)
    expect(row.secret.startsWith(ENCRYPTED_SECRET_PREFIX)).toBe(true)
    expectNoSecret(JSON.stringify(await dumpStore(env.hooks.store)), [sub.secret], 'the database')

    await env.hooks.rawEvent('user.logged_in', { n: 1 }, { owner: 'u1' })
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 1 })
    const [received] = receiver.requests
    if (!received) throw new Error('nothing received')
    const verified = await verifyWebhook(asWebhook(received), sub.secret)
    expect(verified.payload).toMatchObject({ data: { n: 1 } })
    // thorn's Hook-HMAC is keyed by the plaintext secret too.
    const { createHmac } = await import('node:crypto')
    expect(received.headers['hook-hmac']).toBe(
      createHmac('sha256', sub.secret).update(received.body).digest('base64'),
    )

    // Rotation: both secrets stay encrypted, and each alone verifies during the grace period.
    const rotated = await env.hooks.rotateSecret(sub.id)
    if (!rotated) throw new Error('not rotated')
    const after = await subscriptionRow(env.hooks, sub.id)
    expect(after.secret.startsWith(ENCRYPTED_SECRET_PREFIX)).toBe(true)
    expect(after.previous_secret).toBe(row.secret)
    expectNoSecret(
      JSON.stringify(await dumpStore(env.hooks.store)),
      [sub.secret, rotated.secret],
      'the database',
    )
    await env.hooks.rawEvent('user.logged_in', { n: 2 }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const second = receiver.requests[1]
    if (!second) throw new Error('nothing received')
    await expect(verifyWebhook(asWebhook(second), rotated.secret)).resolves.toBeDefined()
    await expect(verifyWebhook(asWebhook(second), sub.secret)).resolves.toBeDefined()
  })

  it('reads plaintext secrets stored before it was set, and encrypts them when rotated', async () => {
    const receiver = await receiverFor()
    const plain = await bookstoreHooks({ retry: { schedule: [] } })
    opened.push(plain)
    const sub = await plain.hooks.subscribe({
      owner: 'u1',
      event: 'user.logged_in',
      target: `${receiver.url}/h`,
    })
    expect((await subscriptionRow(plain.hooks, sub.id)).secret).toBe(sub.secret)

    const encrypted = createHooks({
      store: plain.reopen(),
      events: bookEvents,
      allowTargets: ['127.0.0.0/8'],
      secretEncryptionKey: KEY,
    })
    opened.push(encrypted)
    await encrypted.rawEvent('user.logged_in', { n: 1 }, { owner: 'u1' })
    expect(await encrypted.deliverPending()).toMatchObject({ succeeded: 1 })
    await expect(
      verifyWebhook(asWebhook(receiver.requests[0] as ReceivedRequest), sub.secret),
    ).resolves.toBeDefined()

    const rotated = await encrypted.rotateSecret(sub.id)
    const row = await subscriptionRow(encrypted, sub.id)
    expect(row.secret.startsWith(ENCRYPTED_SECRET_PREFIX)).toBe(true)
    expect(row.previous_secret).toBe(sub.secret) // the old plaintext one, until its grace ends
    await encrypted.rawEvent('user.logged_in', { n: 2 }, { owner: 'u1' })
    await encrypted.deliverPending()
    await expect(
      verifyWebhook(asWebhook(receiver.requests[1] as ReceivedRequest), rotated?.secret ?? ''),
    ).resolves.toBeDefined()
  })

  it.each([
    [
      'a wrong key',
      randomBytes(32).toString('hex'),
      'cannot be decrypted with secretEncryptionKey (RESTHOOKS_SECRET_KEY)',
    ],
    ['no key', undefined, 'secretEncryptionKey (RESTHOOKS_SECRET_KEY) is not set'],
  ])(
    'with %s, nothing is sent: the attempt names the option and the delivery retries',
    async (_case, wrongKey, message) => {
      const receiver = await receiverFor()
      const right = await bookstoreHooks({ secretEncryptionKey: KEY })
      opened.push(right)
      const sub = await right.hooks.subscribe({
        owner: 'u1',
        event: 'user.logged_in',
        target: `${receiver.url}/h`,
      })
      const wrong = createHooks({
        store: right.reopen(),
        events: bookEvents,
        allowTargets: ['127.0.0.0/8'],
        retry: { schedule: [60_000] },
        ...(wrongKey === undefined ? {} : { secretEncryptionKey: wrongKey }),
      })
      opened.push(wrong)
      await wrong.rawEvent('user.logged_in', { n: 1 }, { owner: 'u1' })
      expect(await wrong.deliverPending()).toMatchObject({ succeeded: 0, failed: 1 })
      expect(receiver.requests).toHaveLength(0)
      const [delivery] = (await wrong.listDeliveries({ subscriptionId: sub.id }))?.data ?? []
      const detail = await wrong.getDelivery(delivery?.id ?? '')
      expect(detail?.status).toBe('pending')
      expect(detail?.attempts[0]?.error).toContain(message)
      expect(detail?.attempts[0]?.requestHeaders).toEqual({})
    },
  )

  it.each([
    'short',
    'z'.repeat(64),
    randomBytes(16).toString('base64'),
    randomBytes(33).toString('hex'),
  ])('refuses the malformed key %j at createHooks, naming the option', async (key) => {
    const env = await bookstoreHooks()
    opened.push(env)
    const create = () => createHooks({ store: env.reopen(), secretEncryptionKey: key })
    expect(create).toThrow(ConfigurationError)
    expect(create).toThrow('secretEncryptionKey (RESTHOOKS_SECRET_KEY)')
  })

  it('the CLI reads the key from RESTHOOKS_SECRET_KEY: `resthooks send` signs with it', async () => {
    const receiver = await receiverFor()
    const database = await temporaryDatabaseOfKind()
    opened.push({ close: () => database.remove() })
    const hooks = createHooks({
      store: database.open(),
      events: bookEvents,
      allowTargets: ['127.0.0.0/8'],
      secretEncryptionKey: KEY,
    })
    await hooks.migrate()
    const sub = await hooks.subscribe({
      owner: 'u1',
      event: 'user.logged_in',
      target: `${receiver.url}/h`,
    })
    await hooks.rawEvent('user.logged_in', { n: 1 }, { owner: 'u1' })
    await hooks.close()
    const send = (env: Record<string, string>) =>
      promisify(execFile)(
        process.execPath,
        [CLI, 'send', '--json', '--allow-targets', '127.0.0.0/8', ...database.cliArgs],
        { env: { ...process.env, DATABASE_URL: '', RESTHOOKS_ALLOW_TARGETS: '', ...env } },
      )
    const without = await send({ RESTHOOKS_SECRET_KEY: '' })
    expect(JSON.parse(without.stdout)).toMatchObject({ succeeded: 0, failed: 1 })
    expect(receiver.requests).toHaveLength(0)
    // The failed attempt waits out its retry; make the delivery due again for the second run.
    const reopened = createHooks({ store: database.open(), events: bookEvents })
    await reopened.store.db
      .updateTable('resthooks_deliveries')
      .set({ next_attempt_at: 0 })
      .execute()
    await reopened.close()
    const withKey = await send({ RESTHOOKS_SECRET_KEY: KEY })
    expect(JSON.parse(withKey.stdout)).toMatchObject({ succeeded: 1 })
    await expect(
      verifyWebhook(asWebhook(receiver.requests[0] as ReceivedRequest), sub.secret),
    ).resolves.toBeDefined()
  })

  it('a damaged ciphertext is a SecretDecryptionError, never a request', async () => {
    const { createSecretBox } = await import('../../src/subscriptions/secret-box.ts')
    const box = createSecretBox(KEY)
    const sealed = box.seal('whsec_abc=')
    expect(box.open(sealed)).toBe('whsec_abc=')
    const flipped = sealed.slice(0, -2) + (sealed.endsWith('AA') ? 'BB' : 'AA')
    expect(() => box.open(flipped)).toThrow(SecretDecryptionError)
    expect(() => box.open(`${ENCRYPTED_SECRET_PREFIX}AAAA`)).toThrow(SecretDecryptionError)
    expect(box.seal('whsec_abc=')).not.toBe(sealed) // a fresh nonce each time
  })
})

describe('receivers tell a replay, a forgery and a stripped header apart', () => {
  it('verifyWebhook on a real delivery: timestamp_too_old, invalid_signature, missing_headers', async () => {
    const receiver = await receiverFor()
    const env = await bookstoreHooks()
    opened.push(env)
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'user.logged_in',
      target: `${receiver.url}/h`,
    })
    await env.hooks.rawEvent('user.logged_in', { n: 1 }, { owner: 'u1' })
    await env.hooks.deliverPending()
    const received = receiver.requests[0] as ReceivedRequest
    const sentAt = Number(received.headers['webhook-timestamp']) * 1000

    const codeOf = async (input: Parameters<typeof verifyWebhook>[0], now = sentAt) => {
      try {
        await verifyWebhook(input, sub.secret, { now })
        return 'verified'
      } catch (error) {
        expect(error).toBeInstanceOf(WebhookVerificationError)
        return (error as WebhookVerificationError).code
      }
    }
    expect(await codeOf(asWebhook(received))).toBe('verified')
    // Replayed ten minutes later.
    expect(await codeOf(asWebhook(received), sentAt + 10 * 60_000)).toBe('timestamp_too_old')
    // Another body under the same signature, and a signature made with another secret.
    expect(await codeOf({ headers: received.headers, body: `${received.body} ` })).toBe(
      'invalid_signature',
    )
    const forged = {
      ...received.headers,
      'webhook-signature': 'v1,AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=',
    }
    expect(await codeOf({ headers: forged, body: received.body })).toBe('invalid_signature')
    for (const header of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const { [header]: _dropped, ...rest } = received.headers
      expect(await codeOf({ headers: rest, body: received.body }), header).toBe('missing_headers')
    }
  })
})
