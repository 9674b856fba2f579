/**
 * The cost of the TypeORM integration: the same creates (one row each, `repository.save()` as
 * an application writes it, in TypeORM's own transaction) on one SQLite file, without the
 * subscriber, and with it when 0 and when 1 subscription matches. No worker runs: the cost
 * measured is the outbox write inside the application's transaction.
 *
 *   node bench/typeorm.ts
 *   BENCH_SUBSCRIPTION_CACHE_MS=1000 node bench/typeorm.ts   # with subscriptionCacheMs
 *   BENCH_CREATES=2000 BENCH_ROUNDS=3 node bench/typeorm.ts
 *
 * TypeORM's better-sqlite3 driver keeps its defaults (statement cache, SQLite's synchronous
 * setting: better-sqlite3 builds SQLite with NORMAL for WAL files, and the file is in WAL mode
 * because resthooks' store opened it first); a second run sets synchronous = FULL, where every
 * commit waits for the disk. In each round the three configurations take turns in blocks of
 * BENCH_BLOCK creates (100), so that a busy moment of a shared machine weighs on all three; the
 * table shows each one's median round.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Database from 'better-sqlite3'
import { DataSource, EntitySchema, type Repository } from 'typeorm'
import { createHooks, type Hooks } from '../src/index.ts'
import { typeormSubscriber } from '../src/integrations/typeorm.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { fmt, machineLine, positiveInt, printTable, subscriptionCacheOption } from './common.ts'

const CREATES = positiveInt('BENCH_CREATES', 2000)
const ROUNDS = positiveInt('BENCH_ROUNDS', 3)
const WARMUP = Math.max(1, Math.min(200, Math.floor(CREATES / 10)))
/** Creates per block: the configurations take turns block by block. */
const BLOCK = positiveInt('BENCH_BLOCK', 100)

interface Book {
  id: number
  title: string
  ownerId: string
}

const BookSchema = new EntitySchema<Book>({
  name: 'Book',
  tableName: 'book',
  columns: {
    id: { type: Number, primary: true, generated: true },
    title: { type: String },
    ownerId: { type: String, name: 'owner_id' },
  },
})

async function creates(books: Repository<Book>, count: number): Promise<number> {
  const started = performance.now()
  for (let i = 0; i < count; i++) {
    await books.save({ title: `The Lord of the Rings, volume ${(i % 3) + 1}`, ownerId: 'u1' })
  }
  return (performance.now() - started) / 1000
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

type Config = 'plain' | 'floor' | 'zero' | 'one'
const CONFIGS: readonly Config[] = ['plain', 'floor', 'zero', 'one']

/**
 * The floor: what the outbox costs SQLite alone. A subscriber that runs, by hand, the statements
 * resthooks runs for an event with no matching subscription (the subscription lookup, then the
 * outbox row of migration 6), prepared once, with no resthooks code around them.
 */
function floorSubscriber(dataSource: DataSource) {
  const db = (dataSource.driver as unknown as { databaseConnection: Database.Database })
    .databaseConnection
  const lookup = db.prepare(
    `select * from "resthooks_subscriptions" where "event" in (?, ?, ?, ?) and "status" = ? and "owner" = ?`,
  )
  const insert = db.prepare(
    'INSERT INTO resthooks_outbox (id, name, owner, data, ref, created_at, deliveries) VALUES (?, ?, ?, ?, ?, ?, ?)',
  )
  let next = 0
  return {
    async afterInsert(event: { entity: unknown }) {
      lookup.all('book.added', '*', 'book.*', '*.added', 'active', 'u1')
      const id = `evt_floor${String(next++).padStart(22, '0')}${Date.now()}`
      insert.run(id, 'book.added', 'u1', JSON.stringify(event.entity), null, Date.now(), null)
    },
  }
}

/** Seconds per round of each configuration, with the DataSource's current settings. */
async function measure(
  hooks: Hooks,
  dataSource: DataSource,
): Promise<{ seconds: Record<Config, number[]>; synchronous: string; journal: string }> {
  const pragma = async (name: string) =>
    Object.values(((await dataSource.query(`PRAGMA ${name}`)) as object[])[0] ?? {})[0]
  const journal = String(await pragma('journal_mode'))
  const synchronous = ['off', 'normal', 'full', 'extra'][Number(await pragma('synchronous'))] ?? '?'
  const books = dataSource.getRepository(BookSchema)
  const subscriber = typeormSubscriber(hooks)
  const floor = floorSubscriber(dataSource)
  const attach = (config: Config) => {
    dataSource.subscribers.length = 0
    if (config === 'floor') dataSource.subscribers.push(floor)
    if (config === 'zero' || config === 'one') subscriber.attach(dataSource)
  }
  const seconds: Record<Config, number[]> = { plain: [], floor: [], zero: [], one: [] }
  /** Runs `count` creates in `config`; resolves with the seconds they took. */
  const run = async (config: Config, count: number): Promise<number> => {
    const subscription =
      config === 'one'
        ? await hooks.subscribe({
            owner: 'u1',
            event: 'book.added',
            target: 'https://hooks.example.com/bench',
          })
        : null
    attach(config)
    const before = await outboxRows(dataSource)
    const taken = await creates(books, count)
    // The integration wrote what it should: an event per create, a delivery per match.
    const after = await outboxRows(dataSource)
    const written = [after.events - before.events, after.deliveries - before.deliveries]
    const expected = config === 'plain' ? [0, 0] : [count, config === 'one' ? count : 0]
    if (written.join() !== expected.join()) {
      throw new Error(
        `${config}: wrote ${written.join(' events, ')} deliveries for ${count} creates`,
      )
    }
    // Unsubscribing removes its deliveries: every block starts from the same state.
    if (subscription) await hooks.unsubscribe(subscription.id)
    attach('plain')
    return taken
  }
  // Warm-up (JIT, statement caches, the file) in every configuration. Then each round runs the
  // configurations in alternating blocks, so that a busy moment of the machine weighs on all.
  for (const config of CONFIGS) await run(config, WARMUP)
  for (let round = 0; round < ROUNDS; round++) {
    const total: Record<Config, number> = { plain: 0, floor: 0, zero: 0, one: 0 }
    for (let done = 0; done < CREATES; done += BLOCK) {
      for (const config of CONFIGS)
        total[config] += await run(config, Math.min(BLOCK, CREATES - done))
    }
    for (const config of CONFIGS) seconds[config].push(total[config])
  }
  return { seconds, synchronous, journal }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-typeorm-'))
  const path = join(dir, 'app.db')
  const hooks = createHooks({
    store: sqliteStore({ path }),
    events: { 'book.added': 'Book.created' },
    ...subscriptionCacheOption(),
  })
  // One connection throughout: closing a better-sqlite3 connection while resthooks' node:sqlite
  // one stays open on the file releases the latter's POSIX locks (sqlite.org/howtocorrupt.html).
  const dataSource = new DataSource({
    type: 'better-sqlite3',
    database: path,
    entities: [BookSchema],
  })
  try {
    await hooks.migrate()
    await dataSource.initialize()
    await dataSource.query(
      'CREATE TABLE book (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, owner_id TEXT NOT NULL)',
    )
    // TypeORM's defaults as they are; then synchronous = FULL, an fsync at every commit.
    const settings = [await measure(hooks, dataSource)]
    await dataSource.query('PRAGMA synchronous = FULL')
    settings.push(await measure(hooks, dataSource))
    console.log(machineLine())
    console.log(
      `workload: ${CREATES} repository.save() creates, one at a time (each in TypeORM's own transaction), median of ${ROUNDS} rounds; TypeORM 1.x, better-sqlite3, a SQLite file in ${tmpdir()}`,
    )
    console.log('')
    const rate = (s: number) => `${fmt(CREATES / s)}/s`
    const each = (s: number) => `${((s * 1000) / CREATES).toFixed(3)} ms`
    const rows: string[][] = [
      [
        'SQLite',
        'plain save()',
        'subscriber, 0 matching',
        'ratio (≤ 1.05)',
        'subscriber, 1 matching',
        'ratio (≤ 1.50)',
        'floor (SQL by hand)',
        'ratio',
      ],
    ]
    for (const [i, { seconds, synchronous, journal }] of settings.entries()) {
      const plain = median(seconds.plain)
      const floor = median(seconds.floor)
      const zero = median(seconds.zero)
      const one = median(seconds.one)
      const ratio = (s: number) => (s / plain).toFixed(2)
      rows.push([
        `${journal}, synchronous=${synchronous}${i === 0 ? " (TypeORM's default)" : ''}`,
        `${rate(plain)} (${each(plain)})`,
        `${rate(zero)} (${each(zero)})`,
        ratio(zero),
        `${rate(one)} (${each(one)})`,
        ratio(one),
        `${rate(floor)} (${each(floor)})`,
        ratio(floor),
      ])
    }
    printTable(rows)
    console.log('')
    for (const { seconds, synchronous } of settings) {
      console.log(
        `rounds (s), synchronous=${synchronous}: plain ${fmtRounds(seconds.plain)}; 0 matching ${fmtRounds(seconds.zero)}; 1 matching ${fmtRounds(seconds.one)}; floor ${fmtRounds(seconds.floor)}`,
      )
    }
  } finally {
    // The ORM's connection, then resthooks', once all work has stopped.
    if (dataSource.isInitialized) await dataSource.destroy()
    await hooks.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

const fmtRounds = (values: number[]) => values.map((s) => s.toFixed(2)).join(', ')

async function outboxRows(dataSource: DataSource): Promise<{ events: number; deliveries: number }> {
  const [row] = (await dataSource.query(
    // Relayed into the tables, or still in the outbox (migration 6).
    `SELECT (SELECT count(*) FROM resthooks_events) + (SELECT count(*) FROM resthooks_outbox) AS events,
      (SELECT count(*) FROM resthooks_deliveries)
        + (SELECT coalesce(sum(json_array_length(deliveries)), 0) FROM resthooks_outbox) AS deliveries`,
  )) as { events: number; deliveries: number }[]
  return { events: Number(row?.events), deliveries: Number(row?.deliveries) }
}

await main()
