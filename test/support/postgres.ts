/**
 * Helpers for tests that need PostgreSQL. The server comes from test/global-setup.ts, through
 * RESTHOOKS_TEST_POSTGRES_URL (and RESTHOOKS_TEST_POSTGRES_DIR when we started it ourselves).
 *
 * Each test file should work in a database of its own (`createTestDatabase()`), since files run
 * in parallel against the same server.
 */

import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { describe, it } from 'vitest'
import { clusterBaseDir, freePort } from './ports-and-dirs.ts'

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

/** A PostgreSQL cluster of a test's own, which it may restart without disturbing other files. */
export interface PrivateCluster {
  /** Connection URL of its `postgres` database (superuser `postgres`, no password). */
  url: string
  /** Its data directory. */
  dir: string
  /** Restarts it (fast shutdown: open connections are cut), on the same port. */
  restart(): Promise<void>
  /** Stops it and removes its directory. Safe to call more than once. */
  stop(): Promise<void>
}

/**
 * Whether a private cluster can start: there is a test server (so PostgreSQL tests run at all)
 * and PostgreSQL's binaries are installed here (the server may be someone else's).
 */
export function privateClusterPossible(): boolean {
  if (!postgresAvailable()) return false
  try {
    return readdirSync('/usr/lib/postgresql').some((version) =>
      existsSync(`/usr/lib/postgresql/${version}/bin/initdb`),
    )
  } catch {
    return false
  }
}

/**
 * Starts a throwaway cluster of its own (`scripts/postgres.sh start`) in a fresh directory, on a
 * free port, as global setup starts the shared one. Stop it in afterAll; should the process end
 * first, it is stopped on exit.
 */
export async function startPrivateCluster(): Promise<PrivateCluster> {
  const dir = mkdtempSync(join(clusterBaseDir(), 'resthooks-pg-'))
  const stopSync = () => {
    try {
      execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore', timeout: 60_000 })
    } catch {
      // Best effort; then at least remove the directory.
    }
    rmSync(dir, { recursive: true, force: true })
  }
  let url: string
  try {
    const port = await freePort()
    const { stdout } = await run('bash', [script, 'start', dir, String(port)], { timeout: 60_000 })
    url = stdout.trim().split('\n').at(-1) ?? ''
    if (!url.startsWith('postgres://')) throw new Error(`unexpected output: ${stdout.trim()}`)
  } catch (error) {
    stopSync()
    throw error
  }
  process.once('exit', stopSync)
  let stopped: Promise<void> | undefined
  return {
    url,
    dir,
    async restart() {
      await run('bash', [script, 'restart', dir], { timeout: 60_000 })
    },
    stop() {
      stopped ??= (async () => {
        process.off('exit', stopSync)
        await run('bash', [script, 'stop', dir], { timeout: 60_000 })
      })()
      return stopped
    },
  }
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
