import type { Command } from 'commander'
import type { Hooks } from '../hooks.ts'
import { createOutput } from './output.ts'
import { migrateSchema, openHooks, storageOf, withCommonOptions } from './storage.ts'

/** `resthooks migrate`: creates or upgrades the schema. */
export function registerMigrate(program: Command): void {
  const command = program
    .command('migrate')
    .description('create or upgrade the schema (every command also does this first)')
  withCommonOptions(command).action(async (_options: unknown, cmd: Command) => {
    const storage = storageOf(cmd)
    const output = createOutput(storage.json)
    const hooks = await openHooks(storage)
    try {
      const before = await schemaVersion(hooks)
      await migrateSchema(hooks, storage.path)
      const after = await schemaVersion(hooks)
      const text =
        before === after
          ? `${storage.path}: schema is up to date (version ${after})`
          : `${storage.path}: schema migrated from version ${before} to ${after}`
      output.result(text, { db: storage.path, from: before, version: after })
    } finally {
      await hooks.close()
    }
  })
}

/** The schema version recorded in the database; 0 when it has none yet. */
async function schemaVersion(hooks: Hooks): Promise<number> {
  try {
    const row = await hooks.store.db
      .selectFrom('resthooks_migrations')
      .select((eb) => eb.fn.max('version').as('version'))
      .executeTakeFirst()
    return Number(row?.version ?? 0)
  } catch {
    return 0
  }
}
