import type { SubscriptionTable } from '../store/schema.ts'
import type { Store } from '../store/store.ts'

/** The most `subscriptionCacheMs` may be: PRODUCT.md allows a stale answer for up to 1 s. */
export const MAX_SUBSCRIPTION_CACHE_MS = 1000

/** Lookups kept at most; past this the oldest go first. */
const MAX_ENTRIES = 10_000

interface Entry {
  rows: SubscriptionTable[]
  readAt: number
}

/**
 * The store, with dispatch's lookup of matching subscriptions (by event patterns and owner)
 * answered from memory for up to `maxAgeMs`: an event with no matching subscription then costs
 * the application's transaction one statement (the event) instead of two, and on PostgreSQL one
 * round trip less. Every change to subscriptions made through this store (subscribe, update,
 * remove, rotate, the worker disabling or removing one) empties the cache at once; a change made
 * by another process is seen within `maxAgeMs` of `clock` (the instance's `now`). Returns the
 * store itself when `maxAgeMs` is 0.
 */
export function withSubscriptionCache(store: Store, maxAgeMs: number, clock: () => number): Store {
  if (maxAgeMs === 0) return store
  const entries = new Map<string, Entry>()
  // Bumped by every change: a lookup that started before one must not store its answer.
  let generation = 0
  const changed = <T>(result: T): T => {
    generation++
    entries.clear()
    return result
  }
  const cached: Partial<Store> = {
    async findMatchingSubscriptions(executor, patterns, owner) {
      const key = `${owner === null ? '*' : `=${owner}`}\n${patterns.join('\n')}`
      const now = clock()
      const hit = entries.get(key)
      // A clock set back (the wall clock may be) ends the entry too.
      if (hit && now >= hit.readAt && now - hit.readAt < maxAgeMs) return hit.rows
      const startedAt = generation
      const rows = await store.findMatchingSubscriptions(executor, patterns, owner)
      if (startedAt === generation) {
        entries.delete(key)
        if (entries.size >= MAX_ENTRIES) {
          const oldest = entries.keys().next().value
          if (oldest !== undefined) entries.delete(oldest)
        }
        entries.set(key, { rows, readAt: now })
      }
      return rows
    },
    insertSubscription: async (row) => changed(await store.insertSubscription(row)),
    updateSubscription: async (id, owner, changes) =>
      changed(await store.updateSubscription(id, owner, changes)),
    rotateSecret: async (id, owner, secret, previousExpiresAt, now) =>
      changed(await store.rotateSecret(id, owner, secret, previousExpiresAt, now)),
    deleteSubscription: async (id, owner) => changed(await store.deleteSubscription(id, owner)),
    async recordOutcomes(outcomes, now, claim) {
      const recorded = await store.recordOutcomes(outcomes, now, claim)
      return recorded.disabled.length > 0 || recorded.removed.length > 0
        ? changed(recorded)
        : recorded
    },
  }
  // Everything else is the store's own (its db, dialect, admin queries, …).
  const wrapped = Object.assign(Object.create(store) as Store, cached)
  // Dispatch looks up through the cache, then writes, rather than letting the database match
  // (PostgreSQL's one-call dispatch), whose answer the cache would not see.
  Object.defineProperty(wrapped, 'dispatchEvent', { value: undefined })
  return wrapped
}
