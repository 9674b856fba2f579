import type { SqlExecutor } from './sql-executor.ts'

/** The part of a `pg` `Client` or `PoolClient` that resthooks needs. */
export interface PgQueryable {
  query(config: { text: string; values: unknown[]; types?: unknown }): Promise<{ rows: unknown[] }>
}

/** Whether `value` looks like a `pg` client (a `Client`, or a `PoolClient` from `pool.connect()`). */
export function isPgClientLike(value: unknown): value is PgQueryable {
  const candidate = value as Record<string, unknown> | null
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.query === 'function' &&
    (typeof candidate.release === 'function' || typeof candidate.connect === 'function') &&
    !isPgPool(candidate)
  )
}

/**
 * Whether `value` looks like a `pg.Pool`: each of its queries may run on another connection,
 * so it cannot carry the application's transaction.
 */
export function isPgPool(value: unknown): boolean {
  const candidate = value as Record<string, unknown> | null
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.query === 'function' &&
    typeof candidate.totalCount === 'number' &&
    typeof candidate.idleCount === 'number'
  )
}

/**
 * Bridges a `pg` client on which the application has opened a transaction (`BEGIN`), so that
 * resthooks' outbox rows commit or roll back with it. The client must be connected to the
 * store's database.
 *
 * @example
 * const client = await pool.connect()
 * await client.query('BEGIN')
 * const { rows: [book] } = await client.query('INSERT INTO book … RETURNING *', values)
 * await hooks.modelEvent('Book', 'created', book, { tx: fromPg(client) })
 * await client.query('COMMIT')
 * client.release()
 */
export function fromPg(client: PgQueryable): SqlExecutor {
  return {
    async executeSql(text, values) {
      const result = await client.query({ text, values: [...values] })
      return { rows: result.rows }
    },
  }
}
