/**
 * Disk full on the SQLite file (issue 8), SQLite only. The file is made full with SQLite's own
 * `PRAGMA max_page_count` on the store's connection: a write that needs a page past the limit
 * fails with SQLITE_FULL ("database or disk is full") and rolls back, which is the path a full
 * disk takes too (SQLite turns ENOSPC into SQLITE_FULL). Where this process may mount a small
 * tmpfs (root in a container), the second test fills a real file system instead.
 *
 * Proves: a dispatch into a full database fails with a clear error and changes nothing; a worker
 * that cannot record reports on `error`, keeps going, and once there is room again delivers and
 * records everything; nothing committed is lost.
 */

import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { createHooks, fromNodeSqlite, type Hooks } from '../../src/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { bookEvents } from '../support/bookstore.ts'
import { countSql } from '../support/committed-rows.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'
import { temporaryDatabase } from '../support/sqlite-file.ts'
import { storeKind } from '../support/store-kind.ts'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const FULL = /SQLITE_FULL|database or disk is full/

let cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

async function setUp(path: string): Promise<{ hooks: Hooks; receiver: Receiver }> {
  const hooks = createHooks({
    store: sqliteStore({ path }),
    events: { ...bookEvents },
    allowTargets: ['127.0.0.0/8'],
  })
  cleanup.push(() => hooks.close())
  await hooks.migrate()
  const receiver = await startReceiver()
  cleanup.push(() => receiver.close())
  await hooks.subscribe({ owner: 'u1', event: 'book.added', target: `${receiver.url}/hooks` })
  return { hooks, receiver }
}

const count = async (hooks: Hooks, table: 'resthooks_events' | 'resthooks_deliveries') =>
  Number(
    (await sql<{ n: number }>`${sql.raw(countSql(table, 'sqlite'))}`.execute(hooks.store.db))
      .rows[0]?.n,
  )

/** Caps the store connection's file at its current size (plus `extra` pages); returns the size. */
async function capPages(hooks: Hooks, extra: number): Promise<number> {
  const { rows } = await sql<{ page_count: number }>`PRAGMA page_count`.execute(hooks.store.db)
  const pages = Number(rows[0]?.page_count)
  await sql.raw(`PRAGMA max_page_count = ${pages + extra}`).execute(hooks.store.db)
  return pages
}

const book = (id: number) => ({ id, ownerId: 'u1', blurb: 'x'.repeat(3000) })

describe.skipIf(storeKind !== 'sqlite')('the SQLite file is full', () => {
  it('max_page_count: dispatch fails with SQLITE_FULL (not "cannot rollback" or "no such savepoint", which hid it) and changes nothing; the worker reports, keeps going, and delivers everything once there is room', async () => {
    const database = temporaryDatabase()
    cleanup.push(database.remove)
    const { hooks, receiver } = await setUp(database.path)
    const errors: Error[] = []
    hooks.on('error', (error) => errors.push(error))

    // Committed before the disk fills: 20 events, not delivered yet.
    const committed: string[] = []
    for (let i = 0; i < 20; i++) {
      const result = await hooks.modelEvent('Book', 'created', book(i))
      if (result) committed.push(result.id)
    }

    // Full: a dispatch fails clearly and leaves nothing behind.
    await capPages(hooks, 0)
    const events = await count(hooks, 'resthooks_events')
    const deliveries = await count(hooks, 'resthooks_deliveries')
    let failedDispatches = 0
    for (let i = 100; i < 105; i++) {
      await expect(hooks.modelEvent('Book', 'created', book(i))).rejects.toThrow(FULL)
      failedDispatches++
    }
    // Through the application's own transaction too (its connection capped the same way):
    // SQLite rolls the whole transaction back, and the application is told why.
    const app = new DatabaseSync(database.path, { timeout: 5000 })
    cleanup.push(() => app.close())
    app.exec(`PRAGMA max_page_count = ${await capPages(hooks, 0)}`)
    app.exec('BEGIN IMMEDIATE')
    await expect(
      hooks.modelEvent('Book', 'created', book(110), { tx: fromNodeSqlite(app) }),
    ).rejects.toThrow(FULL)
    if (app.isTransaction) app.exec('ROLLBACK')
    failedDispatches++
    expect(await count(hooks, 'resthooks_events')).toBe(events)
    expect(await count(hooks, 'resthooks_deliveries')).toBe(deliveries)

    // The worker sends, but cannot record the attempts (each keeps a 3 KB request excerpt):
    // it reports on `error` and keeps going.
    const worker = hooks.worker({ leaseMs: 1500, pollIntervalMs: 50 })
    await worker.start()
    const deadline = Date.now() + 20_000
    while (!errors.some((error) => FULL.test(error.message))) {
      if (Date.now() > deadline) throw new Error('the worker reported no error')
      await sleep(20)
    }
    expect(worker.running).toBe(true)
    const errorsWhileFull = errors.length

    // Room again: everything committed is delivered and recorded, once the leases lapse.
    await sql.raw('PRAGMA max_page_count = 1073741823').execute(hooks.store.db)
    while ((await hooks.countDeliveries({ status: 'succeeded' })) < committed.length) {
      if (Date.now() > deadline) throw new Error('not everything was recorded')
      await sleep(50)
    }
    await worker.stop()
    const received = new Set(receiver.requests.map((r) => String(r.headers['webhook-id'])))
    expect([...received].sort()).toEqual([...committed].sort())
    expect(await hooks.countDeliveries({ status: 'pending' })).toBe(0)
    // A dispatch succeeds again.
    expect(await hooks.modelEvent('Book', 'created', book(200))).toMatchObject({ deliveries: 1 })

    console.info(
      `sqlite-disk-full (max_page_count): ${failedDispatches} dispatches refused with SQLITE_FULL, ` +
        `nothing written; worker reported ${errorsWhileFull} errors while full; ` +
        `${receiver.requests.length} requests for ${committed.length} deliveries (sent again: ` +
        `${receiver.requests.length - committed.length}); all recorded once there was room`,
    )
  }, 40_000)

  it.skipIf(!canMountTmpfs())(
    'a real full file system (2 MB tmpfs): dispatch fails with SQLITE_FULL, changes nothing, and works again once space is freed',
    async () => {
      const mountPoint = mkdtempSync(join(tmpdir(), 'resthooks-full-'))
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', mountPoint])
      cleanup.push(() => {
        execFileSync('umount', ['-l', mountPoint])
        rmSync(mountPoint, { recursive: true, force: true })
      })
      const { hooks } = await setUp(join(mountPoint, 'hooks.db'))
      const before = await hooks.modelEvent('Book', 'created', book(1))
      expect(before?.deliveries).toBe(1)
      // Fill the rest of the file system.
      const filler = join(mountPoint, 'filler')
      mkdirSync(filler)
      for (let i = 0; ; i++) {
        try {
          writeFileSync(join(filler, String(i)), Buffer.alloc(16 * 1024))
        } catch {
          break
        }
      }
      const events = await count(hooks, 'resthooks_events')
      let refused = 0
      for (let i = 0; i < 5; i++) {
        try {
          await hooks.modelEvent('Book', 'created', book(10 + i))
        } catch (error) {
          expect((error as Error).message).toMatch(FULL)
          refused++
        }
      }
      expect(refused).toBeGreaterThan(0)
      // What did not commit left nothing; what did, committed whole.
      const after = await count(hooks, 'resthooks_events')
      expect(after).toBe(events + 5 - refused)
      expect(await count(hooks, 'resthooks_deliveries')).toBe(after)

      rmSync(filler, { recursive: true, force: true })
      expect(await hooks.modelEvent('Book', 'created', book(99))).toMatchObject({ deliveries: 1 })
      expect(await hooks.deliverPending()).toMatchObject({ succeeded: after + 1 })
      console.info(`sqlite-disk-full (tmpfs): ${refused} of 5 dispatches refused with SQLITE_FULL`)
    },
  )
})

/** Whether this process may mount a tmpfs (root in a container that allows it). */
function canMountTmpfs(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false
  const probe = mkdtempSync(join(tmpdir(), 'resthooks-probe-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' })
    execFileSync('umount', [probe], { stdio: 'ignore' })
    return true
  } catch {
    return false
  } finally {
    rmSync(probe, { recursive: true, force: true })
  }
}
