import { createHash, timingSafeEqual } from 'node:crypto'

/** The shortest admin key the service accepts. */
export const MIN_ADMIN_KEY_LENGTH = 16

/**
 * Whether `given` is the admin key (`RESTHOOKS_ADMIN_KEY`), compared in constant time: both are
 * hashed first, so neither their content nor their length shows in the time taken.
 */
export function isAdminKey(adminKey: string, given: string | undefined): boolean {
  if (given === undefined || adminKey === '') return false
  const expected = createHash('sha256').update(adminKey).digest()
  const actual = createHash('sha256').update(given).digest()
  return timingSafeEqual(expected, actual)
}

/** Why `adminKey` cannot be the admin key, or null when it can. */
export function adminKeyProblem(adminKey: string): string | null {
  if (adminKey.length < MIN_ADMIN_KEY_LENGTH) {
    return `RESTHOOKS_ADMIN_KEY must be at least ${MIN_ADMIN_KEY_LENGTH} characters (e.g. \`openssl rand -hex 32\`)`
  }
  if (/\s/.test(adminKey)) return 'RESTHOOKS_ADMIN_KEY must not contain whitespace'
  return null
}
