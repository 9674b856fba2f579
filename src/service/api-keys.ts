import { createHash, randomBytes } from 'node:crypto'
import { ValidationError } from '../errors.ts'
import { ownerProblem } from '../events/owner.ts'
import { newId } from '../ids.ts'
import type { Store } from '../store/store.ts'

/** The prefix of every API key, so that a leaked key is recognisable (and greppable). */
export const API_KEY_PREFIX = 'rh_'

/** A key just created: the key itself is shown this once and never stored. */
export interface CreatedApiKey {
  /** The key's id (`key_…`), safe to log. */
  id: string
  owner: string
  /** `rh_` and 32 random bytes, base64url. */
  key: string
  createdAt: string
}

const KEY_SHAPE = /^rh_[A-Za-z0-9_-]{43}$/

/**
 * Creates an API key for `owner`: the service authenticates the owner's requests with
 * `Authorization: Bearer <key>`. Only the key's SHA-256 is stored; the key is returned once.
 *
 * @throws {ValidationError} when `owner` is not a non-empty string of at most 255 characters
 */
export async function createApiKey(store: Store, owner: string): Promise<CreatedApiKey> {
  const problem = ownerProblem(owner)
  if (problem) throw new ValidationError([{ field: 'owner', message: problem }])
  const key = API_KEY_PREFIX + randomBytes(32).toString('base64url')
  const createdAt = Date.now()
  const id = newId('key')
  await store.insertApiKey({ id, owner, hash: hashApiKey(key), created_at: createdAt })
  return { id, owner, key, createdAt: new Date(createdAt).toISOString() }
}

/** The owner the API key belongs to, or undefined for an unknown or malformed key. */
export async function ownerOfApiKey(store: Store, key: string): Promise<string | undefined> {
  if (!KEY_SHAPE.test(key)) return undefined
  return store.findApiKeyOwner(hashApiKey(key))
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(request: Request): string | undefined {
  const header = request.headers.get('authorization')
  const match = header?.match(/^Bearer[ \t]+(\S+)[ \t]*$/i)
  return match?.[1]
}

/** How an API key is stored: keys are random, so a fast hash suffices (SHA-256, hex). */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex')
}
