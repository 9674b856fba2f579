import { ConfigurationError } from '../errors.ts'
import { fromDrizzle, isDrizzleLike } from './drizzle.ts'
import { fromKysely, isKyselyLike } from './kysely.ts'
import { fromNodeSqlite, isNodeSqliteLike } from './node-sqlite.ts'
import { fromPg, isPgClientLike, isPgPool } from './pg.ts'
import { fromPrisma, isPrismaClient, isPrismaLike } from './prisma.ts'
import { isSqlExecutor, type SqlExecutor } from './sql-executor.ts'
import { fromTypeORM, isTypeORMLike } from './typeorm.ts'

export { type DrizzleLike, fromDrizzle } from './drizzle.ts'
export { fromKysely, type KyselyLike } from './kysely.ts'
export { fromNodeSqlite, type NodeSqliteLike } from './node-sqlite.ts'
export { fromPg, type PgQueryable } from './pg.ts'
export { fromPrisma, type PrismaTransactionLike } from './prisma.ts'
export type { SqlExecutor } from './sql-executor.ts'
export {
  fromTypeORM,
  isTypeORMLike,
  type TypeORMEntityManagerLike,
  type TypeORMQueryRunnerLike,
  type TypeORMTransactionLike,
} from './typeorm.ts'

/**
 * The application's transaction, as the `{ tx }` option of `modelEvent`/`rawEvent` takes it:
 * an `SqlExecutor` (any bridge), a Kysely or Drizzle transaction, a TypeORM transaction's `EntityManager`
 * or `QueryRunner`, a Prisma interactive transaction's `tx`, a `pg` client inside `BEGIN`, or a
 * `node:sqlite` `DatabaseSync`.
 */
export type TransactionLike = SqlExecutor | object

/** Turns what the application passed as `tx` into an executor, or says what it accepts. */
export function toSqlExecutor(tx: TransactionLike, optionPath = 'options.tx'): SqlExecutor {
  if (isSqlExecutor(tx)) return tx
  // Before the pg checks: a TypeORM EntityManager or QueryRunner also has `query()`.
  if (isTypeORMLike(tx)) return fromTypeORM(tx, optionPath)
  if (isKyselyLike(tx)) return fromKysely(tx)
  if (isDrizzleLike(tx)) return fromDrizzle(tx, optionPath)
  if (isNodeSqliteLike(tx)) return fromNodeSqlite(tx)
  if (isPgPool(tx)) {
    throw new ConfigurationError(
      `${optionPath} is a pg.Pool, which cannot hold a transaction: pass the client of your transaction (const client = await pool.connect(); await client.query('BEGIN'))`,
    )
  }
  if (isPgClientLike(tx)) return fromPg(tx)
  if (isPrismaClient(tx)) {
    throw new ConfigurationError(
      `${optionPath} is a PrismaClient, which cannot hold a transaction: pass the tx of prisma.$transaction(async (tx) => …)`,
    )
  }
  if (isPrismaLike(tx)) return fromPrisma(tx)
  throw new ConfigurationError(
    `${optionPath} must be a Kysely transaction, a Drizzle transaction, a TypeORM EntityManager or QueryRunner in a transaction, a Prisma transaction client, a pg client, a node:sqlite DatabaseSync, or a bridge with executeSql(text, values) (fromKysely, fromDrizzle, fromTypeORM, fromPrisma, fromPg, fromNodeSqlite)`,
  )
}
