import { ConfigurationError } from '../errors.ts'
import type { SqlExecutor } from './sql-executor.ts'

/**
 * The part of a Prisma interactive-transaction client (the `tx` of
 * `prisma.$transaction(async (tx) => …)`) that resthooks needs. Declared here so that resthooks
 * never loads Prisma itself.
 */
export interface PrismaTransactionLike {
  $queryRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>
  $executeRawUnsafe(query: string, ...values: unknown[]): PromiseLike<unknown>
}

/** Whether `value` looks like a Prisma client: a transaction client or a whole `PrismaClient`. */
export function isPrismaLike(value: unknown): value is PrismaTransactionLike {
  const candidate = value as Record<string, unknown> | null
  return (
    candidate !== null &&
    typeof candidate === 'object' &&
    typeof candidate.$queryRawUnsafe === 'function' &&
    typeof candidate.$executeRawUnsafe === 'function'
  )
}

/**
 * Whether `value` is a whole `PrismaClient` rather than the client of one interactive
 * transaction: its queries may each run on another connection, outside any transaction, so it
 * cannot carry the application's transaction. (Transaction clients have no `$connect`.)
 */
export function isPrismaClient(value: unknown): boolean {
  return isPrismaLike(value) && typeof (value as { $connect?: unknown }).$connect === 'function'
}

/**
 * Statements whose rows resthooks reads. Everything else (SAVEPOINT, INSERT without RETURNING,
 * `SELECT pg_notify(…)`, whose `void` column Prisma cannot read) goes through
 * `$executeRawUnsafe`.
 */
const RETURNS_ROWS = /^\s*(?:select|with|values|table|pragma)\b|\breturning\b/i
const RETURNS_NOTHING = /^\s*select\s+pg_notify\s*\(/i
/** Comments a statement may start with (resthooks' own ask to be prepared on its pool). */
const LEADING_COMMENTS = /^\s*(?:\/\*[\s\S]*?\*\/\s*)+/

/**
 * Bridges a Prisma interactive transaction (`prisma.$transaction(async (tx) => …)`), so that
 * resthooks' outbox rows commit or roll back with it. The client must be connected (through its
 * driver adapter) to the store's database.
 *
 * Prisma returns integers of raw queries as `bigint` on some adapters; they are read back as
 * numbers (every integer resthooks stores fits in 2^53), or as strings beyond that.
 *
 * @example
 * await prisma.$transaction(async (tx) => {
 *   const book = await tx.book.create({ data: { title: 'Emma', ownerId: 'u1' } })
 *   await hooks.modelEvent('Book', 'created', book, { tx: fromPrisma(tx) })
 * })
 */
export function fromPrisma(tx: PrismaTransactionLike): SqlExecutor {
  if (!isPrismaLike(tx)) {
    throw new ConfigurationError(
      'fromPrisma(tx) takes the client of a Prisma interactive transaction: prisma.$transaction(async (tx) => …)',
    )
  }
  if (isPrismaClient(tx)) {
    throw new ConfigurationError(
      'fromPrisma(tx) was given a PrismaClient, which cannot hold a transaction: pass the tx of prisma.$transaction(async (tx) => …)',
    )
  }
  return {
    async executeSql(text, values) {
      const statement = text.replace(LEADING_COMMENTS, '')
      if (!RETURNS_ROWS.test(statement) || RETURNS_NOTHING.test(statement)) {
        await tx.$executeRawUnsafe(text, ...values)
        return { rows: [] }
      }
      const rows = await tx.$queryRawUnsafe(text, ...values)
      return { rows: Array.isArray(rows) ? rows.map(withNumbers) : [] }
    },
  }
}

/** A raw row with its `bigint` values as numbers (or as strings beyond 2^53, as `pg` does). */
function withNumbers(row: unknown): unknown {
  if (row === null || typeof row !== 'object') return row
  let copy: Record<string, unknown> | undefined
  for (const [key, value] of Object.entries(row)) {
    if (typeof value !== 'bigint') continue
    copy ??= { ...(row as Record<string, unknown>) }
    copy[key] = Number.isSafeInteger(Number(value)) ? Number(value) : value.toString()
  }
  return copy ?? row
}
