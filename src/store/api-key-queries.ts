import type { Kysely } from 'kysely'
import type { ApiKeyTable, Schema } from './schema.ts'

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
