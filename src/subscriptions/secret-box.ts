/**
 * Encryption of subscription secrets at rest (`createHooks({ secretEncryptionKey })`, the
 * service's `RESTHOOKS_SECRET_KEY`): AES-256-GCM with a random 96-bit nonce, stored as
 * `enc:v1:` + base64url(nonce ‖ ciphertext ‖ tag). A secret without the prefix is a plaintext
 * one from before the option was turned on, and is read as it is: turning it on needs no
 * migration, and rotating a secret stores the new one encrypted.
 */

import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { ConfigurationError } from '../errors.ts'

/** The prefix of an encrypted secret; the version names the format and the algorithm. */
export const ENCRYPTED_SECRET_PREFIX = 'enc:v1:'

const NONCE_BYTES = 12
const TAG_BYTES = 16
// Binds a ciphertext to its use: it cannot be passed off as something else resthooks decrypts.
const ASSOCIATED_DATA = Buffer.from('resthooks subscription secret v1')
const OPTION = 'secretEncryptionKey (RESTHOOKS_SECRET_KEY)'

/**
 * A stored secret cannot be read: it is encrypted and the key is missing or wrong, or it is
 * damaged. No request is signed or sent with it.
 */
export class SecretDecryptionError extends Error {
  readonly code = 'secret_decryption_failed'
  override name = 'SecretDecryptionError'
}

/** Seals secrets before they are stored and opens them before they sign. */
export interface SecretBox {
  /** The form to store: encrypted when there is a key, else `secret` itself. */
  seal(secret: string): string
  /**
   * The secret of a stored value: decrypted when it is `enc:v1:…`, else as it is.
   * @throws {SecretDecryptionError} naming the option, never the secret
   */
  open(stored: string): string
}

/**
 * The box for `key`: 32 bytes as 64 hex digits or as base64 (e.g. `openssl rand -base64 32`).
 * Without a key, secrets are stored as they are, and an encrypted one fails to open.
 *
 * @throws {ConfigurationError} when the key is not 32 bytes in one of those forms
 */
export function createSecretBox(key: string | undefined): SecretBox {
  const bytes = key === undefined ? null : parseKey(key)
  return {
    seal(secret) {
      if (bytes === null) return secret
      const nonce = randomBytes(NONCE_BYTES)
      const cipher = createCipheriv('aes-256-gcm', bytes, nonce).setAAD(ASSOCIATED_DATA)
      const sealed = Buffer.concat([nonce, cipher.update(secret, 'utf8'), cipher.final()])
      return (
        ENCRYPTED_SECRET_PREFIX + Buffer.concat([sealed, cipher.getAuthTag()]).toString('base64url')
      )
    },
    open(stored) {
      if (!stored.startsWith(ENCRYPTED_SECRET_PREFIX)) return stored
      if (bytes === null) {
        throw new SecretDecryptionError(
          `a subscription secret is encrypted, but ${OPTION} is not set: set it to the key the secret was encrypted with`,
        )
      }
      const sealed = Buffer.from(stored.slice(ENCRYPTED_SECRET_PREFIX.length), 'base64url')
      if (sealed.length < NONCE_BYTES + TAG_BYTES) {
        throw new SecretDecryptionError('a stored subscription secret is damaged (too short)')
      }
      try {
        const decipher = createDecipheriv('aes-256-gcm', bytes, sealed.subarray(0, NONCE_BYTES))
        decipher.setAAD(ASSOCIATED_DATA)
        decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES))
        const body = sealed.subarray(NONCE_BYTES, sealed.length - TAG_BYTES)
        return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
      } catch {
        throw new SecretDecryptionError(
          `a subscription secret cannot be decrypted with ${OPTION}: it was encrypted with another key (or is damaged)`,
        )
      }
    },
  }
}

function parseKey(key: string): Buffer {
  const invalid = () =>
    new ConfigurationError(
      `options.${OPTION} must be 32 bytes as 64 hex digits or as base64 (e.g. \`openssl rand -base64 32\`)`,
    )
  if (typeof key !== 'string') throw invalid()
  if (/^[0-9a-fA-F]{64}$/.test(key)) return Buffer.from(key, 'hex')
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(key)) {
    const bytes = Buffer.from(key, 'base64')
    if (bytes.length === 32) return bytes
  }
  throw invalid()
}
