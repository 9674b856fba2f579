import { existsSync } from 'node:fs'
import { type Command, Option } from 'commander'
import { createTargetGuard } from '../delivery/target-guard.ts'
import type { EventMap } from '../events/event-registry.ts'
import type { Hooks } from '../hooks.ts'
import type { Store } from '../store/store.ts'
import { CommandFailed, UsageError } from './cli-errors.ts'

/** The options every command takes: where the data is, which targets to admit, the output. */
export interface CommonOptions {
  db: string
  databaseUrl?: string
  allowTargets?: string
  json?: boolean
}

/** Where a command's data lives and which private targets its deliveries may reach. */
export interface Storage {
  /** The SQLite file, or the PostgreSQL URL without its password: what messages name. */
  path: string
  /** The PostgreSQL URL, when the data lives in PostgreSQL. */
  databaseUrl?: string
  allowTargets: string[]
  json: boolean
}

/** Adds `--db`, `--database-url`, `--allow-targets` and `--json` to `command`. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--db <file>', 'the SQLite database file', './resthooks.db')
    .addOption(
      new Option('--database-url <url>', 'a PostgreSQL URL instead of --db (env DATABASE_URL)'),
    )
    .addOption(
      new Option(
        '--allow-targets <cidr,…>',
        'private ranges deliveries may reach, e.g. 127.0.0.0/8 for local development',
      ).env('RESTHOOKS_ALLOW_TARGETS'),
    )
    .option('--json', 'print the result as JSON, for scripts')
}

/**
 * Reads the common options of `command`. The data is in PostgreSQL with `--database-url`, or
 * with `DATABASE_URL` when `--db` is not given; otherwise in the SQLite file `--db`.
 */
export function storageOf(command: Command): Storage {
  const options = command.opts<CommonOptions>()
  const dbGiven = command.getOptionValueSource('db') === 'cli'
  if (dbGiven && options.databaseUrl !== undefined) {
    throw new UsageError('give --db <file> or --database-url <url>, not both')
  }
  const databaseUrl = options.databaseUrl ?? (dbGiven ? undefined : process.env.DATABASE_URL)
  const common = {
    allowTargets: parseAllowTargets(options.allowTargets),
    json: options.json === true,
  }
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const from = options.databaseUrl === undefined ? 'DATABASE_URL' : '--database-url'
    return { path: redacted(databaseUrl, from), databaseUrl, ...common }
  }
  if (options.db === '') throw new UsageError('--db needs a file path')
  return {
    path: options.db,
    ...common,
  }
}

/** The URL as messages may show it: without its password. */
function redacted(databaseUrl: string, from: string): string {
  let url: URL
  try {
    url = new URL(databaseUrl)
  } catch {
    throw new UsageError(`${from} must be a URL such as postgres://user@host:5432/db`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    throw new UsageError(`${from} must be a postgres:// URL`)
  }
  if (url.password !== '') url.password = '***'
  return url.toString()
}

/** Splits and checks `--allow-targets 127.0.0.0/8,::1/128`. */
export function parseAllowTargets(value: string | undefined): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '')
  for (const entry of entries) {
    try {
      createTargetGuard({ allowTargets: [entry] })
    } catch {
      throw new UsageError(
        `--allow-targets: '${entry}' is not a CIDR range such as 10.1.2.0/24 or an IP address`,
      )
    }
  }
  return entries
}

export interface OpenOptions {
  /** The events map (`--events`). */
  events?: EventMap
  /**
   * Whether the database must already exist: commands that read or change deliveries refuse
   * to create an empty one (a mistyped `--db` would otherwise look like "nothing to do").
   */
  mustExist?: boolean
  /** How long dispatch may reuse a subscription lookup (`--subscription-cache-ms`). */
  subscriptionCacheMs?: number
}

/**
 * Opens the engine on the command's SQLite file or PostgreSQL database, without migrating it. The engine is loaded
 * here, on demand, so that `--help` and usage errors answer at once.
 */
export async function openHooks(storage: Storage, options: OpenOptions = {}): Promise<Hooks> {
  const { path, databaseUrl } = storage
  if (databaseUrl === undefined && options.mustExist && path !== ':memory:' && !existsSync(path)) {
    throw new UsageError(
      `no database at ${path}: give --db <file>, or create one with \`resthooks migrate --db ${path}\``,
    )
  }
  const { createHooks } = await import('../hooks.ts')
  let store: Store
  try {
    store =
      databaseUrl === undefined
        ? (await import('../store/sqlite/index.ts')).sqliteStore({ path })
        : (await import('../store/postgres/index.ts')).postgresStore(databaseUrl)
  } catch (error) {
    throw new CommandFailed(`cannot open the database ${path}: ${(error as Error).message}`)
  }
  return createHooks({
    store,
    ...(options.events ? { events: options.events } : {}),
    ...(options.subscriptionCacheMs ? { subscriptionCacheMs: options.subscriptionCacheMs } : {}),
    allowTargets: storage.allowTargets,
    ...(process.env.RESTHOOKS_SECRET_KEY
      ? { secretEncryptionKey: process.env.RESTHOOKS_SECRET_KEY }
      : {}),
  })
}

/** Migrates the schema (creating or upgrading it), with a clear message when that fails. */
export async function migrateSchema(hooks: Hooks, path: string): Promise<void> {
  try {
    await hooks.migrate()
  } catch (error) {
    throw new CommandFailed(`cannot migrate the database ${path}: ${(error as Error).message}`)
  }
}

/** Opens the engine and migrates the schema; closes it again when that fails. */
export async function openMigratedHooks(
  storage: Storage,
  options: OpenOptions = {},
): Promise<Hooks> {
  const hooks = await openHooks(storage, options)
  try {
    await migrateSchema(hooks, storage.path)
  } catch (error) {
    await hooks.close().catch(() => {})
    throw error
  }
  return hooks
}

/** Opens and migrates the engine, runs `fn` with it and closes it, whatever `fn` does. */
export async function withHooks<T>(
  storage: Storage,
  options: OpenOptions,
  fn: (hooks: Hooks) => Promise<T>,
): Promise<T> {
  const hooks = await openMigratedHooks(storage, options)
  try {
    return await fn(hooks)
  } finally {
    await hooks.close()
  }
}
