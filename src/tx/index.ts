import { ConfigurationError } from '../errors.ts'
import { fromKysely, isKyselyLike } from './kysely.ts'
import { fromNodeSqlite, isNodeSqliteLike } from './node-sqlite.ts'
import { isSqlExecutor, type SqlExecutor } from './sql-executor.ts'

export { fromKysely, type KyselyLike } from './kysely.ts'
export { fromNodeSqlite, type NodeSqliteLike } from './node-sqlite.ts'
export type { SqlExecutor } from './sql-executor.ts'

/**
 * The application's transaction, as the `{ tx }` option of `modelEvent`/`rawEvent` takes it:
 * an `SqlExecutor` (any bridge), a Kysely transaction, or a `node:sqlite` `DatabaseSync`.
 */
export type TransactionLike = SqlExecutor | object

/** Turns what the application passed as `tx` into an executor, or says what it accepts. */
export function toSqlExecutor(tx: TransactionLike, optionPath = 'options.tx'): SqlExecutor {
  if (isSqlExecutor(tx)) return tx
  if (isKyselyLike(tx)) return fromKysely(tx)
  if (isNodeSqliteLike(tx)) return fromNodeSqlite(tx)
  throw new ConfigurationError(
    `${optionPath} must be a Kysely transaction, a node:sqlite DatabaseSync, or a bridge with executeSql(text, values) (fromKysely, fromNodeSqlite)`,
  )
}
