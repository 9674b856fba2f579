/**
 * Helpers for tests that need PostgreSQL. The server comes from test/global-setup.ts, through
 * RESTHOOKS_TEST_POSTGRES_URL (and RESTHOOKS_TEST_POSTGRES_DIR when we started it ourselves).
 *
 * Each test file should work in a database of its own (`createTestDatabase()`), since files run
 * in parallel against the same server.
 */

import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { describe, it } from 'vitest'

const run = promisify(execFile)
const script = fileURLToPath(new URL('../../scripts/postgres.sh', import.meta.url))

/** The test server's connection URL, if there is a server. */
export function postgresUrl(): string | undefined {
  return process.env.RESTHOOKS_TEST_POSTGRES_URL || undefined
}

/** Whether a PostgreSQL server is there for the tests. */
export function postgresAvailable(): boolean {
  return postgresUrl() !== undefined
}

/** Whether the test server can be restarted: only when global setup started it itself. */
export function postgresRestartable(): boolean {
  return postgresAvailable() && Boolean(process.env.RESTHOOKS_TEST_POSTGRES_DIR)
}

/** `describe` when PostgreSQL is available, else `describe.skip`. */
export const describeIfPostgres = describe.skipIf(!postgresAvailable())

/** `it` when PostgreSQL is available, else `it.skip`. */
export const itIfPostgres = it.skipIf(!postgresAvailable())

/** A database of one's own on the test server. */
export interface TestDatabase {
  /** Its name, `rh_<random>`. */
  name: string
  /** Its connection URL. */
  url: string
  /** Drops it, closing any connections still open to it. Safe to call more than once. */
  drop(): Promise<void>
}

/** Creates a fresh, uniquely named database on the test server. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const serverUrl = postgresUrl()
  if (!serverUrl) throw new Error('no PostgreSQL server for tests (RESTHOOKS_TEST_POSTGRES_URL)')
  const name = `rh_${randomBytes(8).toString('hex')}`
  await withClient(serverUrl, async (client) => {
    await client.query(`CREATE DATABASE ${name}`)
  })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  let dropped: Promise<void> | undefined
  return {
    name,
    url: url.toString(),
    drop() {
      dropped ??= withClient(serverUrl, async (client) => {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
      })
      return dropped
    },
  }
}

/**
 * Restarts the test server (fast shutdown: open connections are cut). Every test file shares the
 * server, so only use this where cutting other files' connections is acceptable.
 */
export async function restartPostgres(): Promise<void> {
  const dir = process.env.RESTHOOKS_TEST_POSTGRES_DIR
  if (!postgresAvailable() || !dir) {
    throw new Error('the PostgreSQL test server was not started by global setup; cannot restart')
  }
  await run('bash', [script, 'restart', dir], { timeout: 60_000 })
}

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return await use(client)
  } finally {
    await client.end()
  }
}
