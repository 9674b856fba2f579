/**
 * The one implementation of the Standard Webhooks signature, shared by the sender
 * (`src/delivery/signature.ts`) and the receiver (`resthooks/verify`). It lives here rather than
 * in `src/delivery/` because the verify subpath must stay free of the rest of the library.
 * Internal: not part of the public API.
 */

import { createHmac, type KeyObject } from 'node:crypto'

/** The prefix Standard Webhooks gives to a base64 secret so it is recognisable in configuration. */
export const SECRET_PREFIX = 'whsec_'

// Canonical padded base64 only: Buffer.from(…, 'base64') silently skips characters it does not
// understand, so a mistyped secret would otherwise become a different, valid-looking key.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/**
 * Decodes a Standard Webhooks secret into its HMAC key. The `whsec_` prefix is optional, as it is
 * in the reference libraries.
 *
 * @returns the key, or `undefined` when the secret is not non-empty canonical base64 (callers
 *   throw their own error, so the secret never ends up in a message).
 * @example
 * decodeSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')?.length // 24
 */
export function decodeSecret(secret: string): Buffer | undefined {
  const encoded = secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret
  if (encoded.length === 0 || !BASE64.test(encoded)) return undefined
  return Buffer.from(encoded, 'base64')
}

/**
 * The Standard Webhooks signature of one message, without its `v1,` version prefix:
 * base64(HMAC-SHA256(key, `${id}.${timestamp}.${body}`)).
 *
 * A byte body is signed as is, so a receiver never has to round-trip raw bytes through a string
 * (which would alter invalid UTF-8 and break the signature); a string body is signed as UTF-8.
 *
 * @param timestamp unix seconds, as written in the `webhook-timestamp` header.
 * @example
 * const key = decodeSecret('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')!
 * computeSignature(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')
 * // 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
 */
export function computeSignature(
  key: Uint8Array | KeyObject,
  id: string,
  timestamp: number | string,
  body: string | Uint8Array,
): string {
  return createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64')
}
