import { monotonicFactory } from 'ulid'

/** The prefixes of resthooks' ids: they say what an id names, as Stripe's and Svix's do. */
export type IdPrefix = 'evt' | 'hook' | 'dlv' | 'atm' | 'key'

const nextUlid = monotonicFactory()

/**
 * A new sortable id, e.g. `evt_01JD…`. ULIDs sort by creation time, so ids double as cursors
 * for "newest first" pages and the `?after=` event feed.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`
}
