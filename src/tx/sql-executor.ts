/**
 * The transaction seam. resthooks writes its outbox rows (one event, one delivery per matching
 * subscription) through an `SqlExecutor`, so that they can go through the application's own
 * open transaction and commit or roll back with its model change.
 *
 * Any client can be bridged in a few lines: run `text` with the positional `values` and return
 * the rows it produced (an empty array for statements without rows). The SQL is written in the
 * store's dialect (`?` placeholders for SQLite, `$1` for PostgreSQL), so the executor must
 * belong to a connection to the same database as the store.
 */
export interface SqlExecutor {
  executeSql(text: string, values: readonly unknown[]): Promise<{ rows: readonly unknown[] }>
}

/** Whether `value` already is an SqlExecutor. */
export function isSqlExecutor(value: unknown): value is SqlExecutor {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as SqlExecutor).executeSql === 'function'
  )
}
