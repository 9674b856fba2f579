import { afterEach, describe, expect, it } from 'vitest'
import { startReceiver } from '../support/receiver.ts'
import { type AdminEnv, adminEnv, BASE, subscriptionFields, visibleText } from './admin-client.ts'

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

async function setup(): Promise<AdminEnv> {
  const env = await adminEnv()
  opened.push(env)
  return env
}

const XSS = '<script>alert(1)</script>'

describe('the subscription list', () => {
  it('shows every owner’s subscriptions with status and recent success, and filters them', async () => {
    const env = await setup()
    const receiver = await startReceiver()
    opened.push(receiver)
    const a = await env.hooks.subscribe({
      owner: 'alice',
      event: 'book.added',
      target: `${receiver.url}/a`,
    })
    const b = await env.hooks.subscribe({
      owner: 'bob',
      event: 'book.*',
      target: 'https://example.com/b',
    })
    await env.hooks.updateSubscription(b.id, { active: false })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'alice' })
    await env.hooks.rawEvent('book.added', { id: 2 }, { owner: 'alice' })
    await env.hooks.deliverPending()

    const all = await env.operator.get(`${BASE}/subscriptions`)
    expect(all.status).toBe(200)
    const text = visibleText(all.text)
    expect(text).toContain(`active ${receiver.url}/a ${a.id} book.added alice 100 % of 2`)
    expect(text).toContain(`disabled https://example.com/b ${b.id} book.* bob no attempts`)

    const alice = visibleText((await env.operator.get(`${BASE}/subscriptions?owner=alice`)).text)
    expect(alice).toContain(a.id)
    expect(alice).not.toContain(b.id)
    const disabled = visibleText(
      (await env.operator.get(`${BASE}/subscriptions?status=disabled`)).text,
    )
    expect(disabled).toContain(b.id)
    expect(disabled).not.toContain(a.id)
    const pattern = visibleText((await env.operator.get(`${BASE}/subscriptions?event=book.*`)).text)
    expect(pattern).toContain(b.id)
    expect(pattern).not.toContain(a.id)
    const target = visibleText(
      (await env.operator.get(`${BASE}/subscriptions?target=example.com`)).text,
    )
    expect(target).toContain(b.id)
    expect(target).not.toContain(a.id)
  })

  it('refuses a bad filter with a clear error (400) and lists nothing', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const page = await env.operator.get(`${BASE}/subscriptions?status=sleeping`)
    expect(page.status).toBe(400)
    expect(visibleText(page.text)).toContain("Status: must be 'active' or 'disabled'")
    expect(page.text).not.toContain(sub.id)
  })

  it('pages through many subscriptions, newest first', async () => {
    const env = await setup()
    const ids: string[] = []
    for (let i = 0; i < 52; i++) {
      ids.push(
        (
          await env.hooks.subscribe({
            owner: 'u1',
            event: 'book.added',
            target: `https://example.com/${i}`,
          })
        ).id,
      )
    }
    const first = await env.operator.get(`${BASE}/subscriptions?owner=u1`)
    const next = /href="([^"]+before=[^"]+)"/.exec(first.text)?.[1]?.replace(/&amp;/g, '&')
    expect(next).toBe(`${BASE}/subscriptions?owner=u1&before=${ids[2]}`)
    expect(first.text).toContain(ids[51])
    expect(first.text).not.toContain(ids[1])
    const second = await env.operator.get(next ?? '')
    expect(second.text).toContain(ids[0])
    expect(second.text).toContain(ids[1])
    expect(second.text).not.toContain(ids[2])
  })
})

describe('creating a subscription', () => {
  it('creates it with every field, and shows its secret once', async () => {
    const env = await setup()
    const page = await env.operator.post(
      `${BASE}/subscriptions`,
      subscriptionFields({
        owner: 'tenant-7',
        event: 'book.*',
        target: 'https://example.com/in',
        method: 'PUT',
        contentType: 'application/xml',
        payload: 'thin',
        hmacDigest: 'sha256',
        headers: 'X-Api-Key: k1\nX-Team: books',
        filter: '{"pages": {"gt": 100}}',
        template: '<book><id>{{data.id}}</id></book>',
        metadata: '{"plan": "pro"}',
      }),
    )
    expect(page.status).toBe(201)
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(page.text)?.[0]
    expect(secret).toMatch(/^whsec_/)
    expect(visibleText(page.text)).toContain('it is not shown again')
    const [row] = await env.hooks.store.admin.listSubscriptions({ limit: 5 })
    expect(row?.secret).toBe(secret)
    const stored = await env.hooks.getSubscription(row?.id ?? '')
    expect(stored).toMatchObject({
      owner: 'tenant-7',
      event: 'book.*',
      target: 'https://example.com/in',
      method: 'PUT',
      contentType: 'application/xml',
      payload: 'thin',
      hmacDigest: 'sha256',
      headers: { 'X-Api-Key': 'k1', 'X-Team': 'books' },
      filter: { pages: { gt: 100 } },
      template: '<book><id>{{data.id}}</id></book>',
      metadata: { plan: 'pro' },
      active: true,
    })
    const detail = await env.operator.get(`${BASE}/subscriptions/${row?.id}`)
    expect(detail.text).not.toContain(secret)
    expect(visibleText(detail.text)).toContain('X-Api-Key k1')
  })

  it('offers the registered events in its picker and previews the body of the first one', async () => {
    const env = await setup()
    const page = await env.operator.get(`${BASE}/subscriptions/new?owner=u9`)
    for (const name of env.hooks.events.names())
      expect(page.text).toContain(`<option value="${name}">`)
    expect(page.text).toContain('id="field-owner" name="owner"')
    expect(page.text).toContain('value="u9"')
    expect(page.text).toMatch(/<label for="field-target">Target URL<\/label>/)
    expect(page.text).toContain('&quot;type&quot;:&quot;book.added&quot;')
  })

  it.each([
    [
      'an unknown event',
      { event: 'film.added' },
      'Event',
      "'film.added' matches no registered event",
    ],
    [
      'a target that is not http(s)',
      { target: 'ftp://example.com/x' },
      'Target URL',
      "scheme 'ftp' is not allowed",
    ],
    [
      'a private IP target',
      { target: 'http://10.0.0.1/x' },
      'Target URL',
      'this address is not allowed as a target',
    ],
    [
      'a reserved header',
      { headers: 'Host: evil.example' },
      'Headers',
      "Host: header 'Host' is reserved",
    ],
    [
      'a header line without a colon',
      { headers: 'X-Ok: 1\nnonsense' },
      'Headers',
      "line 2 is not 'Name: value'",
    ],
    ['a filter that is not JSON', { filter: '{pages: 1' }, 'Filter', 'is not valid JSON'],
    [
      'a filter with a bad operand',
      { filter: '{"pages": {"gt": [1]}}' },
      'Filter',
      'pages.gt: must be',
    ],
    ['a template that is not valid Mustache', { template: '{{#data}}' }, 'Template', 'data'],
    ['a template that renders invalid JSON', { template: '{"a": }' }, 'Template', 'renders'],
    ['metadata that is not an object', { metadata: '[1, 2]' }, 'Metadata', 'must be a JSON object'],
    ['no owner', { owner: '' }, 'Owner', 'Owner:'],
    ['a NUL in the target', { target: 'https://example.com/\u0000' }, 'Target URL', 'NUL'],
    ['a method resthooks does not send', { method: 'DELETE' }, 'Method', 'Method:'],
  ])(
    'refuses %s with a clear form error (400), keeps what was typed, and stores nothing',
    async (_what, fields, label, message) => {
      const env = await setup()
      const before = await env.dump()
      const page = await env.operator.post(
        `${BASE}/subscriptions`,
        subscriptionFields(fields as Record<string, string>),
      )
      expect(page.status).toBe(400)
      const summary = visibleText(
        /<div class="error-summary"[\s\S]*?<\/div>/.exec(page.text)?.[0] ?? '',
      )
      expect(summary).toContain(`${label}:`)
      expect(summary).toContain(message)
      expect(page.text).toContain('aria-invalid="true"')
      // What was typed is still in the form.
      const target = (fields as { target?: string }).target ?? 'https://example.com/hooks'
      expect(page.text).toContain(`value="${target.replace('\u0000', '\ufffd')}"`)
      expect(await env.dump()).toEqual(before)
    },
  )

  it('says what the API says for the same bad input: the rules are one', async () => {
    const env = await setup()
    const api = env.hooks.api({ authenticate: () => 'u1' })
    const response = await api(
      new Request('http://x/hooks', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          event: 'book.added',
          target: 'https://example.com/x',
          headers: { 'Webhook-Id': 'x' },
          template: '{{#a}}',
        }),
      }),
    )
    const problem = (await response.json()) as { errors: { field: string; message: string }[] }
    const page = await env.operator.post(
      `${BASE}/subscriptions`,
      subscriptionFields({ headers: 'Webhook-Id: x', template: '{{#a}}' }),
    )
    const text = visibleText(page.text)
    for (const error of problem.errors) expect(text).toContain(error.message)
  })
})

describe('the live preview', () => {
  async function preview(env: AdminEnv, fields: Record<string, string>) {
    const page = await env.operator.post(`${BASE}/preview`, subscriptionFields(fields))
    expect(page.status).toBe(200)
    expect(page.headers.get('content-type')).toBe('application/json; charset=utf-8')
    return JSON.parse(page.text) as Record<string, string | null>
  }

  it('renders the template over the latest stored event of the type, as a delivery would', async () => {
    const env = await setup()
    await env.hooks.rawEvent('book.added', { id: 7, title: 'Tom & "Jerry"' }, { owner: 'someone' })
    const result = await preview(env, {
      template: '{"title": "{{data.title}}", "event": "{{event}}"}',
    })
    expect(result).toMatchObject({
      event: 'book.added',
      body: '{"title": "Tom & \\"Jerry\\"", "event": "book.added"}',
      problem: null,
      sampleSource: 'stored event',
    })
    expect(JSON.parse(result.sample ?? '')).toEqual({ id: 7, title: 'Tom & "Jerry"' })
  })

  it('uses the form’s sample data, the content type’s default body, and says whether the filter passes', async () => {
    const env = await setup()
    const form = await preview(env, {
      contentType: 'application/x-www-form-urlencoded',
      sample: '{"id": 1, "pages": 50}',
      filter: '{"pages": {"gt": 100}}',
    })
    expect(form.body).toMatch(/^payload=%7B%22type%22%3A%22book.added%22/)
    expect(form.filter).toBe('This sample does not pass the filter: it would not be delivered.')
    const xml = await preview(env, {
      contentType: 'application/xml',
      sample: '{"id": 1}',
      event: 'book.*',
    })
    expect(xml.body).toContain('<webhook>')
    expect(xml.body).toContain('<event>book.*</event>')
    expect(xml.event).toBe('book.added')
  })

  it('explains what cannot be rendered, never failing', async () => {
    const env = await setup()
    expect((await preview(env, { template: '{{#data}}' })).problem).toMatch(/data/)
    expect((await preview(env, { sample: '{oops' })).problem).toMatch(
      /^The sample data is not valid JSON/,
    )
    expect((await preview(env, { event: 'nothing.here' })).problem).toMatch(/^Choose an event/)
    expect((await preview(env, { contentType: 'text/plain' })).problem).toBe(
      'Choose a content type.',
    )
    expect((await preview(env, { filter: '{"a": {"gt": [1]}}' })).filter).toMatch(
      /^The filter is invalid/,
    )
  })

  it('works without JavaScript: “Update preview” shows the form again with the body, saving nothing', async () => {
    const env = await setup()
    const before = await env.dump()
    const page = await env.operator.post(
      `${BASE}/subscriptions`,
      subscriptionFields({ intent: 'preview', template: '{"n": {{data.n}}}', sample: '{"n": 42}' }),
    )
    expect(page.status).toBe(200)
    expect(page.text).toContain('<pre id="preview-body">{&quot;n&quot;: 42}</pre>')
    expect(await env.dump()).toEqual(before)
  })
})

describe('changing a subscription', () => {
  it('edits its fields, clears template and filter, and keeps what was not on the form', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
      template: '{"id": {{data.id}}}',
      filter: { id: { gt: 1 } },
      metadata: { keep: true },
    })
    const edit = await env.operator.get(`${BASE}/subscriptions/${sub.id}/edit`)
    expect(edit.text).toContain('{&quot;id&quot;: {{data.id}}}')
    expect(edit.text).not.toContain('id="field-owner"')
    const saved = await env.operator.post(
      `${BASE}/subscriptions/${sub.id}`,
      subscriptionFields({
        target: 'https://example.com/b',
        template: '',
        filter: '',
        metadata: '{"keep": true}',
        headers: 'X-New: 1',
      }),
    )
    expect(saved.status).toBe(303)
    expect(saved.location).toBe(`${BASE}/subscriptions/${sub.id}?done=updated`)
    expect(await env.hooks.getSubscription(sub.id)).toMatchObject({
      owner: 'u1',
      target: 'https://example.com/b',
      template: null,
      filter: null,
      headers: { 'X-New': '1' },
      metadata: { keep: true },
      active: true,
    })
    expect(visibleText((await env.operator.get(saved.location ?? '')).text)).toContain('Saved.')
  })

  it('refuses bad input with the form’s error and changes nothing', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const before = await env.dump()
    const page = await env.operator.post(
      `${BASE}/subscriptions/${sub.id}`,
      subscriptionFields({ event: 'nope.nope' }),
    )
    expect(page.status).toBe(400)
    expect(visibleText(page.text)).toContain("'nope.nope' matches no registered event")
    expect(visibleText(page.text)).toContain('Owner: u1')
    expect(await env.dump()).toEqual(before)
  })

  it('disables and enables it; enabling clears its failure history', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const off = await env.operator.post(`${BASE}/subscriptions/${sub.id}/disable`)
    expect(off.location).toBe(`${BASE}/subscriptions/${sub.id}?done=disabled`)
    expect(await env.hooks.getSubscription(sub.id)).toMatchObject({
      active: false,
      disabledReason: 'disabled by an operator',
    })
    const page = visibleText((await env.operator.get(off.location ?? '')).text)
    expect(page).toContain('disabled disabled by an operator')
    expect(page).toContain('Enable')
    await env.hooks.store.updateSubscription(sub.id, undefined, { failing_since: 1 })
    const on = await env.operator.post(`${BASE}/subscriptions/${sub.id}/enable`)
    expect(on.location).toBe(`${BASE}/subscriptions/${sub.id}?done=enabled`)
    expect(await env.hooks.getSubscription(sub.id)).toMatchObject({
      active: true,
      disabledReason: null,
    })
    expect((await env.hooks.store.findSubscription(sub.id))?.failing_since).toBeNull()
  })

  it('rotates the secret, showing the new one once; the old one keeps signing for 24 hours', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    const page = await env.operator.post(`${BASE}/subscriptions/${sub.id}/rotate-secret`)
    expect(page.status).toBe(200)
    const secret = /whsec_[A-Za-z0-9+/=]+/.exec(page.text)?.[0]
    const row = await env.hooks.store.findSubscription(sub.id)
    expect(row?.secret).toBe(secret)
    expect(row?.previous_secret).toBe(sub.secret)
    const detail = await env.operator.get(`${BASE}/subscriptions/${sub.id}`)
    expect(detail.text).not.toContain(secret)
    expect(visibleText(detail.text)).toContain('rotated: the previous secret also signs until')
  })

  it('sends a test event to this subscription only', async () => {
    const env = await setup()
    const receiver = await startReceiver()
    opened.push(receiver)
    const sub = await env.hooks.subscribe({ owner: 'u1', event: '*', target: `${receiver.url}/t` })
    await env.hooks.subscribe({ owner: 'u1', event: '*', target: `${receiver.url}/other` })
    const sent = await env.operator.post(`${BASE}/subscriptions/${sub.id}/test`)
    expect(sent.location).toBe(`${BASE}/subscriptions/${sub.id}?done=test-sent`)
    await env.hooks.deliverPending()
    expect(receiver.requests.map((r) => [r.path, r.headers['hook-event']])).toEqual([
      ['/t', 'hook.test'],
    ])
    expect(visibleText((await env.operator.get(sent.location ?? '')).text)).toContain(
      'A hook.test event is on its way',
    )
  })

  it('deletes it with its deliveries, after asking', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: 'https://example.com/a',
    })
    await env.hooks.rawEvent('book.added', { id: 1 }, { owner: 'u1' })
    const ask = await env.operator.get(`${BASE}/subscriptions/${sub.id}/delete`)
    expect(visibleText(ask.text)).toContain('removed with its whole delivery log')
    const done = await env.operator.post(`${BASE}/subscriptions/${sub.id}/delete`)
    expect(done.location).toBe(`${BASE}/subscriptions?done=deleted`)
    expect(await env.hooks.getSubscription(sub.id)).toBeUndefined()
    expect(await env.hooks.store.admin.listDeliveries({ limit: 10 })).toEqual([])
    expect((await env.operator.post(`${BASE}/subscriptions/${sub.id}/delete`)).status).toBe(404)
    for (const action of ['rotate-secret', 'test', 'enable', 'disable']) {
      expect((await env.operator.post(`${BASE}/subscriptions/${sub.id}/${action}`)).status).toBe(
        404,
      )
    }
  })
})

describe('owner-controlled text renders inert', () => {
  it('a target, headers, owner, template, metadata and event data holding markup show as text on every page', async () => {
    const env = await setup()
    const sub = await env.hooks.subscribe({
      owner: `<img src=x onerror=alert(1)>`,
      event: 'book.added',
      target: `https://example.com/${XSS}`,
      headers: { 'X-Evil': `"><svg onload=alert(1)>` },
      template: `{"x": "</pre></textarea>${XSS}"}`,
      metadata: { note: XSS },
    })
    await env.hooks.rawEvent(
      'book.added',
      { title: XSS },
      { owner: `<img src=x onerror=alert(1)>` },
    )
    const [delivery] = await env.hooks.store.admin.listDeliveries({ limit: 1 })
    const paths = [
      `${BASE}/`,
      `${BASE}/subscriptions`,
      `${BASE}/subscriptions/${sub.id}`,
      `${BASE}/subscriptions/${sub.id}/edit`,
      `${BASE}/subscriptions/${sub.id}/delete`,
      `${BASE}/deliveries`,
      `${BASE}/deliveries/${delivery?.id}`,
      `${BASE}/deliveries?owner=${encodeURIComponent(XSS)}`,
      `${BASE}/subscriptions?target=${encodeURIComponent(XSS)}`,
    ]
    for (const path of paths) {
      const page = await env.operator.get(path)
      expect(page.status, path).toBe(200)
      expect(page.text, path).not.toContain('<script>alert')
      expect(page.text, path).not.toContain('<img src=x')
      expect(page.text, path).not.toContain('<svg onload')
      expect(page.text, path).not.toContain('</textarea><script')
    }
    const detail = await env.operator.get(`${BASE}/subscriptions/${sub.id}`)
    expect(detail.text).toContain('https://example.com/&lt;script&gt;alert(1)&lt;/script&gt;')
    expect(visibleText(detail.text)).toContain(`https://example.com/${XSS}`)
  })
})
