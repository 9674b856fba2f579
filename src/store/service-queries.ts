import type { Kysely } from 'kysely'
import type { ApiKeyTable, EventTypeTable, Schema } from './schema.ts'

type Db = Kysely<Schema>

export async function insertApiKey(db: Db, row: ApiKeyTable): Promise<void> {
  await db.insertInto('resthooks_api_keys').values(row).execute()
}

export async function findApiKeyOwner(db: Db, hash: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('resthooks_api_keys')
    .select('owner')
    .where('hash', '=', hash)
    .executeTakeFirst()
  return row?.owner
}

/** Stores event types; a name already stored keeps its first mapping. */
export async function saveEventTypes(db: Db, rows: EventTypeTable[]): Promise<void> {
  if (rows.length === 0) return
  await db
    .insertInto('resthooks_event_types')
    .values(rows)
    .onConflict((oc) => oc.column('name').doNothing())
    .execute()
}

export async function listEventTypes(db: Db): Promise<EventTypeTable[]> {
  return db.selectFrom('resthooks_event_types').selectAll().orderBy('name').execute()
}
