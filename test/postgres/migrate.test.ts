/**
 * `resthooks migrate --database-url` from several processes at once: each succeeds (the advisory
 * lock makes the others wait, then find the schema up to date) and the schema is complete.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrations } from '../../src/store/migrations.ts'
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts'

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

function migrate(url: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      [MAIN, 'migrate', '--database-url', url, '--json'],
      { env: { ...process.env, DATABASE_URL: '' } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    )
  })
}

describe('migrations on PostgreSQL', () => {
  let database: TestDatabase

  beforeAll(async () => {
    database = await createTestDatabase()
  })
  afterAll(async () => {
    await database.drop()
  })

  it('four processes migrating at once all succeed, and the schema is complete', async () => {
    const runs = await Promise.all([1, 2, 3, 4].map(() => migrate(database.url)))
    const latest = Math.max(...migrations.map((m) => m.version))
    for (const run of runs) {
      expect(run.stderr).toBe('')
      expect(run.code).toBe(0)
      expect(JSON.parse(run.stdout)).toMatchObject({ version: latest })
    }
    // The URL is shown without its password (this one has none), and each version applied once.
    const client = new pg.Client({ connectionString: database.url })
    await client.connect()
    try {
      const applied = await client.query('SELECT version FROM resthooks_migrations ORDER BY 1')
      expect(applied.rows.map((row) => row.version)).toEqual(migrations.map((m) => m.version))
      const tables = await client.query(
        "SELECT tablename FROM pg_tables WHERE tablename LIKE 'resthooks_%' ORDER BY 1",
      )
      expect(tables.rows.map((row) => row.tablename)).toEqual([
        'resthooks_api_keys',
        'resthooks_attempts',
        'resthooks_deliveries',
        'resthooks_event_types',
        'resthooks_events',
        'resthooks_migrations',
        'resthooks_subscriptions',
      ])
      const indexes = await client.query(
        "SELECT indexname FROM pg_indexes WHERE indexname LIKE 'resthooks_%' AND indexname NOT LIKE '%_key' ORDER BY 1",
      )
      const declared = migrations
        .flatMap((m) => m.statements)
        .flatMap((statement) => /CREATE INDEX (\w+)/.exec(statement)?.[1] ?? [])
        .sort()
      expect(indexes.rows.map((row) => row.indexname)).toEqual(declared)
    } finally {
      await client.end()
    }
    const again = await migrate(database.url)
    expect(JSON.parse(again.stdout)).toEqual({ db: database.url, from: latest, version: latest })
  })
})
