import { CompiledQuery } from 'kysely'
import type { SqlExecutor } from './sql-executor.ts'

/** The part of a Kysely instance or transaction that resthooks needs. */
export interface KyselyLike {
  executeQuery(query: CompiledQuery): Promise<{ rows: unknown[] }>
}

/** Whether `value` looks like a Kysely instance or transaction. */
export function isKyselyLike(value: unknown): value is KyselyLike {
  const candidate = value as Record<string, unknown> | null
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.executeQuery === 'function' &&
    typeof candidate.selectFrom === 'function'
  )
}

/**
 * Bridges a Kysely transaction (`db.transaction().execute(async (trx) => …)`), so that
 * resthooks' outbox rows commit or roll back with it.
 *
 * @example
 * await db.transaction().execute(async (trx) => {
 *   const book = await trx.insertInto('book').values(input).returningAll().executeTakeFirstOrThrow()
 *   await hooks.modelEvent('Book', 'created', book, { tx: fromKysely(trx) })
 * })
 */
export function fromKysely(trx: KyselyLike): SqlExecutor {
  return {
    async executeSql(text, values) {
      const result = await trx.executeQuery(CompiledQuery.raw(text, [...values]))
      return { rows: result.rows }
    },
  }
}
