import { Webhook } from 'standardwebhooks'
import { afterEach, describe, expect, it } from 'vitest'
import { type SubscribeInput, ValidationError } from '../src/index.ts'
import { verifyWebhook, WebhookVerificationError } from '../src/verify/index.ts'
import { bookstoreHooks } from './support/bookstore.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from './support/receiver.ts'

type Env = Awaited<ReturnType<typeof bookstoreHooks>>

const opened: Env[] = []
const receivers: Receiver[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((env) => env.close()))
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()))
})

async function setup(options: Parameters<typeof bookstoreHooks>[0] = {}) {
  const env = await bookstoreHooks(options)
  opened.push(env)
  return env.hooks
}

async function receiver() {
  const started = await startReceiver()
  receivers.push(started)
  return started
}

const DAY = 24 * 60 * 60 * 1000
const SECRET = /^whsec_[A-Za-z0-9+/]{43}=$/
const HOOK_ID = /^hook_[0-9A-HJKMNP-TV-Z]{26}$/
const book = { id: 1, title: 'Dune', ownerId: 'u1' }
const valid = { owner: 'u1', event: 'book.added', target: 'https://example.com/hooks' }

/** Input as an untyped caller (JavaScript, a parsed request body) may pass it. */
function loose(input: Record<string, unknown>): SubscribeInput {
  return input as unknown as SubscribeInput
}

/** The ValidationError `promise` rejects with; fails the test when it resolves or throws else. */
async function validationError(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => {
      throw new Error('expected a ValidationError, but the call succeeded')
    },
    (caught: unknown) => caught,
  )
  expect(error).toBeInstanceOf(ValidationError)
  return error as ValidationError
}

/** The message of the error on `field`; fails the test when there is none. */
function messageFor(error: ValidationError, field: string): string {
  const found = error.errors.find((e) => e.field === field)
  expect(found, `no error on '${field}' in ${JSON.stringify(error.errors)}`).toBeDefined()
  expect(found?.message).not.toBe('')
  return found?.message ?? ''
}

/** The only request the receiver got. */
function onlyRequest(at: Receiver): ReceivedRequest {
  expect(at.requests).toHaveLength(1)
  const [request] = at.requests
  if (!request) throw new Error('nothing arrived')
  return request
}

/** The `v1,` signatures of a received request. */
function signaturesOf(request: ReceivedRequest): string[] {
  return String(request.headers['webhook-signature']).split(' ')
}

/** The request as it would be with only `signature` in its webhook-signature header. */
function withOnlySignature(request: ReceivedRequest, signature: string) {
  return { headers: { ...request.headers, 'webhook-signature': signature }, body: request.body }
}

/** Whether verifyWebhook accepts `input` signed with `secret` alone (at `now`, if given). */
async function accepts(
  input: { headers: ReceivedRequest['headers']; body: string },
  secret: string,
  now?: number,
): Promise<boolean> {
  try {
    await verifyWebhook(input, secret, now === undefined ? {} : { now })
    return true
  } catch (error) {
    expect(error).toBeInstanceOf(WebhookVerificationError)
    expect((error as WebhookVerificationError).code).toBe('invalid_signature')
    return false
  }
}

describe('subscribing', () => {
  it('returns the new subscription with its defaults and a whsec_ secret shown this once', async () => {
    let clock = Date.parse('2030-01-02T03:04:05.678Z')
    const hooks = await setup({ now: () => clock })
    const sub = await hooks.subscribe(valid)
    expect(sub).toEqual({
      id: expect.stringMatching(HOOK_ID),
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/hooks',
      active: true,
      status: 'active',
      disabledReason: null,
      method: 'POST',
      contentType: 'application/json',
      headers: {},
      filter: null,
      template: null,
      payload: 'full',
      hmacDigest: null,
      metadata: {},
      createdAt: '2030-01-02T03:04:05.678Z',
      updatedAt: '2030-01-02T03:04:05.678Z',
      secret: expect.stringMatching(SECRET),
    })
    expect(Buffer.from(sub.secret.slice('whsec_'.length), 'base64')).toHaveLength(32)
    clock += 1000
    const other = await hooks.subscribe(valid)
    expect(other.secret).not.toBe(sub.secret)
    expect(other.id).not.toBe(sub.id)
  })

  it('stores the optional fields it is given', async () => {
    const hooks = await setup()
    // Typed as the exported SubscribeInput, which subscribe() must take as it is.
    const input: SubscribeInput = {
      ...valid,
      event: 'book.*',
      method: 'PUT',
      headers: { 'X-Api-Key': 'k1', authorization: 'Bearer t' },
      payload: 'thin',
      hmacDigest: 'sha512',
      metadata: { label: 'zapier', n: 3 },
    }
    const sub = await hooks.subscribe(input)
    const { secret: _secret, ...stored } = sub
    expect(await hooks.getSubscription(sub.id)).toEqual(stored)
    expect(stored).toMatchObject({
      event: 'book.*',
      method: 'PUT',
      headers: { 'X-Api-Key': 'k1', authorization: 'Bearer t' },
      payload: 'thin',
      hmacDigest: 'sha512',
      metadata: { label: 'zapier', n: 3 },
    })
  })

  it('creates a subscription disabled by its owner when asked with active: false', async () => {
    const hooks = await setup()
    const sub = await hooks.subscribe({ ...valid, active: false })
    expect(sub.active).toBe(false)
    expect(sub.status).toBe('disabled')
    expect(sub.disabledReason).toEqual(expect.any(String))
  })

  it('never shows the secret again when the subscription is read, listed or changed', async () => {
    const hooks = await setup()
    const { id, secret } = await hooks.subscribe(valid)
    const read = await hooks.getSubscription(id)
    const listed = await hooks.listSubscriptions({ owner: 'u1' })
    const changed = await hooks.updateSubscription(id, { metadata: { a: 1 } })
    for (const view of [read, listed.data[0], changed]) {
      expect(view?.id).toBe(id)
      expect(view).not.toHaveProperty('secret')
      expect(JSON.stringify(view)).not.toContain(secret.slice('whsec_'.length))
    }
  })
})

describe('subscription validation', () => {
  const headerField = (name: string) => `headers.${name}`
  const cases: [string, Record<string, unknown>, string, RegExp?][] = [
    ['an unknown event', { event: 'book.sold' }, 'event', /matches no registered event/],
    ['a pattern that matches nothing', { event: 'order.*' }, 'event', /matches no registered/],
    ['a malformed pattern', { event: 'book*' }, 'event', /not an event name or pattern/],
    ['an empty event', { event: '' }, 'event'],
    ['a malformed URL', { target: 'not a url' }, 'target', /http/],
    ['a URL without a scheme', { target: 'example.com/hooks' }, 'target'],
    ['an ftp:// URL', { target: 'ftp://example.com/hooks' }, 'target', /ftp/],
    ['a javascript: URL', { target: 'javascript:alert(1)' }, 'target', /javascript/],
    ['a file: URL', { target: 'file:///etc/passwd' }, 'target'],
    ['a header name with CR/LF', { headers: { 'x-a\r\nx-b': '1' } }, headerField('x-a\r\nx-b')],
    ['a header name with a space', { headers: { 'x a': '1' } }, headerField('x a')],
    ['a header value with CR/LF', { headers: { 'x-a': '1\r\nx-b: 2' } }, headerField('x-a')],
    ['a header value with LF', { headers: { 'x-a': '1\nx-b: 2' } }, headerField('x-a')],
    ['a header value HTTP cannot carry (€)', { headers: { 'x-a': '5 €' } }, headerField('x-a')],
    ['the host header', { headers: { host: 'evil.example' } }, headerField('host'), /reserved/],
    ['content-length', { headers: { 'content-length': '1' } }, headerField('content-length')],
    ['content-type', { headers: { 'content-type': 'text/plain' } }, headerField('content-type')],
    [
      'a Webhook-Signature header',
      { headers: { 'Webhook-Signature': 'v1,forged' } },
      headerField('Webhook-Signature'),
      /reserved/,
    ],
    [
      'a filter with an unknown operator',
      { filter: { status: { equals: 'paid' } } },
      'filter.status.equals',
    ],
    [
      'a filter with a catastrophic regex',
      { filter: { title: { matches: '(a+)+$' } } },
      'filter.title.matches',
    ],
    ['a template with an unclosed section', { template: '{"id": {{#data}}1' }, 'template'],
    [
      'a JSON template that is not JSON',
      { template: '{"id": {{data.id}}' },
      'template',
      /invalid JSON/,
    ],
    [
      'an XML template that is not XML',
      { contentType: 'application/xml', template: '<a>{{event}}' },
      'template',
    ],
    ['a content type we cannot render', { contentType: 'text/plain' }, 'contentType'],
    ['a misspelt field', { targt: 'https://example.com/x' }, 'targt', /unknown field/],
    [
      'a target with credentials in it',
      { target: 'https://user:pw@example.com/hooks' },
      'target',
      /credentials/,
    ],
    [
      'a header given twice in different cases',
      { headers: { 'X-A': '1', 'x-a': '2' } },
      headerField('x-a'),
    ],
    ['a target that is not a string', { target: 42 }, 'target'],
    ['an active that is not a boolean', { active: 'yes' }, 'active'],
    ['a method other than POST, PUT, PATCH', { method: 'GET' }, 'method'],
    ['headers that are not an object', { headers: 'x-a: 1' }, 'headers'],
    ['a header value that is not a string', { headers: { 'x-a': 1 } }, headerField('x-a')],
    ['a payload other than full or thin', { payload: 'fat' }, 'payload'],
    ['an unknown hmacDigest', { hmacDigest: 'md5' }, 'hmacDigest'],
    ['metadata that is not an object', { metadata: 'x' }, 'metadata'],
  ]

  it.each(cases)(
    'refuses %s, naming the field, and stores nothing',
    async (_why, change, field, message) => {
      const hooks = await setup()
      await hooks.subscribe(valid)
      const before = await hooks.listSubscriptions({ owner: 'u1' })
      const error = await validationError(hooks.subscribe(loose({ ...valid, ...change })))
      const text = messageFor(error, field)
      if (message) expect(text).toMatch(message)
      expect(error.message).toContain(field)
      expect(await hooks.listSubscriptions({ owner: 'u1' })).toEqual(before)
    },
  )

  it.each([
    ['owner', { event: 'book.added', target: 'https://example.com/hooks' }],
    ['event', { owner: 'u1', target: 'https://example.com/hooks' }],
    ['target', { owner: 'u1', event: 'book.added' }],
  ])('refuses a subscription without %s', async (field, input) => {
    const hooks = await setup()
    const error = await validationError(hooks.subscribe(loose(input)))
    messageFor(error, field)
    expect((await hooks.listSubscriptions({ owner: 'u1' })).data).toEqual([])
  })

  it('reports every invalid field of one call at once', async () => {
    const hooks = await setup()
    const error = await validationError(
      hooks.subscribe(loose({ ...valid, target: 'ftp://x', method: 'GET' })),
    )
    expect(error.errors.map((e) => e.field).sort()).toEqual(['method', 'target'])
  })

  it.each([
    ['a private address', 'http://10.0.0.1/', /private/],
    ['loopback', 'http://127.0.0.1:8080/hooks', /loopback/],
    ['IPv6 loopback', 'http://[::1]/hooks', /loopback/],
    ['an IPv4-mapped private address', 'http://[::ffff:10.0.0.1]/', /private/],
    ['the cloud metadata address', 'http://169.254.169.254/latest/meta-data', /link-local/],
  ])(
    'refuses a target at %s at subscribe time unless allow-listed',
    async (_why, target, reason) => {
      const hooks = await setup({ allowTargets: [] })
      const error = await validationError(hooks.subscribe({ ...valid, target }))
      expect(messageFor(error, 'target')).toMatch(reason)
      expect((await hooks.listSubscriptions({ owner: 'u1' })).data).toEqual([])
    },
  )

  it('accepts an IP-literal target that allowTargets admits, and host names as they are', async () => {
    const hooks = await setup({ allowTargets: ['10.0.0.0/8'] })
    await expect(hooks.subscribe({ ...valid, target: 'http://10.0.0.1/' })).resolves.toMatchObject({
      target: 'http://10.0.0.1/',
    })
    // Names are judged when connecting, where their addresses are known.
    await expect(
      hooks.subscribe({ ...valid, target: 'http://localhost/hooks' }),
    ).resolves.toMatchObject({ target: 'http://localhost/hooks' })
  })

  it('accepts a Latin-1 header value and delivers it as given', async () => {
    const hooks = await setup()
    const at = await receiver()
    await hooks.subscribe({ ...valid, target: at.url, headers: { 'x-team': 'café crème' } })
    await hooks.modelEvent('Book', 'created', book)
    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 1, failed: 0 })
    expect(onlyRequest(at).headers['x-team']).toBe('café crème')
  })
})

describe('owner scoping', () => {
  it('answers as if another owner’s subscription did not exist, and changes nothing', async () => {
    const hooks = await setup()
    const at = await receiver()
    const sub = await hooks.subscribe({ ...valid, target: at.url })
    const { secret, ...stored } = sub
    const stranger = { owner: 'u2' }

    expect(await hooks.getSubscription(sub.id, stranger)).toBeUndefined()
    expect(
      await hooks.updateSubscription(sub.id, { target: 'https://evil.example/' }, stranger),
    ).toBeUndefined()
    expect(await hooks.updateSubscription(sub.id, { active: false }, stranger)).toBeUndefined()
    expect(await hooks.rotateSecret(sub.id, stranger)).toBeUndefined()
    expect(await hooks.unsubscribe(sub.id, stranger)).toBe(false)
    expect(await hooks.listSubscriptions({ owner: 'u2' })).toEqual({ data: [], next: null })

    expect(await hooks.getSubscription(sub.id, { owner: 'u1' })).toEqual(stored)
    // The secret was not rotated: deliveries are signed with the original one alone.
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const request = onlyRequest(at)
    expect(signaturesOf(request)).toHaveLength(1)
    expect(await accepts(request, secret)).toBe(true)
  })

  it('answers unknown ids like another owner’s', async () => {
    const hooks = await setup()
    const unknown = 'hook_01JD0000000000000000000000'
    expect(await hooks.getSubscription(unknown)).toBeUndefined()
    expect(await hooks.updateSubscription(unknown, { active: false })).toBeUndefined()
    expect(await hooks.rotateSecret(unknown)).toBeUndefined()
    expect(await hooks.unsubscribe(unknown)).toBe(false)
  })
})

describe('listing subscriptions', () => {
  async function fourSubscriptions() {
    const hooks = await setup()
    const first = await hooks.subscribe({ ...valid, event: 'book.added' })
    const second = await hooks.subscribe({ ...valid, event: 'book.*' })
    const strangers = await hooks.subscribe({ ...valid, owner: 'u2', event: 'book.added' })
    const third = await hooks.subscribe({ ...valid, event: 'book.added' })
    return { hooks, ids: [third.id, second.id, first.id], strangers: strangers.id }
  }

  it('lists only the owner’s own subscriptions, newest first', async () => {
    const { hooks, ids, strangers } = await fourSubscriptions()
    const page = await hooks.listSubscriptions({ owner: 'u1' })
    expect(page.data.map((s) => s.id)).toEqual(ids)
    expect(page.next).toBeNull()
    expect((await hooks.listSubscriptions({ owner: 'u2' })).data.map((s) => s.id)).toEqual([
      strangers,
    ])
    expect((await hooks.listSubscriptions({ owner: 'u3' })).data).toEqual([])
  })

  it('pages with limit and cursor until next is null', async () => {
    const { hooks, ids } = await fourSubscriptions()
    const first = await hooks.listSubscriptions({ owner: 'u1', limit: 2 })
    expect(first.data.map((s) => s.id)).toEqual(ids.slice(0, 2))
    expect(first.next).toEqual(expect.any(String))
    const second = await hooks.listSubscriptions({ owner: 'u1', limit: 2, cursor: first.next })
    expect(second.data.map((s) => s.id)).toEqual(ids.slice(2))
    expect(second.next).toBeNull()
  })

  it('gives no next cursor when the last page is exactly full', async () => {
    const { hooks, ids } = await fourSubscriptions()
    const page = await hooks.listSubscriptions({ owner: 'u1', limit: 3 })
    expect(page.data.map((s) => s.id)).toEqual(ids)
    expect(page.next).toBeNull()
  })

  it.each([
    ['not a number', Number.NaN, 3],
    ['below 1', 0, 1],
    ['fractional', 2.7, 2],
  ])('reads a limit that is %s sensibly instead of failing', async (_why, limit, count) => {
    const { hooks } = await fourSubscriptions()
    const page = await hooks.listSubscriptions({ owner: 'u1', limit })
    expect(page.data).toHaveLength(count)
  })

  it('filters by the exact event name or pattern subscribed to', async () => {
    const { hooks, ids } = await fourSubscriptions()
    const [third, second, first] = ids
    const added = await hooks.listSubscriptions({ owner: 'u1', event: 'book.added' })
    expect(added.data.map((s) => s.id)).toEqual([third, first])
    const pattern = await hooks.listSubscriptions({ owner: 'u1', event: 'book.*' })
    expect(pattern.data.map((s) => s.id)).toEqual([second])
    const paged = await hooks.listSubscriptions({ owner: 'u1', event: 'book.added', limit: 1 })
    expect(paged.data.map((s) => s.id)).toEqual([third])
    const rest = await hooks.listSubscriptions({
      owner: 'u1',
      event: 'book.added',
      limit: 1,
      cursor: paged.next,
    })
    expect(rest).toEqual({ data: [expect.objectContaining({ id: first })], next: null })
  })
})

describe('changing a subscription', () => {
  it('changes the given fields, keeps the others, and moves updatedAt', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z')
    const hooks = await setup({ now: () => clock })
    const sub = await hooks.subscribe({ ...valid, headers: { 'x-a': '1' } })
    clock += 5_000
    const changed = await hooks.updateSubscription(sub.id, {
      event: 'book.*',
      target: 'https://example.org/new',
      method: 'PATCH',
      payload: 'thin',
      hmacDigest: 'sha256',
      metadata: { team: 'ops' },
    })
    expect(changed).toEqual({
      ...sub,
      secret: undefined,
      event: 'book.*',
      target: 'https://example.org/new',
      method: 'PATCH',
      payload: 'thin',
      hmacDigest: 'sha256',
      metadata: { team: 'ops' },
      headers: { 'x-a': '1' },
      createdAt: '2030-01-01T00:00:00.000Z',
      updatedAt: '2030-01-01T00:00:05.000Z',
    })
    expect(await hooks.getSubscription(sub.id)).toEqual(changed)

    clock += 5_000
    const again = await hooks.updateSubscription(sub.id, { headers: {}, hmacDigest: null })
    expect(again).toMatchObject({
      headers: {},
      hmacDigest: null,
      target: 'https://example.org/new',
      updatedAt: '2030-01-01T00:00:10.000Z',
    })
  })

  it.each([
    ['an unknown event', { event: 'book.sold' }, 'event'],
    ['a pattern that matches nothing', { event: 'order.*' }, 'event'],
    ['an ftp:// target', { target: 'ftp://example.com/' }, 'target'],
    ['a reserved header', { headers: { 'webhook-id': 'x' } }, 'headers.webhook-id'],
    ['a header value with CR/LF', { headers: { 'x-a': 'a\r\nb' } }, 'headers.x-a'],
    ['a new owner', { owner: 'u2' }, 'owner'],
    [
      'a filter with a misspelt operator',
      { filter: { title: { startswith: 'J' } } },
      'filter.title.startswith',
    ],
    ['a template that renders invalid JSON', { template: '{"a": ' }, 'template'],
    ['a wrong type', { active: 'no' }, 'active'],
  ])('refuses %s as subscribe does, and changes nothing', async (_why, change, field) => {
    const hooks = await setup()
    const { secret: _secret, ...sub } = await hooks.subscribe(valid)
    const error = await validationError(hooks.updateSubscription(sub.id, change as never))
    messageFor(error, field)
    expect(await hooks.getSubscription(sub.id)).toEqual(sub)
  })

  it('refuses an IP-literal target the SSRF guard does not admit', async () => {
    const hooks = await setup({ allowTargets: [] })
    const { secret: _secret, ...sub } = await hooks.subscribe(valid)
    const error = await validationError(
      hooks.updateSubscription(sub.id, { target: 'http://10.0.0.1/' }),
    )
    expect(messageFor(error, 'target')).toMatch(/private/)
    expect(await hooks.getSubscription(sub.id)).toEqual(sub)
  })

  it('disables with active: false, with a reason, and re-enables with active: true', async () => {
    const hooks = await setup()
    const sub = await hooks.subscribe(valid)
    const disabled = await hooks.updateSubscription(sub.id, { active: false })
    expect(disabled).toMatchObject({ active: false, status: 'disabled' })
    expect(disabled?.disabledReason).toEqual(expect.stringMatching(/\S/))
    expect(await hooks.getSubscription(sub.id)).toEqual(disabled)

    const enabled = await hooks.updateSubscription(sub.id, { active: true })
    expect(enabled).toMatchObject({ active: true, status: 'active', disabledReason: null })
    expect(await hooks.getSubscription(sub.id)).toEqual(enabled)
  })
})

describe('unsubscribing', () => {
  it('removes the subscription and its deliveries, and nothing is sent to it any more', async () => {
    const hooks = await setup()
    const at = await receiver()
    const sub = await hooks.subscribe({ ...valid, target: `${at.url}/gone` })
    const kept = await hooks.subscribe({ ...valid, target: `${at.url}/kept` })
    await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })

    const deliveries = await hooks.listDeliveries({ subscriptionId: sub.id })
    expect(deliveries?.data).toHaveLength(1)
    const deliveryId = deliveries?.data[0]?.id ?? ''
    expect(await hooks.getDelivery(deliveryId)).toMatchObject({ subscriptionId: sub.id })

    expect(await hooks.unsubscribe(sub.id, { owner: 'u1' })).toBe(true)
    expect(await hooks.getSubscription(sub.id)).toBeUndefined()
    expect(await hooks.getDelivery(deliveryId)).toBeUndefined()
    expect(await hooks.listDeliveries({ subscriptionId: sub.id })).toBeUndefined()
    expect(await hooks.unsubscribe(sub.id)).toBe(false)
    expect((await hooks.listSubscriptions({ owner: 'u1' })).data.map((s) => s.id)).toEqual([
      kept.id,
    ])

    expect(await hooks.deliverPending()).toMatchObject({ succeeded: 1 })
    expect(onlyRequest(at).path).toBe('/kept')
  })
})

describe('rotating the secret', () => {
  it('returns a new secret and signs with both the new and the old one', async () => {
    const hooks = await setup()
    const at = await receiver()
    const sub = await hooks.subscribe({ ...valid, target: at.url })
    const rotated = await hooks.rotateSecret(sub.id, { owner: 'u1' })
    expect(rotated?.secret).toMatch(SECRET)
    expect(rotated?.secret).not.toBe(sub.secret)
    expect(rotated).toMatchObject({ id: sub.id, event: sub.event, target: sub.target })
    expect(await hooks.getSubscription(sub.id)).not.toHaveProperty('secret')
    const oldSecret = sub.secret
    const newSecret = rotated?.secret ?? ''

    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const request = onlyRequest(at)
    const signatures = signaturesOf(request)
    expect(signatures).toHaveLength(2)
    for (const signature of signatures) expect(signature).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)

    expect(await accepts(request, newSecret)).toBe(true)
    expect(await accepts(request, oldSecret)).toBe(true)
    // One signature per secret, the new one first.
    const [first = '', second = ''] = signatures
    expect(await accepts(withOnlySignature(request, first), newSecret)).toBe(true)
    expect(await accepts(withOnlySignature(request, first), oldSecret)).toBe(false)
    expect(await accepts(withOnlySignature(request, second), oldSecret)).toBe(true)
    expect(await accepts(withOnlySignature(request, second), newSecret)).toBe(false)
    // A third-party Standard Webhooks verifier holding either secret accepts it too.
    const headers = request.headers as Record<string, string>
    expect(new Webhook(oldSecret).verify(request.body, headers)).toMatchObject({
      type: 'book.added',
    })
    expect(new Webhook(newSecret).verify(request.body, headers)).toMatchObject({
      type: 'book.added',
    })
  })

  it('stops signing with the old secret 24 hours after the rotation', async () => {
    let clock = Date.now()
    const hooks = await setup({ now: () => clock })
    const at = await receiver()
    const sub = await hooks.subscribe({ ...valid, target: at.url })
    const rotatedAt = clock
    const newSecret = (await hooks.rotateSecret(sub.id))?.secret ?? ''

    clock = rotatedAt + DAY - 1
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const [lastMinute] = at.requests
    if (!lastMinute) throw new Error('nothing arrived')
    expect(signaturesOf(lastMinute)).toHaveLength(2)
    expect(await accepts(lastMinute, sub.secret, clock)).toBe(true)

    clock = rotatedAt + DAY + 1
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    expect(at.requests).toHaveLength(2)
    const [, afterwards] = at.requests
    if (!afterwards) throw new Error('nothing arrived')
    expect(afterwards.headers['webhook-timestamp']).toBe(String(Math.floor(clock / 1000)))
    expect(signaturesOf(afterwards)).toHaveLength(1)
    expect(await accepts(afterwards, newSecret, clock)).toBe(true)
    expect(await accepts(afterwards, sub.secret, clock)).toBe(false)
  })

  it('keeps only the latest previous secret when rotating twice', async () => {
    const hooks = await setup()
    const at = await receiver()
    const sub = await hooks.subscribe({ ...valid, target: at.url })
    const second = (await hooks.rotateSecret(sub.id))?.secret ?? ''
    const third = (await hooks.rotateSecret(sub.id))?.secret ?? ''
    await hooks.modelEvent('Book', 'created', book)
    await hooks.deliverPending()
    const request = onlyRequest(at)
    expect(signaturesOf(request)).toHaveLength(2)
    expect(await accepts(request, third)).toBe(true)
    expect(await accepts(request, second)).toBe(true)
    expect(await accepts(request, sub.secret)).toBe(false)
  })
})
