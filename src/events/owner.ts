/** What an owner resolver returns: the owner's id, or nothing when the instance has none. */
export type OwnerValue = string | number | bigint | null | undefined

/** What an owner resolver is told beside the instance and its model. */
export interface OwnerContext {
  /** The model action being dispatched (`created`, `updated`, `read`, …). */
  action: string
  /**
   * The application's transaction exactly as it was passed to `modelEvent` (a Prisma transaction
   * client, a TypeORM `EntityManager`, a Kysely or Drizzle transaction, a `pg` client), so that a
   * resolver can follow a relation inside the same transaction; undefined without one.
   */
  tx: unknown
}

/**
 * Finds the owner (user or tenant id) of a model instance. Returns null when it has none. It may
 * be async, to load the owner through a relation (the seeds'
 * `user = property(lambda self: self.intermediary.user)`).
 *
 * @default reads `ownerId`, then `userId`, then `user.id`
 * @example
 * owner: async (instance, model, { tx }) =>
 *   model === 'Chapter' ? (await bookOf(tx, instance.bookId)).ownerId : defaultOwner(instance)
 */
export type OwnerResolver = (
  // biome-ignore lint/suspicious/noExplicitAny: resolvers receive the application's own model types
  instance: any,
  model: string,
  context: OwnerContext,
) => OwnerValue | Promise<OwnerValue>

/** The default owner resolution: `ownerId`, then `userId`, then `user.id`. */
export const defaultOwner = (instance: unknown): OwnerValue => {
  if (instance === null || typeof instance !== 'object') return null
  const record = instance as Record<string, unknown>
  const user = record.user
  const candidates = [
    record.ownerId,
    record.userId,
    user !== null && typeof user === 'object' ? (user as Record<string, unknown>).id : undefined,
  ]
  for (const candidate of candidates) {
    if (typeof candidate === 'string' || typeof candidate === 'number') return candidate
    if (typeof candidate === 'bigint') return candidate.toString()
  }
  return null
}

/** Normalises a resolved owner to the string stored on rows, or null. */
export function ownerString(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value
  if (typeof value === 'number' && Number.isFinite(value)) return String(value)
  if (typeof value === 'bigint') return value.toString()
  return null
}

/** Why `owner` cannot be an owner id, or null: ids are non-empty text without control characters. */
export function ownerProblem(owner: unknown): string | null {
  if (typeof owner !== 'string' || owner.trim() === '') return 'must be a non-empty string'
  if (owner.length > 255) return 'must be at most 255 characters'
  if (hasControlCharacters(owner)) return 'must not contain control characters'
  return null
}

/** Whether `text` holds control characters (NUL, CR, LF, …), which ids and names never do. */
export function hasControlCharacters(text: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters
  return /[\u0000-\u001f\u007f]/.test(text)
}
