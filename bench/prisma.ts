/**
 * The cost of the Prisma integration: the same creates (one row each, a lone
 * `prisma.book.create()` as an application writes it) on one SQLite file through Prisma 7 and
 * @prisma/adapter-better-sqlite3, without the extension, and with it when 0 and when 1
 * subscription matches. No worker runs: the cost measured is the outbox write in the
 * transaction of the change.
 *
 *   node bench/prisma.ts
 *   BENCH_SUBSCRIPTION_CACHE_MS=1000 node bench/prisma.ts   # with subscriptionCacheMs
 *   BENCH_CREATES=2000 BENCH_ROUNDS=3 BENCH_BLOCK=100 node bench/prisma.ts
 *
 * A lone create has no transaction of its own in Prisma; to write its event atomically the
 * extension opens an interactive transaction around it. The `itx floor` row is that transaction
 * alone, around the same create, without resthooks: what any atomic outbox costs through
 * Prisma's transaction machinery before writing a single outbox row.
 *
 * The adapter keeps its defaults (better-sqlite3 builds SQLite with synchronous = NORMAL for WAL
 * files, and the file is in WAL mode because resthooks' store opened it first); a second run sets
 * synchronous = FULL, where every commit waits for the disk. In each round the configurations
 * take turns in blocks of BENCH_BLOCK creates, so that a busy moment of a shared machine weighs on
 * all of them; the table shows each one's median round.
 */

import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PrismaBetterSqlite3 } from '@prisma/adapter-better-sqlite3'
// biome-ignore lint/suspicious/noTsIgnore: generated on first run; untyped until then
// @ts-ignore
import type * as Generated from '../examples/prisma/dist/client.ts'
import { generatePrismaClient } from '../examples/prisma/generate.ts'
import { createHooks, type Hooks } from '../src/index.ts'
import { prismaHooks } from '../src/integrations/prisma.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { fmt, machineLine, positiveInt, printTable, subscriptionCacheOption } from './common.ts'

const CREATES = positiveInt('BENCH_CREATES', 2000)
const ROUNDS = positiveInt('BENCH_ROUNDS', 3)
const WARMUP = Math.max(1, Math.min(200, Math.floor(CREATES / 10)))
/** Creates per block: the configurations take turns block by block. */
const BLOCK = positiveInt('BENCH_BLOCK', 100)

type Config = 'plain' | 'floor' | 'zero' | 'one'
const CONFIGS: readonly Config[] = ['plain', 'floor', 'zero', 'one']

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url))

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
}

/** Seconds per round of each configuration, with the connection's current settings. */
async function measure(hooks: Hooks, base: Generated.PrismaClient) {
  const extended = base.$extends(prismaHooks(hooks))
  const pragma = async (name: string) =>
    Object.values(((await base.$queryRawUnsafe(`PRAGMA ${name}`)) as object[])[0] ?? {})[0]
  const journal = String(await pragma('journal_mode'))
  const synchronous = ['off', 'normal', 'full', 'extra'][Number(await pragma('synchronous'))] ?? '?'
  const data = (i: number) => ({
    title: `The Lord of the Rings, volume ${(i % 3) + 1}`,
    pages: 300 + (i % 200),
    ownerId: 'u1',
  })
  const create: Record<Config, (i: number) => Promise<unknown>> = {
    plain: (i) => base.book.create({ data: data(i) }),
    floor: (i) =>
      base.$transaction((tx: Generated.Prisma.TransactionClient) =>
        tx.book.create({ data: data(i) }),
      ),
    zero: (i) => extended.book.create({ data: data(i) }),
    one: (i) => extended.book.create({ data: data(i) }),
  }
  const events = async () =>
    Number(
      (
        (await base.$queryRawUnsafe(
          // Written events: relayed into the table, or still in the outbox (migration 6).
          'SELECT (SELECT count(*) FROM resthooks_events) + (SELECT count(*) FROM resthooks_outbox) AS n',
        )) as object[]
      )
        .map((row) => Object.values(row)[0])
        .at(0),
    )
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
    const before = await events()
    const started = performance.now()
    for (let i = 0; i < count; i++) await create[config](i)
    const seconds = (performance.now() - started) / 1000
    const written = (await events()) - before
    const expected = config === 'zero' || config === 'one' ? count : 0
    if (written !== expected) throw new Error(`${config}: ${written} events for ${count} creates`)
    if (subscription) await hooks.unsubscribe(subscription.id)
    return seconds
  }
  for (const config of CONFIGS) await run(config, WARMUP)
  const seconds: Record<Config, number[]> = { plain: [], floor: [], zero: [], one: [] }
  for (let round = 0; round < ROUNDS; round++) {
    const taken: Record<Config, number> = { plain: 0, floor: 0, zero: 0, one: 0 }
    for (let done = 0; done < CREATES; done += BLOCK) {
      const count = Math.min(BLOCK, CREATES - done)
      for (const config of CONFIGS) taken[config] += await run(config, count)
    }
    for (const config of CONFIGS) seconds[config].push(taken[config])
  }
  return { seconds, journal, synchronous }
}

function report(result: Awaited<ReturnType<typeof measure>>): void {
  const plain = median(result.seconds.plain)
  const rate = (seconds: number) => `${fmt(CREATES / seconds)} creates/s`
  const rows: string[][] = [['configuration', `median of ${ROUNDS} rounds`, 'rate', 'vs plain']]
  const labels: Record<Config, string> = {
    plain: 'plain prisma.book.create()',
    floor: 'itx floor: $transaction around it',
    zero: 'prismaHooks, 0 subscriptions',
    one: 'prismaHooks, 1 matching subscription',
  }
  for (const config of CONFIGS) {
    const seconds = median(result.seconds[config])
    rows.push([
      labels[config],
      `${CREATES} in ${seconds.toFixed(2)} s`,
      rate(seconds),
      config === 'plain' ? '1.00×' : `${(seconds / plain).toFixed(2)}×`,
    ])
  }
  console.log(`SQLite journal_mode=${result.journal}, synchronous=${result.synchronous}`)
  printTable(rows)
  const zero = median(result.seconds.zero) / plain
  const one = median(result.seconds.one) / plain
  console.log(
    `targets: ≤ 1.05× with 0 subscriptions (${zero <= 1.05 ? 'met' : 'not met'}: ${zero.toFixed(2)}×), ≤ 1.5× with 1 (${one <= 1.5 ? 'met' : 'not met'}: ${one.toFixed(2)}×)`,
  )
  console.log('')
}

async function main(): Promise<void> {
  const { PrismaClient } = (await import(
    await generatePrismaClient(
      here('../examples/prisma/schema.prisma'),
      here('../examples/prisma/dist'),
    )
  )) as typeof Generated
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-prisma-'))
  const path = join(dir, 'bench.db')
  const hooks = createHooks({
    store: sqliteStore({ path }),
    events: { 'book.added': 'Book.created' },
    ...subscriptionCacheOption(),
  })
  const base = new PrismaClient({ adapter: new PrismaBetterSqlite3({ url: `file:${path}` }) })
  try {
    await hooks.migrate()
    await base.$executeRawUnsafe(
      'CREATE TABLE book (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, pages INTEGER NOT NULL DEFAULT 0, owner_id TEXT NOT NULL)',
    )
    console.log(machineLine())
    console.log(
      `workload: ${CREATES} lone creates per configuration and round, ${ROUNDS} rounds, blocks of ${BLOCK}, SQLite in ${tmpdir()}`,
    )
    console.log('')
    report(await measure(hooks, base))
    await base.$executeRawUnsafe('PRAGMA synchronous = FULL')
    report(await measure(hooks, base))
  } finally {
    await base.$disconnect()
    await hooks.close()
    rmSync(dir, { recursive: true, force: true })
  }
}

await main()
