/**
 * The PostgreSQL test infrastructure itself: a database of one's own, and a restart mid-run.
 */

import pg from 'pg'
import { afterAll, beforeAll, expect, it } from 'vitest'
import {
  createTestDatabase,
  describeIfPostgres,
  postgresRestartable,
  restartPostgres,
  type TestDatabase,
} from '../support/postgres.ts'

describeIfPostgres('PostgreSQL test infrastructure', () => {
  let db: TestDatabase

  beforeAll(async () => {
    db = await createTestDatabase()
  })

  afterAll(async () => {
    await db?.drop()
  })

  it('gives each caller a database of its own', async () => {
    const other = await createTestDatabase()
    try {
      expect(other.name).not.toBe(db.name)
      expect(other.name).toMatch(/^rh_[0-9a-f]+$/)

      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      try {
        const { rows: current } = await client.query<{ name: string }>(
          'SELECT current_database() AS name',
        )
        expect(current[0]?.name).toBe(db.name)
        await client.query('CREATE TABLE books (id int PRIMARY KEY, title text NOT NULL)')
        await client.query('INSERT INTO books (id, title) VALUES ($1, $2)', [1, 'Dune'])
        const { rows } = await client.query('SELECT id, title FROM books')
        expect(rows).toEqual([{ id: 1, title: 'Dune' }])
      } finally {
        await client.end()
      }

      // The other database does not see that table.
      const otherClient = new pg.Client({ connectionString: other.url })
      await otherClient.connect()
      try {
        const { rows } = await otherClient.query("SELECT to_regclass('books') AS found")
        expect(rows).toEqual([{ found: null }])
      } finally {
        await otherClient.end()
      }
    } finally {
      await other.drop()
    }
  })

  it('drops a database even with connections still open', async () => {
    const doomed = await createTestDatabase()
    const held = new pg.Client({ connectionString: doomed.url })
    held.on('error', () => {})
    await held.connect()
    await doomed.drop()
    await doomed.drop()
    await expect(held.query('SELECT 1')).rejects.toThrow()
    await held.end().catch(() => {})
  })

  it.skipIf(!postgresRestartable())('survives a server restart with a pool', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 2 })
    // An idle client cut by the restart emits 'error' on the pool; without a listener it throws.
    pool.on('error', () => {})
    try {
      const before = await pool.query<{ one: number }>('SELECT 1 AS one')
      expect(before.rows[0]?.one).toBe(1)

      await restartPostgres()

      // The pool notices broken clients as it goes: retry briefly.
      const deadline = Date.now() + 5_000
      let after: pg.QueryResult<{ one: number }> | undefined
      while (!after) {
        try {
          after = await pool.query<{ one: number }>('SELECT 1 AS one')
        } catch (error) {
          if (Date.now() > deadline) throw error
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      }
      expect(after.rows[0]?.one).toBe(1)
    } finally {
      await pool.end()
    }
  })
})
