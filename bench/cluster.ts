/**
 * A throwaway PostgreSQL cluster for a benchmark (scripts/postgres.sh in a temporary directory,
 * on a free port of 127.0.0.1), durable by default as an outbox wants it: fsync, synchronous
 * commit and full-page writes on (the test cluster runs with fsync off). It is stopped and its
 * directory removed when the process exits, whatever the reason.
 */

import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import pg from 'pg'

const POSTGRES_SH = fileURLToPath(new URL('../scripts/postgres.sh', import.meta.url))

// ---------------------------------------------------------------------------------------------
// Cleaning up: what a benchmark starts goes whatever happens

/** Synchronous last-resort cleanups, run on exit (normal, error or signal), newest first. */
const cleanups: (() => void)[] = []
let exitHooked = false

/** Runs the cleanups now (what a benchmark started: children, clusters), newest first. */
export function runCleanups(): void {
  while (cleanups.length > 0) {
    try {
      cleanups.pop()?.()
    } catch (error) {
      console.error(`cleanup: ${(error as Error).message}`)
    }
  }
}

/** Runs `cleanup` when the process exits, however it exits. */
export function onExit(cleanup: () => void): void {
  cleanups.push(cleanup)
  if (exitHooked) return
  exitHooked = true
  process.on('exit', runCleanups)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      console.error(`\n${signal}: stopping the benchmark`)
      process.exit(130)
    })
  }
}

// ---------------------------------------------------------------------------------------------
// The cluster

export interface Cluster {
  /** The connection URL of its `postgres` database. */
  url: string
  dir: string
  /** The URL of another database of the cluster (over the transport chosen). */
  urlOf(database: string): string
  /** How clients reach the server, for the benchmarks' headers ("over TCP on 127.0.0.1"). */
  transport: string
  /** Creates a database and resolves with its URL. */
  createDatabase(name: string): Promise<string>
  /** A small pool on `postgres`, for the benchmark's own queries. */
  admin: pg.Pool
  /** The durability settings and a few others, as `name=value, …`. */
  settings: string
  version: string
  /** Restarts the server (fast shutdown), keeping port, data and settings. */
  restart(): void
  /** Stops the server and removes its directory (also done at exit). */
  stop(): Promise<void>
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      )
    })
  })
}

/** Whether Debian's PostgreSQL is installed (what scripts/postgres.sh runs). */
export function postgresInstalled(): boolean {
  try {
    return readdirSync('/usr/lib/postgresql').some((version) =>
      existsSync(`/usr/lib/postgresql/${version}/bin/initdb`),
    )
  } catch {
    return false
  }
}

/**
 * Starts a cluster, or resolves with why it could not (PostgreSQL not installed, or it did not
 * start): for benchmarks that skip their PostgreSQL part then.
 */
export async function tryStartCluster(options: ClusterOptions = {}): Promise<Cluster | string> {
  if (!postgresInstalled()) return 'PostgreSQL is not installed (bash scripts/postgres.sh install)'
  try {
    return await startCluster(options)
  } catch (error) {
    return `PostgreSQL did not start (${(error as Error).message.split('\n')[0]})`
  }
}

export interface ClusterOptions {
  /** PostgreSQL's durable defaults (fsync on); false keeps the test cluster's. Default true. */
  durable?: boolean
  /** Loads pg_stat_statements (a restart). Default false. */
  statements?: boolean
  /**
   * How `urlOf` and `createDatabase` URLs reach the server: TCP on 127.0.0.1 (the default), or
   * the server's Unix socket in its data directory.
   */
  socket?: 'tcp' | 'unix'
}

/** Starts a cluster; resolves once it answers. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const durable = options.durable ?? true
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-pgbench-'))
  const port = await freePort()
  let stopped = false
  const stopNow = () => {
    if (stopped) return
    stopped = true
    execFileSync(POSTGRES_SH, ['stop', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
  }
  onExit(stopNow)
  const out = execFileSync(POSTGRES_SH, ['start', dir, String(port)], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const url = out.trim().split('\n').at(-1) ?? ''
  if (!url.startsWith('postgres://')) throw new Error(`scripts/postgres.sh printed no URL: ${out}`)
  const restart = () =>
    execFileSync(POSTGRES_SH, ['restart', dir], { stdio: ['ignore', 'ignore', 'inherit'] })
  if (options.statements) {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    await client.query(`ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'`)
    await client.end()
    restart()
  }
  const admin = new pg.Pool({ connectionString: url, max: 2 })
  admin.on('error', () => {})
  if (durable) {
    await admin.query('ALTER SYSTEM SET fsync = on')
    await admin.query('ALTER SYSTEM SET synchronous_commit = on')
    await admin.query('ALTER SYSTEM SET full_page_writes = on')
    await admin.query('SELECT pg_reload_conf()')
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  const names = ['fsync', 'synchronous_commit', 'full_page_writes', 'wal_sync_method']
  const shown: string[] = []
  // A new connection, so that it sees the reloaded settings.
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    for (const name of [...names, 'shared_buffers', 'max_connections']) {
      const { rows } = await client.query(`SHOW ${name}`)
      shown.push(`${name}=${Object.values(rows[0] ?? {})[0]}`)
    }
    const { rows } = await client.query('SHOW server_version')
    const version = String(Object.values(rows[0] ?? {})[0])
    if (durable && !shown.includes('fsync=on')) throw new Error(`fsync is not on: ${shown}`)
    const unix = options.socket === 'unix'
    const urlOf = (database: string) => {
      const parsed = new URL(url)
      parsed.pathname = `/${database}`
      // pg reads a host given as a parameter as the directory of the server's socket.
      if (unix) parsed.searchParams.set('host', dir)
      return parsed.toString()
    }
    return {
      url,
      dir,
      admin,
      settings: shown.join(', '),
      version,
      urlOf,
      transport: unix ? 'over its Unix socket' : 'over TCP on 127.0.0.1',
      async createDatabase(name) {
        if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad database name '${name}'`)
        await admin.query(`CREATE DATABASE ${name}`)
        return urlOf(name)
      },
      restart,
      async stop() {
        await admin.end().catch(() => {})
        stopNow()
      },
    }
  } finally {
    await client.end()
  }
}
