import { type Kysely, sql, type Transaction } from 'kysely'
import { migrations } from './migrations.ts'
import type { Schema } from './schema.ts'

/**
 * Applies the migrations above the recorded version in one transaction. `lock` runs first in
 * that transaction and must make concurrent migrators wait (SQLite's `BEGIN IMMEDIATE` already
 * does; PostgreSQL takes an advisory lock), so two processes migrating at once both succeed.
 */
export async function runMigrations(
  db: Kysely<Schema>,
  dialect: 'sqlite' | 'postgres',
  lock: (trx: Transaction<Schema>) => Promise<void> = async () => {},
): Promise<number[]> {
  return db.transaction().execute(async (trx) => {
    await lock(trx)
    await sql`CREATE TABLE IF NOT EXISTS resthooks_migrations (
      version INTEGER PRIMARY KEY,
      name TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`.execute(trx)
    const row = await trx
      .selectFrom('resthooks_migrations')
      .select((eb) => eb.fn.max('version').as('version'))
      .executeTakeFirst()
    const current = Number(row?.version ?? 0)
    const applied: number[] = []
    for (const migration of migrations) {
      if (migration.version <= current) continue
      const statements = [
        ...migration.statements,
        ...((dialect === 'postgres' ? migration.postgres : migration.sqlite) ?? []),
      ]
      for (const statement of statements) await sql.raw(statement).execute(trx)
      await trx
        .insertInto('resthooks_migrations')
        .values({ version: migration.version, name: migration.name, applied_at: Date.now() })
        .execute()
      applied.push(migration.version)
    }
    return applied
  })
}
