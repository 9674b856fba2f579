/**
 * SQLITE_BUSY under concurrent writers (issue 8), SQLite only: three application processes each
 * write books and dispatch through their own write transactions (held across awaits, some
 * rolled back), and dispatch outside transactions too, while a worker process claims and
 * records deliveries and the test itself twice holds the write lock for half a second. Proves
 * that every dispatch either commits with its book or fails with a clear error and leaves
 * nothing, that nothing is half-written (no event without its deliveries, no delivery of a
 * rolled-back book), and that everything committed is delivered.
 */

import { spawn } from 'node:child_process'
import { DatabaseSync } from 'node:sqlite'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../../src/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { bookEvents } from '../support/bookstore.ts'
import { countSql } from '../support/committed-rows.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from '../support/receiver.ts'
import { temporaryDatabase } from '../support/sqlite-file.ts'
import { storeKind } from '../support/store-kind.ts'
import { killAllWorkers, startWorkerChild } from './worker-children.ts'

const WRITER = fileURLToPath(new URL('./sqlite-writer-child.ts', import.meta.url))
const WRITERS = 3
const BOOKS = 60
const HOLD_MS = 20
const LOCK_MS = 500

interface WriterReport {
  committed: { book: number; eventId: string }[]
  rolledBack: number[]
  direct: string[]
  failed: { book: number; message: string }[]
  slowestMs: number
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function runWriter(path: string, first: number): Promise<WriterReport> {
  const child = spawn(
    process.execPath,
    [WRITER, path, String(first), String(BOOKS), String(HOLD_MS)],
    { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] },
  )
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  return new Promise((resolve, reject) => {
    let report: WriterReport | undefined
    child.on('message', (message: WriterReport & { type: string }) => {
      if (message.type === 'done') report = message
    })
    child.once('exit', (code) =>
      report && code === 0
        ? resolve(report)
        : reject(new Error(`writer exited ${code}: ${stderr}`)),
    )
  })
}

describe.skipIf(storeKind !== 'sqlite')('SQLite under concurrent writers', () => {
  const database = temporaryDatabase()
  let hooks: Hooks | undefined
  let receiver: Receiver | undefined

  afterAll(async () => {
    killAllWorkers()
    await receiver?.close()
    await hooks?.close()
    database.remove()
  })

  it('three writer processes holding write transactions, a worker process, and the write lock held twice: every dispatch commits with its book or fails clearly, nothing is half-written or lost', async () => {
    const { path } = database
    hooks = createHooks({
      store: sqliteStore({ path }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.migrate()
    const app = new DatabaseSync(path, { timeout: 10_000 })
    app.exec('CREATE TABLE book (id INTEGER PRIMARY KEY, title TEXT, owner_id TEXT)')
    receiver = await startReceiver()
    const added = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/added`,
    })
    const read = await hooks.subscribe({
      owner: 'u1',
      event: 'book.read',
      target: `${receiver.url}/read`,
    })
    const worker = await startWorkerChild({
      kind: 'sqlite',
      location: path,
      leaseMs: 30_000,
      concurrency: 10,
      pollIntervalMs: 100,
    })

    const writers = Array.from({ length: WRITERS }, (_, i) => runWriter(path, 1 + i * BOOKS))
    // Meanwhile, twice, the test holds the write lock itself: nobody commits until it lets go.
    const count = () =>
      Number((app.prepare(countSql('resthooks_events', 'sqlite')).get() as { n: number }).n)
    const eventsDuringLock: [number, number][] = []
    for (let i = 0; i < 2; i++) {
      await sleep(300)
      app.exec('BEGIN IMMEDIATE')
      const before = count()
      await sleep(LOCK_MS)
      eventsDuringLock.push([before, count()])
      app.exec('COMMIT')
    }
    const reports = await Promise.all(writers)
    for (const [before, after] of eventsDuringLock) expect(after).toBe(before)

    const committed = reports.flatMap((r) => r.committed)
    const rolledBack = reports.flatMap((r) => r.rolledBack)
    const direct = reports.flatMap((r) => r.direct)
    const failed = reports.flatMap((r) => r.failed)
    // Failures, if any, say what happened (the lock was not free in time).
    for (const { message } of failed) expect(message).toMatch(/SQLITE_BUSY|database is locked/)
    const failedBooks = failed.filter((f) => f.book > 0).map((f) => f.book)
    expect(committed.length + rolledBack.length + failedBooks.length).toBe(WRITERS * BOOKS)

    // The books on file are exactly the committed ones; events are exactly the committed and
    // direct dispatches, each with its one delivery: nothing of a rolled-back or failed one.
    const books = app.prepare('SELECT id FROM book ORDER BY id').all() as { id: number }[]
    expect(books.map((b) => b.id)).toEqual(committed.map((c) => c.book).sort((a, b) => a - b))
    // Events still in the outbox table (migration 6) moved into the tables first.
    await hooks.store.relayOutbox?.()
    const events = await hooks.store.db
      .selectFrom('resthooks_events')
      .leftJoin('resthooks_deliveries', 'resthooks_deliveries.event_id', 'resthooks_events.id')
      .select(['resthooks_events.id as id', 'resthooks_deliveries.subscription_id as sub'])
      .execute()
    const expected = [
      ...committed.map((c) => `${c.eventId} ${added.id}`),
      ...direct.map((id) => `${id} ${read.id}`),
    ].sort()
    expect(events.map((e) => `${e.id} ${e.sub}`).sort()).toEqual(expected)

    // Everything committed is delivered.
    const pairOf = (r: ReceivedRequest) =>
      `${r.headers['webhook-id']} ${r.headers['hook-subscription']}`
    const deadline = Date.now() + 30_000
    while (new Set(receiver.requests.map(pairOf)).size < expected.length) {
      if (Date.now() > deadline) throw new Error('not everything was delivered')
      await sleep(50)
    }
    expect(await worker.stop(), worker.stderr()).toEqual({ code: 0, signal: null })
    expect([...new Set(receiver.requests.map(pairOf))].sort()).toEqual(expected)
    expect(await hooks.countDeliveries({ status: 'succeeded' })).toBe(expected.length)
    app.close()

    const slowest = Math.max(...reports.map((r) => r.slowestMs))
    console.info(
      `sqlite-busy: ${WRITERS} writers, ${committed.length} committed, ${rolledBack.length} rolled ` +
        `back, ${direct.length} direct dispatches, ${failed.length} failed` +
        `${failed[0] ? ` (${failed[0].message})` : ''}; slowest write transaction ${slowest} ms ` +
        `(the lock was held ${LOCK_MS} ms twice); worker errors: ${worker.errors.length}; ` +
        `${receiver.requests.length} requests for ${expected.length} deliveries`,
    )
  }, 60_000)

  it('with the lock held past the busy timeout, a dispatch fails with a clear error and writes nothing, and the worker reports on error and delivers once the lock is free', async () => {
    const local = temporaryDatabase()
    const busy = createHooks({
      store: sqliteStore({ path: local.path, busyTimeoutMs: 100 }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    const lock = new DatabaseSync(local.path, { timeout: 1000 })
    try {
      await busy.migrate()
      const target = await startReceiver()
      await busy.subscribe({ owner: 'u1', event: 'book.added', target: `${target.url}/added` })
      const errors: Error[] = []
      busy.on('error', (error) => errors.push(error))
      const worker = busy.worker({ pollIntervalMs: 50 })
      await worker.start()

      lock.exec('BEGIN IMMEDIATE')
      await expect(busy.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })).rejects.toThrow(
        /SQLITE_BUSY|database is locked/,
      )
      lock.exec('COMMIT')
      const events = () =>
        Number(
          (lock.prepare('SELECT count(*) AS n FROM resthooks_events').get() as { n: number }).n,
        )
      expect(events()).toBe(0)

      // Committed and sent; the lock is taken before the answer, so that the worker cannot
      // record it: it reports the error, tries again, and records once the lock is free.
      let answer: (() => void) | undefined
      target.respondWith((_request, response) => {
        answer = () => response.writeHead(200).end('ok')
      })
      const result = await busy.modelEvent('Book', 'created', { id: 2, ownerId: 'u1' })
      await target.waitFor(1)
      lock.exec('BEGIN IMMEDIATE')
      answer?.()
      while (errors.length === 0) await sleep(20)
      lock.exec('COMMIT')
      const deadline = Date.now() + 10_000
      while ((await busy.countDeliveries({ status: 'succeeded' })) < 1) {
        if (Date.now() > deadline) throw new Error('the delivery was never recorded')
        await sleep(50)
      }
      await worker.stop()
      expect(events()).toBe(1)
      expect(target.requests.map((r) => r.headers['webhook-id'])).toContain(result?.id)
      expect(errors.length).toBeGreaterThan(0)
      for (const error of errors) expect(error.message).toMatch(/SQLITE_BUSY|database is locked/)
      expect(await busy.countDeliveries({ status: 'pending' })).toBe(0)
      await target.close()
    } finally {
      lock.close()
      await busy.close()
      local.remove()
    }
  })
})
