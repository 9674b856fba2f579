/**
 * How the Prisma extension reaches the transaction a query runs in.
 *
 * Prisma has no public API for this (prisma/orm#20789, #20678): a query extension is told neither
 * whether its query runs in a transaction nor which, and queries it sends through the client run
 * outside. Two of Prisma's own mechanisms do it, and are all the extension relies on:
 *
 * - Query-extension callbacks receive `__internalParams`, whose `transaction` is Prisma's
 *   description of the transaction the query runs in: `{ kind: 'itx', id }` inside
 *   `prisma.$transaction(async (tx) => …)`, `{ kind: 'batch', … }` inside `$transaction([…])`,
 *   undefined for a lone call.
 * - A query not yet sent (a PrismaPromise) runs in a given transaction with
 *   `requestTransaction(transaction)`: Prisma's own batch and interactive transactions work so.
 *
 * Both are checked on every use, and a Prisma version without them is a clear error rather than
 * an outbox written outside the transaction; test/integrations/prisma.test.ts pins the
 * behaviour.
 */
import { EventError } from '../errors.ts'
import { fromPrisma } from '../tx/prisma.ts'
import type { SqlExecutor } from '../tx/sql-executor.ts'

/** Prisma's description of a transaction (its internal `PrismaPromiseTransaction`). */
export interface PrismaTransactionInfo {
  kind: 'itx' | 'batch'
  id: string | number
}

/** What a query extension callback receives, with the internal parameters it is also given. */
export interface QueryCallbackArgs {
  model?: string
  operation: string
  args: Record<string, unknown> | unknown[]
  query: (args: unknown) => PromiseLike<unknown>
  __internalParams?: { transaction?: PrismaTransactionInfo }
}

const UNSUPPORTED =
  'resthooks’ Prisma extension cannot find the transaction of this query: it supports Prisma 7, whose query extensions pass __internalParams.transaction and whose queries can be sent in a transaction (requestTransaction)'

/**
 * The transaction the query of this callback runs in, or undefined for a lone call. Throws when
 * Prisma does not say (a version this extension does not know), since guessing would write the
 * outbox outside the transaction.
 */
export function transactionOf(callback: QueryCallbackArgs): PrismaTransactionInfo | undefined {
  const params = callback.__internalParams
  if (params === null || typeof params !== 'object' || !('transaction' in params)) {
    throw new EventError(UNSUPPORTED)
  }
  const { transaction } = params
  if (transaction === undefined || transaction === null) return undefined
  if (transaction.kind !== 'itx' && transaction.kind !== 'batch') throw new EventError(UNSUPPORTED)
  return transaction
}

/** Sends a query not yet sent (a PrismaPromise) in `transaction`. */
export function sendIn<T>(query: PromiseLike<T>, transaction: PrismaTransactionInfo): Promise<T> {
  const prismaPromise = query as PromiseLike<T> & {
    requestTransaction?: (transaction: PrismaTransactionInfo) => PromiseLike<T>
  }
  if (typeof prismaPromise.requestTransaction !== 'function') {
    throw new EventError(UNSUPPORTED)
  }
  return Promise.resolve(prismaPromise.requestTransaction(transaction))
}

/** Client methods a transaction cannot use (as on Prisma's own transaction clients). */
const HIDDEN = new Set<PropertyKey>([
  '$connect',
  '$disconnect',
  '$on',
  '$use',
  '$extends',
  '$transaction',
])

/**
 * A Prisma client bound to a transaction, as the extension passes it to `modelEvent`'s
 * `{ tx }` (and so to the `owner` resolver): `tx.book.findUnique(…)`, `tx.$queryRaw…` run in
 * the transaction of the change; it also is resthooks' SqlExecutor for that transaction.
 */
export type PrismaTransactionView = Record<string, unknown> & SqlExecutor

/**
 * Binds `client` (the client the extension extends) to `transaction`: every query its model
 * methods and raw-query methods return is sent in the transaction. Queries are sent when the
 * method is called, so they are awaited rather than chained (no fluent relation calls).
 *
 * `own`: the extension opened the transaction for this one change. Nothing else is written in
 * it, and any error rolls all of it back, so the savepoint resthooks puts around its outbox rows
 * (for applications that catch an error and commit the rest) is redundant there, and skipped:
 * two statements fewer per change.
 */
export function transactionView(
  client: object,
  transaction: PrismaTransactionInfo,
  own = false,
): PrismaTransactionView {
  const bind = (result: unknown): unknown => {
    const candidate = result as { requestTransaction?: unknown } | null
    return candidate !== null &&
      typeof candidate === 'object' &&
      typeof candidate.requestTransaction === 'function'
      ? sendIn(candidate as PromiseLike<unknown>, transaction)
      : result
  }
  const bound = new Map<PropertyKey, unknown>()
  let executor: SqlExecutor | undefined
  const view: PrismaTransactionView = new Proxy(client as PrismaTransactionView, {
    get(target, property) {
      if (property === 'executeSql') {
        executor ??= own ? withoutSavepoints(fromPrisma(view as never)) : fromPrisma(view as never)
        return executor.executeSql
      }
      if (HIDDEN.has(property)) return undefined
      if (bound.has(property)) return bound.get(property)
      const value = Reflect.get(target, property)
      let result = value
      if (typeof value === 'function') {
        result = (...args: unknown[]) => bind(value.apply(target, args))
      } else if (isModelDelegate(value)) {
        result = new Proxy(value, {
          get(delegate, name) {
            const method = Reflect.get(delegate, name)
            return typeof method === 'function'
              ? (...args: unknown[]) => bind(method.apply(delegate, args))
              : method
          },
        })
      }
      bound.set(property, result)
      return result
    },
    has: (target, property) => !HIDDEN.has(property) && Reflect.has(target, property),
  })
  return view
}

const SAVEPOINT_STATEMENT = /^\s*(?:savepoint|release|rollback\s+to)\b/i

function withoutSavepoints(executor: SqlExecutor): SqlExecutor {
  return {
    executeSql: (text, values) =>
      SAVEPOINT_STATEMENT.test(text)
        ? Promise.resolve({ rows: [] })
        : executor.executeSql(text, values),
  }
}

function isModelDelegate(value: unknown): value is object {
  return (
    value !== null &&
    typeof value === 'object' &&
    typeof (value as { findMany?: unknown }).findMany === 'function'
  )
}

/**
 * A Prisma transaction client (the `tx` of `prisma.$transaction(async (tx) => …)`) that also is
 * resthooks' SqlExecutor for its transaction, so that `modelEvent` writes through it and the
 * `owner` resolver receives the client itself.
 */
export function withExecutor(tx: object): PrismaTransactionView {
  let executor: SqlExecutor | undefined
  return new Proxy(tx as PrismaTransactionView, {
    get(target, property) {
      if (property === 'executeSql') {
        executor ??= fromPrisma(target as never)
        return executor.executeSql
      }
      const value = Reflect.get(target, property)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
