import type { Kysely } from 'kysely'
import type { DeliveryStatus, EventTable, Schema } from './schema.ts'

type Db = Kysely<Schema>

/** The owner's events and the broadcast ones, oldest first, after the event `after`. */
export async function listEvents(
  db: Db,
  owner: string,
  after: string | undefined,
  limit: number,
): Promise<EventTable[]> {
  let query = db
    .selectFrom('resthooks_events')
    .selectAll()
    .where((eb) => eb.or([eb('owner', '=', owner), eb('owner', 'is', null)]))
    .orderBy('id')
    .limit(limit)
  if (after !== undefined) query = query.where('id', '>', after)
  return query.execute()
}

export async function countDeliveries(
  db: Db,
  status: DeliveryStatus,
  since: number | undefined,
): Promise<number> {
  let query = db
    .selectFrom('resthooks_deliveries')
    .select((eb) => eb.fn.countAll().as('count'))
    .where('status', '=', status)
  if (since !== undefined) query = query.where('updated_at', '>=', since)
  const row = await query.executeTakeFirst()
  return Number(row?.count ?? 0)
}

/**
 * Deletes up to `batchSize` finished deliveries created before `before`, with their attempts,
 * in one short transaction; then, when none are left, events older than `before` that have no
 * delivery left. Returns how many rows of each went, so that callers repeat until both are 0.
 */
export async function pruneBatch(
  db: Db,
  before: number,
  batchSize: number,
): Promise<{ deliveries: number; events: number }> {
  return db.transaction().execute(async (trx) => {
    const ids = (
      await trx
        .selectFrom('resthooks_deliveries')
        .select('id')
        .where('status', '<>', 'pending')
        .where('created_at', '<', before)
        .limit(batchSize)
        .execute()
    ).map((row) => row.id)
    if (ids.length > 0) {
      await trx.deleteFrom('resthooks_attempts').where('delivery_id', 'in', ids).execute()
      await trx.deleteFrom('resthooks_deliveries').where('id', 'in', ids).execute()
      return { deliveries: ids.length, events: 0 }
    }
    const events = await trx
      .deleteFrom('resthooks_events')
      .where(
        'id',
        'in',
        trx
          .selectFrom('resthooks_events as e')
          .select('e.id')
          .where('e.created_at', '<', before)
          .where(({ not, exists, selectFrom }) =>
            not(
              exists(
                selectFrom('resthooks_deliveries as d')
                  .select('d.id')
                  .whereRef('d.event_id', '=', 'e.id'),
              ),
            ),
          )
          .limit(batchSize),
      )
      .executeTakeFirst()
    return { deliveries: 0, events: Number(events.numDeletedRows) }
  })
}
