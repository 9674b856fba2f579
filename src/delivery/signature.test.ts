import { createHmac } from 'node:crypto'
import { Webhook } from 'standardwebhooks'
import { describe, expect, it } from 'vitest'
import {
  generateSecret,
  type HookHmacDigest,
  hookHmac,
  secretKey,
  signatureHeader,
  signPayload,
} from './signature.ts'

// The test vector published with the Standard Webhooks specification.
const specSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
const specId = 'msg_p5jXN8AQM9LWM0D4loKWxJek'
const specTimestamp = 1614265330
const specBody = '{"test": 2432232314}'
const specSignature = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='

const nowSeconds = () => Math.floor(Date.now() / 1000)

describe('signPayload', () => {
  it('reproduces the Standard Webhooks test vector', () => {
    expect(signPayload(specSecret, specId, specTimestamp, specBody)).toBe(specSignature)
  })

  it('accepts the secret without its whsec_ prefix', () => {
    expect(signPayload(specSecret.slice(6), specId, specTimestamp, specBody)).toBe(specSignature)
  })

  it('is accepted by the standardwebhooks package', () => {
    const secret = generateSecret()
    const timestamp = nowSeconds()
    const body = JSON.stringify({ type: 'order.created', data: { id: 42, note: 'café ☕' } })
    const headers = {
      'webhook-id': 'msg_01JD3Z8Q6N7R2K5V9X4W1Y0T3S',
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signPayload(secret, 'msg_01JD3Z8Q6N7R2K5V9X4W1Y0T3S', timestamp, body),
    }
    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body))
  })

  it('rejects a timestamp that is not whole unix seconds', () => {
    expect(() => signPayload(specSecret, specId, 1614265330.5, specBody)).toThrow(RangeError)
    expect(() => signPayload(specSecret, specId, -1, specBody)).toThrow(RangeError)
    expect(() => signPayload(specSecret, specId, Number.NaN, specBody)).toThrow(RangeError)
  })
})

describe('secretKey', () => {
  it('decodes the base64 after whsec_', () => {
    expect(secretKey(specSecret)).toEqual(Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64'))
  })

  it.each([
    ['empty', ''],
    ['prefix only', 'whsec_'],
    ['not base64', 'whsec_not base64!'],
    ['truncated base64', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS'],
    ['base64url', 'whsec_-_-_'],
  ])('throws a clear error for a malformed secret (%s)', (_, secret) => {
    expect(() => secretKey(secret)).toThrow(/Malformed webhook secret/)
  })

  it('keeps the secret out of the error message', () => {
    const leaked = 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS'
    expect(() => secretKey(`whsec_${leaked}`)).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(leaked) }),
    )
  })
})

describe('signatureHeader', () => {
  it('lists one v1 signature per secret, current first', () => {
    const current = generateSecret()
    const previous = generateSecret()
    const header = signatureHeader([current, previous], specId, specTimestamp, specBody)
    expect(header.split(' ')).toEqual([
      signPayload(current, specId, specTimestamp, specBody),
      signPayload(previous, specId, specTimestamp, specBody),
    ])
  })

  it('is accepted by the standardwebhooks package under either secret during rotation', () => {
    const current = generateSecret()
    const previous = generateSecret()
    const timestamp = nowSeconds()
    const body = '{"type":"order.created"}'
    const headers = {
      'webhook-id': specId,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signatureHeader([current, previous], specId, timestamp, body),
    }
    expect(new Webhook(current).verify(body, headers)).toEqual({ type: 'order.created' })
    expect(new Webhook(previous).verify(body, headers)).toEqual({ type: 'order.created' })
    expect(() => new Webhook(generateSecret()).verify(body, headers)).toThrow()
  })

  it('refuses to sign without a secret', () => {
    expect(() => signatureHeader([], specId, specTimestamp, specBody)).toThrow(TypeError)
  })
})

describe('hookHmac', () => {
  const digests: readonly HookHmacDigest[] = ['sha1', 'sha256', 'sha512']

  it.each(digests)('is base64 HMAC-%s keyed with the whole secret string', (digest) => {
    const secret = generateSecret()
    const body = JSON.stringify({ hook: { event: 'order.created' }, data: { name: 'Zoë' } })
    const expected = createHmac(digest, Buffer.from(secret, 'utf8')).update(body).digest('base64')
    expect(hookHmac(digest, secret, body)).toBe(expected)
  })

  // Computed with Python's hmac module, as thorn's thorn.utils.hmac.sign does on the receiver.
  it.each([
    ['sha1', 'LaV6Y1gOG4JZIi18l22HzRG9+1s='],
    ['sha256', 'gOyKic480iEzoQZsrstNBP6nRnZXyFFNcX7ELDilyUw='],
    [
      'sha512',
      'Kbc18waUu1fHZ7CX/JhABimboKE2QL84cN9sNthlV1pcyToeUFxEVuDUCXQODPxtIgm9AXsj2RHOLXBWGM24Tw==',
    ],
  ] as const)('matches what a thorn receiver computes (%s)', (digest, expected) => {
    expect(hookHmac(digest, specSecret, specBody)).toBe(expected)
  })
})

describe('generateSecret', () => {
  it('is whsec_ followed by 32 random bytes in base64', () => {
    const secret = generateSecret()
    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32)
    expect(secretKey(secret)).toHaveLength(32)
  })

  it('is different every call', () => {
    const secrets = new Set(Array.from({ length: 100 }, generateSecret))
    expect(secrets.size).toBe(100)
  })
})
