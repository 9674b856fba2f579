/**
 * What the Drizzle and Kysely benchmarks share (bench/drizzle.ts, bench/kysely.ts): the
 * application's connection (better-sqlite3, or `node:sqlite`) with its `bench_book` table, and
 * the run itself — plain creates against the integration's, with 0 and 1 matching subscription,
 * taking turns in batches — with its printed table.
 */

import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import Database from 'better-sqlite3'
import type { Hooks } from '../src/index.ts'
import { book, fmt, machineLine, positiveInt, printTable } from './common.ts'

const CREATES = positiveInt('BENCH_CREATES', 2000)
const BATCH = positiveInt('BENCH_BATCH', 100)
const SYNCHRONOUS = process.env.BENCH_SYNCHRONOUS === 'normal' ? 'NORMAL' : 'FULL'
const WARMUP = Math.max(1, Math.min(200, Math.floor(CREATES / 10)))

/** The values of book `i` as the `bench_book` table's columns (`ownerId` as the ORM names it). */
export function bookValues(i: number) {
  const { title, isbn, pages, published, ownerId } = book(i)
  return { title, isbn, pages, published, ownerId }
}

/**
 * The application's connection to a new SQLite file in a temporary directory, opened before
 * resthooks' store (which then switches the file to WAL), with the `bench_book` table.
 */
export function openApplicationDatabase(name: string) {
  const dir = mkdtempSync(join(tmpdir(), `resthooks-bench-${name}-`))
  const path = join(dir, 'app.db')
  const sqlite = new Database(path)
  // better-sqlite3 is compiled with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1: on a WAL file (as
  // resthooks' store makes it) its connections default to synchronous=NORMAL. The issue's
  // figures are for FULL, what SQLite itself defaults to; BENCH_SYNCHRONOUS=normal shows the other.
  sqlite.exec(`PRAGMA synchronous = ${SYNCHRONOUS}`)
  const pragma = (name: string): unknown => sqlite.prepare(`PRAGMA ${name}`).pluck().get()
  sqlite.exec(`CREATE TABLE bench_book (id INTEGER PRIMARY KEY, title TEXT NOT NULL,
    isbn TEXT NOT NULL, pages INTEGER NOT NULL, published TEXT NOT NULL, owner_id TEXT NOT NULL)`)
  return { dir, path, sqlite, pragma }
}

/**
 * The same as `openApplicationDatabase`, but the application's connection is Node's own
 * `node:sqlite` (`DatabaseSync`), with the same `synchronous`.
 */
export function openNodeSqliteApplicationDatabase(name: string) {
  const { dir, path, sqlite } = openApplicationDatabase(name)
  sqlite.close()
  const database = new DatabaseSync(path)
  database.exec(`PRAGMA synchronous = ${SYNCHRONOUS}`)
  const pragma = (pragmaName: string): unknown =>
    Object.values(database.prepare(`PRAGMA ${pragmaName}`).get() ?? {})[0]
  return { dir, path, database, pragma }
}

export interface WriteCostRun {
  hooks: Hooks
  /** The value of a PRAGMA on the application's connection (`journal_mode`, `synchronous`). */
  pragma: (name: string) => unknown
  /** Creates book `i` without resthooks. */
  plain: (i: number) => Promise<unknown>
  /** Creates book `i` through the integration. */
  integration: (i: number) => Promise<unknown>
  /** How the application writes, for the workload line: "Drizzle over better-sqlite3". */
  setup: string
  /** The rows' names: [plain, 0 matching, 1 matching]. */
  names: readonly [string, string, string]
}

/** Runs the variants in turns, then prints the machine, the workload and the table. */
export async function measureWriteCost(run: WriteCostRun): Promise<void> {
  const { hooks } = run
  let next = 0
  const repeat = (create: (i: number) => Promise<unknown>) => async (count: number) => {
    for (let i = 0; i < count; i++) await create(next++)
  }
  const variants = { plain: repeat(run.plain), integration: repeat(run.integration) }
  await variants.plain(WARMUP)
  await variants.integration(WARMUP)
  // One matching subscription, switched off for the "0" batches. Its target is never called:
  // no worker runs during the bench.
  const { id } = await hooks.subscribe({
    owner: 'u1',
    event: 'book.added',
    target: 'http://127.0.0.1:9/hooks',
  })
  const turns = [
    { name: 'plain', run: variants.plain, active: false },
    { name: 'none', run: variants.integration, active: false },
    { name: 'one', run: variants.integration, active: true },
  ] as const
  const seconds = { plain: 0, none: 0, one: 0 }
  let active = true
  for (let done = 0, turn = 0; done < CREATES; done += BATCH, turn++) {
    const count = Math.min(BATCH, CREATES - done)
    for (let k = 0; k < turns.length; k++) {
      const variant = turns[(turn + k) % turns.length]
      if (!variant) continue
      if (variant.name !== 'plain' && variant.active !== active) {
        active = variant.active
        await hooks.updateSubscription(id, { active })
      }
      const started = performance.now()
      await variant.run(count)
      seconds[variant.name] += (performance.now() - started) / 1000
    }
  }

  const journal = run.pragma('journal_mode')
  const synchronous = ['off', 'normal', 'full', 'extra'][Number(run.pragma('synchronous'))]
  console.log(machineLine())
  console.log(
    `workload: ${CREATES} creates per variant in turns of ${BATCH}, ${run.setup}, application connection journal_mode=${journal} synchronous=${synchronous}, in ${tmpdir()}`,
  )
  console.log('')
  const plain = seconds.plain
  const rows: string[][] = [['variant', 'time', 'creates/s', 'time ÷ plain', 'target']]
  const row = (name: string, time: number, target?: number) => {
    const ratio = time / plain
    rows.push([
      name,
      `${time.toFixed(2)} s`,
      fmt(CREATES / time),
      target === undefined ? '1.00' : ratio.toFixed(2),
      target === undefined ? '' : `≤ ${target.toFixed(2)} ${ratio <= target ? 'met' : 'NOT met'}`,
    ])
  }
  row(run.names[0], plain)
  row(run.names[1], seconds.none, 1.05)
  row(run.names[2], seconds.one, 1.5)
  printTable(rows)
}
