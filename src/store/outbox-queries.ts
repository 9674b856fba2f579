import type { Kysely } from 'kysely'
import type { SqlExecutor } from '../tx/sql-executor.ts'
import type { DeliveryTable, EventTable, Schema, SubscriptionTable } from './schema.ts'

type Db = Kysely<Schema>

/** Rows per multi-row INSERT: well under SQLite's and PostgreSQL's bound-parameter limits. */
const DELIVERIES_PER_INSERT = 500

export async function findMatchingSubscriptions(
  db: Db,
  executor: SqlExecutor,
  patterns: readonly string[],
  owner: string | null,
): Promise<SubscriptionTable[]> {
  let query = db
    .selectFrom('resthooks_subscriptions')
    .selectAll()
    .where('event', 'in', patterns)
    .where('status', '=', 'active')
  if (owner !== null) query = query.where('owner', '=', owner)
  const compiled = query.compile()
  const { rows } = await executor.executeSql(compiled.sql, compiled.parameters)
  return rows as SubscriptionTable[]
}

/**
 * Writes the event and its deliveries inside a savepoint, so that they are all or nothing even
 * when the application catches an error and commits the rest of its transaction.
 */
export async function writeEvent(
  db: Db,
  executor: SqlExecutor,
  event: EventTable,
  deliveries: DeliveryTable[],
): Promise<void> {
  await executor.executeSql('SAVEPOINT resthooks_outbox', [])
  try {
    const insertEvent = db.insertInto('resthooks_events').values(event).compile()
    await executor.executeSql(insertEvent.sql, insertEvent.parameters)
    for (let i = 0; i < deliveries.length; i += DELIVERIES_PER_INSERT) {
      const chunk = deliveries.slice(i, i + DELIVERIES_PER_INSERT)
      const insert = db.insertInto('resthooks_deliveries').values(chunk).compile()
      await executor.executeSql(insert.sql, insert.parameters)
    }
  } catch (error) {
    try {
      await executor.executeSql('ROLLBACK TO SAVEPOINT resthooks_outbox', [])
      await executor.executeSql('RELEASE SAVEPOINT resthooks_outbox', [])
    } catch {
      // The database ended the whole transaction itself, and the savepoint with it (SQLite does
      // after SQLITE_FULL, a full disk, or SQLITE_IOERR): nothing was written. The error that
      // caused it is the one the caller needs, not "no such savepoint".
    }
    throw error
  }
  await executor.executeSql('RELEASE SAVEPOINT resthooks_outbox', [])
}
