import type { DatabaseSync, StatementSync } from 'node:sqlite'
import { setTimeout as sleep } from 'node:timers/promises'
import {
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type Kysely,
  type QueryCompiler,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from 'kysely'

/** Options of the Kysely dialect over `node:sqlite`. */
export interface NodeSqliteDialectOptions {
  database: DatabaseSync
  /**
   * How long a statement waits for another connection's write lock, in ms. The wait is
   * asynchronous (the event loop keeps running), so a lock held by the same process — the
   * application's own transaction on another connection — can be released meanwhile.
   * @default 10000
   */
  busyTimeoutMs?: number
}

/**
 * A Kysely dialect for Node's built-in `node:sqlite`, written for resthooks because Kysely's
 * own SQLite driver (for better-sqlite3) shares one connection between concurrent callers
 * without a lock, starts deferred transactions, and prepares every statement anew.
 *
 * This one serialises access to the connection, starts transactions with `BEGIN IMMEDIATE`
 * (so writers queue on the lock up front instead of failing at their first write), waits for
 * `SQLITE_BUSY` asynchronously, and caches prepared statements.
 */
export class NodeSqliteDialect implements Dialect {
  readonly #options: NodeSqliteDialectOptions

  constructor(options: NodeSqliteDialectOptions) {
    this.#options = options
  }

  createDriver(): Driver {
    return new NodeSqliteDriver(this.#options)
  }

  createQueryCompiler(): QueryCompiler {
    return new SqliteQueryCompiler()
  }

  createAdapter(): DialectAdapter {
    return new SqliteAdapter()
  }

  // biome-ignore lint/suspicious/noExplicitAny: Kysely's own signature
  createIntrospector(db: Kysely<any>): DatabaseIntrospector {
    return new SqliteIntrospector(db)
  }
}

const SQLITE_BUSY = 5
const SQLITE_LOCKED = 6
const STATEMENT_CACHE_SIZE = 256

class NodeSqliteDriver implements Driver {
  readonly #connection: NodeSqliteConnection
  #queue: Promise<void> = Promise.resolve()
  #release: (() => void) | null = null

  constructor(options: NodeSqliteDialectOptions) {
    this.#connection = new NodeSqliteConnection(options.database, options.busyTimeoutMs ?? 10_000)
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    // One connection, one caller at a time: a transaction holds it from begin to commit.
    const previous = this.#queue
    let release!: () => void
    this.#queue = new Promise<void>((resolve) => {
      release = resolve
    })
    await previous
    this.#release = release
    return this.#connection
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as NodeSqliteConnection).begin()
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as NodeSqliteConnection).end('commit')
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await (connection as NodeSqliteConnection).end('rollback')
  }

  async releaseConnection(): Promise<void> {
    const release = this.#release
    this.#release = null
    release?.()
  }

  async destroy(): Promise<void> {
    this.#connection.close()
  }
}

interface CachedStatement {
  statement: StatementSync
  returnsRows: boolean
}

class NodeSqliteConnection implements DatabaseConnection {
  readonly #db: DatabaseSync
  readonly #busyTimeoutMs: number
  readonly #statements = new Map<string, CachedStatement>()
  #inTransaction = false

  constructor(db: DatabaseSync, busyTimeoutMs: number) {
    this.#db = db
    this.#busyTimeoutMs = busyTimeoutMs
  }

  async begin(): Promise<void> {
    await this.#whenNotBusy(() => this.#db.exec('BEGIN IMMEDIATE'))
    this.#inTransaction = true
  }

  async end(command: 'commit' | 'rollback'): Promise<void> {
    try {
      // After SQLITE_FULL (a full disk), SQLITE_IOERR or SQLITE_NOMEM, SQLite may have rolled
      // the transaction back itself: a ROLLBACK would then fail and hide the error that caused it.
      if (command === 'rollback' && !this.#db.isTransaction) return
      this.#db.exec(command === 'commit' ? 'COMMIT' : 'ROLLBACK')
    } finally {
      // A failed COMMIT is followed by Kysely's ROLLBACK, which ends the transaction.
      this.#inTransaction = false
    }
  }

  async executeQuery<R>(compiledQuery: CompiledQuery): Promise<QueryResult<R>> {
    const { statement, returnsRows } = this.#prepare(compiledQuery.sql)
    const values = compiledQuery.parameters.map(toSqliteValue)
    const run = (): QueryResult<R> => {
      if (returnsRows) return { rows: statement.all(...values) as R[] }
      const { changes, lastInsertRowid } = statement.run(...values)
      return {
        rows: [],
        numAffectedRows: BigInt(changes),
        insertId: BigInt(lastInsertRowid),
      }
    }
    // Inside a transaction the lock is already held: a busy error there is not retried.
    return this.#inTransaction ? run() : this.#whenNotBusy(run)
  }

  // biome-ignore lint/correctness/useYield: streaming is not used by resthooks
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('streaming is not supported by the node:sqlite dialect')
  }

  close(): void {
    this.#statements.clear()
    try {
      this.#db.close()
    } catch {
      // already closed by its owner
    }
  }

  #prepare(sql: string): CachedStatement {
    const cached = this.#statements.get(sql)
    if (cached) return cached
    const statement = this.#db.prepare(sql)
    const entry = { statement, returnsRows: returnsRows(statement, sql) }
    if (this.#statements.size >= STATEMENT_CACHE_SIZE) {
      const oldest = this.#statements.keys().next().value
      if (oldest !== undefined) this.#statements.delete(oldest)
    }
    this.#statements.set(sql, entry)
    return entry
  }

  async #whenNotBusy<T>(run: () => T): Promise<T> {
    const deadline = Date.now() + this.#busyTimeoutMs
    let delay = 1
    for (;;) {
      try {
        return run()
      } catch (error) {
        if (!isBusy(error) || Date.now() >= deadline) throw error
        await sleep(delay)
        delay = Math.min(delay * 2, 50)
      }
    }
  }
}

// `StatementSync.columns()` arrived in Node 22.16; before it, the SQL text tells.
const READER = /^\s*(select|with|pragma|values|explain)\b|\breturning\b/i

function returnsRows(statement: StatementSync, sql: string): boolean {
  return typeof statement.columns === 'function' ? statement.columns().length > 0 : READER.test(sql)
}

function isBusy(error: unknown): boolean {
  const errcode = (error as { errcode?: number } | null)?.errcode
  return (
    errcode !== undefined &&
    ((errcode & 0xff) === SQLITE_BUSY || (errcode & 0xff) === SQLITE_LOCKED)
  )
}

function toSqliteValue(value: unknown): null | number | bigint | string | Uint8Array {
  if (value === undefined || value === null) return null
  if (typeof value === 'boolean') return value ? 1 : 0
  if (value instanceof Date) return value.getTime()
  if (
    typeof value === 'number' ||
    typeof value === 'bigint' ||
    typeof value === 'string' ||
    value instanceof Uint8Array
  ) {
    return value
  }
  return JSON.stringify(value)
}
