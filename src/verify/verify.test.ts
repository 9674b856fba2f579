import { createHmac } from 'node:crypto'
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import { generateSecret, signatureHeader } from '../delivery/signature.ts'
import {
  type VerifiedWebhook,
  verifyWebhook,
  type WebhookInput,
  WebhookVerificationError,
  type WebhookVerificationErrorCode,
} from './index.ts'

const specSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const specId = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const specTimestamp = 1614265330
const specBody = '{"test": 2432232314}'
const specSignature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='

const id = 'msg_01JD3Z8Q6N7R2K5V9X4W1Y0T3S'
const body = JSON.stringify({ type: 'order.created', data: { id: 42, note: 'café ☕' } })
const nowSeconds = () => Math.floor(Date.now() / 1000)

/** A webhook as our sender would deliver it, signed with `secrets` at `timestamp`. */
function signed(secrets: readonly string[], timestamp = nowSeconds(), payload = body) {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signatureHeader(secrets, id, timestamp, payload),
  }
}

async function rejection(promise: Promise<unknown>): Promise<WebhookVerificationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(WebhookVerificationError)
  return error as WebhookVerificationError
}

async function expectCode(
  promise: Promise<unknown>,
  code: WebhookVerificationErrorCode,
): Promise<void> {
  expect((await rejection(promise)).code).toBe(code)
}

describe('verifyWebhook', () => {
  it('accepts the Standard Webhooks test vector', async () => {
    const result = await verifyWebhook(
      {
        headers: {
          'webhook-id': specId,
          'webhook-timestamp': String(specTimestamp),
          'webhook-signature': specSignature,
        },
        body: specBody,
      },
      specSecret,
      { now: new Date(specTimestamp * 1000) },
    )
    expect(result).toEqual({
      id: specId,
      timestamp: new Date(specTimestamp * 1000),
      payload: { test: 2432232314 },
    })
  })

  it('accepts a webhook signed by the standardwebhooks package', async () => {
    const secret = generateSecret()
    const timestamp = new Date(nowSeconds() * 1000)
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp.getTime() / 1000),
      'webhook-signature': new Webhook(secret).sign(id, timestamp, body),
    }
    const result = await verifyWebhook<{ type: string }>({ headers, body }, secret)
    expect(result.id).toBe(id)
    expect(result.timestamp).toEqual(timestamp)
    expect(result.payload.type).toBe('order.created')
  })

  it('accepts secrets with or without the whsec_ prefix', async () => {
    const secret = generateSecret()
    const headers = signed([secret])
    await expect(verifyWebhook({ headers, body }, secret.slice(6))).resolves.toMatchObject({ id })
    await expect(verifyWebhook({ headers, body }, secret)).resolves.toMatchObject({ id })
  })

  describe('rotation', () => {
    const current = generateSecret()
    const previous = generateSecret()
    const headers = signed([current, previous])

    it('verifies a two-signature header with either secret alone', async () => {
      await expect(verifyWebhook({ headers, body }, current)).resolves.toMatchObject({ id })
      await expect(verifyWebhook({ headers, body }, previous)).resolves.toMatchObject({ id })
    })

    it('verifies a one-signature header when the receiver holds both secrets', async () => {
      const single = signed([previous])
      await expect(verifyWebhook({ headers: single, body }, [current, previous])).resolves.toEqual(
        expect.objectContaining({ id }),
      )
    })
  })

  it('rejects a wrong secret with invalid_signature', async () => {
    const headers = signed([generateSecret()])
    await expectCode(verifyWebhook({ headers, body }, generateSecret()), 'invalid_signature')
  })

  it('rejects a tampered body', async () => {
    const secret = generateSecret()
    const tampered = body.replace('42', '43')
    await expectCode(
      verifyWebhook({ headers: signed([secret]), body: tampered }, secret),
      'invalid_signature',
    )
  })

  it('rejects a tampered id or timestamp', async () => {
    const secret = generateSecret()
    const headers = signed([secret])
    await expectCode(
      verifyWebhook({ headers: { ...headers, 'webhook-id': 'msg_other' }, body }, secret),
      'invalid_signature',
    )
    const later = String(Number(headers['webhook-timestamp']) + 1)
    await expectCode(
      verifyWebhook({ headers: { ...headers, 'webhook-timestamp': later }, body }, secret),
      'invalid_signature',
    )
  })

  it('ignores signatures of other versions', async () => {
    const secret = generateSecret()
    const headers = signed([secret])
    const v1 = headers['webhook-signature']
    const other = `v1a,${v1.slice(3)} v2,${v1.slice(3)}`
    await expectCode(
      verifyWebhook({ headers: { ...headers, 'webhook-signature': other }, body }, secret),
      'invalid_signature',
    )
    await expect(
      verifyWebhook(
        { headers: { ...headers, 'webhook-signature': `${other} ${v1}` }, body },
        secret,
      ),
    ).resolves.toMatchObject({ id })
  })

  it('rejects a timestamp six minutes old or six minutes in the future', async () => {
    const secret = generateSecret()
    const now = nowSeconds()
    await expectCode(
      verifyWebhook({ headers: signed([secret], now - 360), body }, secret),
      'timestamp_too_old',
    )
    await expectCode(
      verifyWebhook({ headers: signed([secret], now + 360), body }, secret),
      'timestamp_too_new',
    )
  })

  it('accepts a timestamp at the edge of the tolerance and honours toleranceSeconds', async () => {
    const secret = generateSecret()
    const now = Date.UTC(2030, 0, 1)
    const headers = signed([secret], now / 1000 - 300)
    await expect(verifyWebhook({ headers, body }, secret, { now })).resolves.toMatchObject({ id })
    await expectCode(
      verifyWebhook({ headers, body }, secret, { now, toleranceSeconds: 299 }),
      'timestamp_too_old',
    )
  })

  it('refuses an invalid now instead of skipping the timestamp check', async () => {
    const secret = generateSecret()
    await expect(
      verifyWebhook({ headers: signed([secret], 0), body }, secret, { now: new Date(Number.NaN) }),
    ).rejects.toThrow(RangeError)
  })

  it.each(['', 'soon', '1614265330.5', '-1614265330', '1e9'])(
    'rejects the timestamp %j with invalid_timestamp',
    async (timestamp) => {
      const secret = generateSecret()
      const headers = { ...signed([secret]), 'webhook-timestamp': timestamp }
      await expectCode(
        verifyWebhook({ headers, body }, secret),
        timestamp ? 'invalid_timestamp' : 'missing_headers',
      )
    },
  )

  it.each(['webhook-id', 'webhook-timestamp', 'webhook-signature'] as const)(
    'rejects a request without %s with missing_headers',
    async (name) => {
      const secret = generateSecret()
      const { [name]: _, ...headers } = signed([secret])
      await expectCode(verifyWebhook({ headers, body }, secret), 'missing_headers')
    },
  )

  it('rejects an invalid JSON body with invalid_json once the signature is verified', async () => {
    const secret = generateSecret()
    const notJson = 'order.created'
    await expectCode(
      verifyWebhook({ headers: signed([secret], nowSeconds(), notJson), body: notJson }, secret),
      'invalid_json',
    )
  })

  it('verifies a byte body as is and rejects it with invalid_json when it is not UTF-8', async () => {
    const secret = generateSecret()
    const bytes = new Uint8Array([0x22, 0xff, 0x22])
    const timestamp = nowSeconds()
    const signature = createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
      .update(`${id}.${timestamp}.`)
      .update(bytes)
      .digest('base64')
    const headers = {
      'webhook-id': id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': `v1,${signature}`,
    }
    await expectCode(verifyWebhook({ headers, body: bytes }, secret), 'invalid_json')
  })

  it.each([
    ['an empty list', []],
    ['a malformed secret', 'whsec_not base64!'],
    ['one malformed secret among good ones', [generateSecret(), 'whsec_']],
  ] as const)('rejects %s with invalid_secret', async (_, secret) => {
    await expectCode(verifyWebhook({ headers: {}, body }, secret), 'invalid_secret')
  })

  it('works with a Fetch API Request', async () => {
    const secret = generateSecret()
    const request = new Request('https://receiver.example/hooks', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signed([secret]) },
      body,
    })
    const result = await verifyWebhook<{ data: { note: string } }>(request, secret)
    expect(result.payload.data.note).toBe('café ☕')
  })

  it('works with a Headers object and a Uint8Array body', async () => {
    const secret = generateSecret()
    const headers = new Headers(signed([secret]))
    const input: WebhookInput = { headers, body: new TextEncoder().encode(body) }
    await expect(verifyWebhook(input, secret)).resolves.toMatchObject({ id })
  })

  it('matches header names case-insensitively in a plain record', async () => {
    const secret = generateSecret()
    const signedHeaders = signed([secret])
    const headers = {
      'Webhook-Id': signedHeaders['webhook-id'],
      'WEBHOOK-TIMESTAMP': signedHeaders['webhook-timestamp'],
      'Webhook-Signature': signedHeaders['webhook-signature'],
    }
    await expect(verifyWebhook({ headers, body }, secret)).resolves.toMatchObject({ id })
  })

  it('accepts signatures spread over repeated header fields', async () => {
    const current = generateSecret()
    const previous = generateSecret()
    const [first, second] = signed([current, previous])['webhook-signature'].split(' ')
    const headers: IncomingHttpHeaders = {
      ...signed([current]),
      'webhook-signature': [String(first), String(second)],
    }
    await expect(verifyWebhook({ headers, body }, previous)).resolves.toMatchObject({ id })
    // As Headers and Node join them: with ', '.
    const joined = { ...headers, 'webhook-signature': `${first}, ${second}` }
    await expect(verifyWebhook({ headers: joined, body }, previous)).resolves.toMatchObject({ id })
  })

  it("works with a Node IncomingMessage's headers and a raw Buffer body", async () => {
    const secret = generateSecret()
    let verification: Promise<VerifiedWebhook> | undefined
    const server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (chunk: Buffer) => chunks.push(chunk))
      req.on('end', () => {
        verification = verifyWebhook({ headers: req.headers, body: Buffer.concat(chunks) }, secret)
        res.writeHead(204).end()
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    try {
      const { port } = server.address() as AddressInfo
      // Upper case on purpose: Node lower-cases header names on the way in.
      const headers = Object.fromEntries(
        Object.entries(signed([secret])).map(([name, value]) => [name.toUpperCase(), value]),
      )
      const response = await fetch(`http://127.0.0.1:${port}/hooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      })
      expect(response.status).toBe(204)
      expect(await verification).toMatchObject({ id, payload: JSON.parse(body) })
    } finally {
      server.close()
    }
  })
})

describe('WebhookVerificationError', () => {
  it('has a name and a stable code, and does not reveal the expected signature', async () => {
    const secret = generateSecret()
    const headers = signed([generateSecret()])
    const error = await rejection(verifyWebhook({ headers, body }, secret))
    expect(error.name).toBe('WebhookVerificationError')
    expect(error).toBeInstanceOf(Error)
    const expected = signatureHeader([secret], id, Number(headers['webhook-timestamp']), body)
    expect(error.message).not.toContain(expected.slice(3))
  })
})
