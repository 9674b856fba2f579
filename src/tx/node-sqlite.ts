import type { DatabaseSync } from 'node:sqlite'
import type { SqlExecutor } from './sql-executor.ts'
import { preparedOn } from './statement-cache.ts'

/** The part of a `node:sqlite` `DatabaseSync` that resthooks needs. */
export type NodeSqliteLike = Pick<DatabaseSync, 'prepare' | 'exec'>

/** Whether `value` looks like a `node:sqlite` `DatabaseSync`. */
export function isNodeSqliteLike(value: unknown): value is NodeSqliteLike {
  const candidate = value as Record<string, unknown> | null
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.prepare === 'function' &&
    typeof candidate.exec === 'function'
  )
}

/**
 * Bridges a `node:sqlite` `DatabaseSync` connection on which the application has opened a
 * transaction (`db.exec('BEGIN')`), so that resthooks' outbox rows commit or roll back with it.
 * The connection must be to the store's database file. resthooks' statements are prepared once
 * per connection and kept (at most 256).
 *
 * @example
 * db.exec('BEGIN')
 * db.prepare('INSERT INTO book (id, title, owner_id) VALUES (?, ?, ?)').run(7, 'Emma', 'u1')
 * await hooks.modelEvent('Book', 'created', book, { tx: fromNodeSqlite(db) })
 * db.exec('COMMIT')
 */
export function fromNodeSqlite(db: NodeSqliteLike): SqlExecutor {
  return {
    async executeSql(text, values) {
      // `all()` runs any statement and returns its rows, or none.
      const rows = preparedOn(db, text).all(...(values as (string | number | bigint | null)[]))
      return { rows }
    },
  }
}
