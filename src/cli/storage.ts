import { existsSync } from 'node:fs'
import { type Command, Option } from 'commander'
import { createTargetGuard } from '../delivery/target-guard.ts'
import type { EventMap } from '../events/event-registry.ts'
import type { Hooks } from '../hooks.ts'
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
  /** The SQLite file. */
  path: string
  allowTargets: string[]
  json: boolean
}

/** Adds `--db`, `--database-url`, `--allow-targets` and `--json` to `command`. */
export function withCommonOptions(command: Command): Command {
  return command
    .option('--db <file>', 'the SQLite database file', './resthooks.db')
    .addOption(
      new Option(
        '--database-url <url>',
        'a PostgreSQL URL (env DATABASE_URL; not implemented yet)',
      ),
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
 * Reads the common options of `command`. PostgreSQL (`--database-url`, or `DATABASE_URL` when
 * `--db` is not given) is refused with a clear message until its store exists.
 */
export function storageOf(command: Command): Storage {
  const options = command.opts<CommonOptions>()
  const dbGiven = command.getOptionValueSource('db') === 'cli'
  const databaseUrl = options.databaseUrl ?? (dbGiven ? undefined : process.env.DATABASE_URL)
  if (databaseUrl !== undefined && databaseUrl !== '') {
    const from = options.databaseUrl === undefined ? 'DATABASE_URL' : '--database-url'
    throw new UsageError(
      `PostgreSQL (${from}) is not implemented yet; use SQLite with --db <file>` +
        (from === 'DATABASE_URL' ? ' (or unset DATABASE_URL)' : ''),
    )
  }
  if (options.db === '') throw new UsageError('--db needs a file path')
  return {
    path: options.db,
    allowTargets: parseAllowTargets(options.allowTargets),
    json: options.json === true,
  }
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
}

/**
 * Opens the engine on the command's SQLite file, without migrating it. The engine is loaded
 * here, on demand, so that `--help` and usage errors answer at once.
 */
export async function openHooks(storage: Storage, options: OpenOptions = {}): Promise<Hooks> {
  const { path } = storage
  if (options.mustExist && path !== ':memory:' && !existsSync(path)) {
    throw new UsageError(
      `no database at ${path}: give --db <file>, or create one with \`resthooks migrate --db ${path}\``,
    )
  }
  const [{ createHooks }, { sqliteStore }] = await Promise.all([
    import('../hooks.ts'),
    import('../store/sqlite/index.ts'),
  ])
  let store: ReturnType<typeof sqliteStore>
  try {
    store = sqliteStore({ path })
  } catch (error) {
    throw new CommandFailed(`cannot open the database ${path}: ${(error as Error).message}`)
  }
  return createHooks({
    store,
    ...(options.events ? { events: options.events } : {}),
    allowTargets: storage.allowTargets,
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
