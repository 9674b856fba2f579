/** A page of a list; `next` is the cursor of the following page, or null on the last. */
export interface Page<T> {
  data: T[]
  next: string | null
}

const DEFAULT_LIMIT = 50
const MAX_LIMIT = 250

/**
 * The page size for a requested `limit`: 50 by default, between 1 and 250. Anything that is not
 * a number (e.g. `?limit=abc`) means the default rather than an error from the database.
 */
export function pageLimit(limit: number | undefined): number {
  const requested = Math.trunc(Number(limit ?? DEFAULT_LIMIT))
  return Number.isNaN(requested) ? DEFAULT_LIMIT : Math.min(Math.max(requested, 1), MAX_LIMIT)
}

/**
 * A page from rows fetched with `limit + 1`: the extra row only tells that there is a next page,
 * whose cursor is the id of this page's last item.
 */
export function toPage<R, T extends { id: string }>(
  rows: R[],
  limit: number,
  map: (row: R) => T,
): Page<T> {
  const data = rows.slice(0, limit).map(map)
  return { data, next: rows.length > limit ? (data.at(-1)?.id ?? null) : null }
}
