import { randomFillSync } from 'node:crypto'
import { monotonicFactory } from 'ulid'

/** The prefixes of resthooks' ids: they say what an id names, as Stripe's and Svix's do. */
export type IdPrefix = 'evt' | 'hook' | 'dlv' | 'atm' | 'key'

/**
 * The ULIDs' randomness, from the system's CSPRNG read 4 KiB at a time: ulid asks for one
 * number per character, and one `getRandomValues` call each made ids a visible cost per
 * delivery. Each byte yields a fraction in [0, 1) whose top 5 bits pick the character.
 */
const pool = new Uint8Array(4096)
let next = pool.length
function bufferedRandom(): number {
  if (next === pool.length) {
    randomFillSync(pool)
    next = 0
  }
  return (pool[next++] as number) / 256
}

const nextUlid = monotonicFactory(bufferedRandom)

/**
 * A new sortable id, e.g. `evt_01JD…`. ULIDs sort by creation time, so ids double as cursors
 * for "newest first" pages and the `?after=` event feed.
 */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${nextUlid()}`
}
