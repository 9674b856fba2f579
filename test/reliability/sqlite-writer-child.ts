/**
 * An application process writing to a SQLite file that resthooks shares, for the SQLITE_BUSY
 * test:
 *
 *   node test/reliability/sqlite-writer-child.ts <db path> <first book> <count> <hold ms>
 *
 * For each book it opens a write transaction on its own connection (`BEGIN IMMEDIATE`), inserts
 * the book, dispatches `book.added` through that transaction (`fromNodeSqlite`), holds the
 * transaction across an await for up to `hold ms`, and commits; every fourth book it rolls back
 * instead, and every third it also dispatches an event of its own, outside any transaction. A
 * dispatch or commit that throws rolls back. When done it tells its parent (over IPC):
 *
 *   { type: 'done', committed: [{ book, eventId }], rolledBack: [book], direct: [eventId],
 *     failed: [{ book, message }], slowestMs }
 *
 * and exits 0.
 */

import { DatabaseSync } from 'node:sqlite'
import { createHooks, fromNodeSqlite } from '../../src/index.ts'
import { sqliteStore } from '../../src/store/sqlite/index.ts'
import { bookEvents } from '../support/bookstore.ts'

const [path, firstArg, countArg, holdArg] = process.argv.slice(2)
if (!path || !firstArg || !countArg || !holdArg) {
  console.error('usage: sqlite-writer-child.ts <db path> <first book> <count> <hold ms>')
  process.exit(2)
}
const first = Number(firstArg)
const count = Number(countArg)
const holdMs = Number(holdArg)

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const app = new DatabaseSync(path, { timeout: 10_000 })
const hooks = createHooks({
  store: sqliteStore({ path }),
  events: { ...bookEvents },
  allowTargets: ['127.0.0.0/8'],
})

const committed: { book: number; eventId: string }[] = []
const rolledBack: number[] = []
const direct: string[] = []
const failed: { book: number; message: string }[] = []
let slowestMs = 0

for (let book = first; book < first + count; book++) {
  const startedAt = Date.now()
  let eventId: string | undefined
  try {
    app.exec('BEGIN IMMEDIATE')
    try {
      app.prepare('INSERT INTO book VALUES (?, ?, ?)').run(book, `Book ${book}`, 'u1')
      const result = await hooks.modelEvent(
        'Book',
        'created',
        { id: book, ownerId: 'u1' },
        { tx: fromNodeSqlite(app) },
      )
      eventId = result?.id
      await sleep(Math.random() * holdMs)
      if (book % 4 === 0) {
        app.exec('ROLLBACK')
        rolledBack.push(book)
      } else {
        app.exec('COMMIT')
        if (!eventId) throw new Error('dispatch is off')
        committed.push({ book, eventId })
      }
    } catch (error) {
      if (app.isTransaction) app.exec('ROLLBACK')
      throw error
    }
  } catch (error) {
    failed.push({ book, message: (error as Error).message })
  }
  slowestMs = Math.max(slowestMs, Date.now() - startedAt)
  if (book % 3 === 0) {
    try {
      const result = await hooks.modelEvent('Book', 'read', { id: book, ownerId: 'u1' })
      if (result) direct.push(result.id)
    } catch (error) {
      failed.push({ book: -book, message: (error as Error).message })
    }
  }
}

await hooks.close()
app.close()
process.send?.(
  { type: 'done', committed, rolledBack, direct, failed, slowestMs },
  undefined,
  {},
  () => process.exit(0),
)
