/**
 * resthooks' statements on an application's SQLite connection (better-sqlite3, `node:sqlite`),
 * prepared once per connection: they run in every transaction that records an event, and
 * preparing them anew (what Drizzle's, TypeORM's and Kysely's SQLite drivers do for each query)
 * costs more than running them. It also leaves no statement per query for the garbage collector
 * to finalize, which better-sqlite3 12 on Node 24.19 and later cannot always do safely.
 */

/** Statements kept per connection, at most (the oldest go first). */
const STATEMENTS_PER_CONNECTION = 256

const caches = new WeakMap<object, Map<string, unknown>>()

/** `text` prepared on `connection`, from the connection's cache when it was before. */
export function preparedOn<Statement>(
  connection: { prepare(text: string): Statement },
  text: string,
): Statement {
  let cache = caches.get(connection)
  if (!cache) {
    cache = new Map()
    caches.set(connection, cache)
  }
  let statement = cache.get(text) as Statement | undefined
  if (statement === undefined) {
    statement = connection.prepare(text)
    cache.set(text, statement)
    if (cache.size > STATEMENTS_PER_CONNECTION) cache.delete(cache.keys().next().value ?? '')
  }
  return statement
}
