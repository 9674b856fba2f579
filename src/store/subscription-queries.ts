import type { Kysely } from 'kysely'
import type { Schema, SubscriptionTable } from './schema.ts'
import type { SubscriptionPage } from './store.ts'

type Db = Kysely<Schema>

export async function insertSubscription(db: Db, row: SubscriptionTable): Promise<void> {
  await db.insertInto('resthooks_subscriptions').values(row).execute()
}

export async function findSubscription(
  db: Db,
  id: string,
  owner?: string,
): Promise<SubscriptionTable | undefined> {
  let query = db.selectFrom('resthooks_subscriptions').selectAll().where('id', '=', id)
  if (owner !== undefined) query = query.where('owner', '=', owner)
  return query.executeTakeFirst()
}

export async function listSubscriptions(
  db: Db,
  page: SubscriptionPage,
): Promise<SubscriptionTable[]> {
  let query = db
    .selectFrom('resthooks_subscriptions')
    .selectAll()
    .where('owner', '=', page.owner)
    .orderBy('id', 'desc')
    .limit(page.limit)
  if (page.before !== undefined) query = query.where('id', '<', page.before)
  if (page.event !== undefined) query = query.where('event', '=', page.event)
  return query.execute()
}

export async function updateSubscription(
  db: Db,
  id: string,
  owner: string | undefined,
  changes: Partial<SubscriptionTable>,
): Promise<SubscriptionTable | undefined> {
  const { id: _id, owner: _owner, created_at: _created, ...settable } = changes
  let query = db
    .updateTable('resthooks_subscriptions')
    .set(settable)
    .where('id', '=', id)
    .returningAll()
  if (owner !== undefined) query = query.where('owner', '=', owner)
  return query.executeTakeFirst()
}

export async function rotateSecret(
  db: Db,
  id: string,
  owner: string | undefined,
  secret: string,
  previousExpiresAt: number,
  now: number,
): Promise<SubscriptionTable | undefined> {
  // One statement: the current secret becomes the previous one, even with rotations racing.
  let query = db
    .updateTable('resthooks_subscriptions')
    .set((eb) => ({
      previous_secret: eb.ref('secret'),
      previous_secret_expires_at: previousExpiresAt,
      secret,
      updated_at: now,
    }))
    .where('id', '=', id)
    .returningAll()
  if (owner !== undefined) query = query.where('owner', '=', owner)
  return query.executeTakeFirst()
}

export async function deleteSubscription(db: Db, id: string, owner?: string): Promise<boolean> {
  return db.transaction().execute(async (trx) => {
    let query = trx.deleteFrom('resthooks_subscriptions').where('id', '=', id)
    if (owner !== undefined) query = query.where('owner', '=', owner)
    const result = await query.executeTakeFirst()
    if (result.numDeletedRows === 0n) return false
    await trx
      .deleteFrom('resthooks_attempts')
      .where('delivery_id', 'in', (eb) =>
        eb.selectFrom('resthooks_deliveries').select('id').where('subscription_id', '=', id),
      )
      .execute()
    await trx.deleteFrom('resthooks_deliveries').where('subscription_id', '=', id).execute()
    return true
  })
}
