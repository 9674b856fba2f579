/**
 * A process that saves a book through TypeORM (with the resthooks subscriber attached) and
 * kills itself with SIGKILL right after the commit: no chance to deliver, flush or close.
 *
 *   node crash-after-commit.ts <sqlite|postgres> <SQLite file or PostgreSQL URL> <title>
 *
 * Prints `committed <book id>` just before dying.
 */
import { writeSync } from 'node:fs'
import { createHooks } from '../../../src/index.ts'
import { typeormSubscriber } from '../../../src/integrations/typeorm.ts'
import { postgresStore } from '../../../src/store/postgres/index.ts'
import { sqliteStore } from '../../../src/store/sqlite/index.ts'
import { BookSchema, openDataSource, ownerOf, typeormEvents } from './bookstore.ts'

const [kind, location, title] = process.argv.slice(2)
if ((kind !== 'sqlite' && kind !== 'postgres') || !location || !title) {
  throw new Error('usage: crash-after-commit.ts <sqlite|postgres> <location> <title>')
}

const hooks = createHooks({
  store: kind === 'postgres' ? postgresStore(location) : sqliteStore({ path: location }),
  events: { ...typeormEvents },
  owner: ownerOf,
  allowTargets: ['127.0.0.0/8'],
})
const dataSource = await openDataSource(kind, location)
typeormSubscriber(hooks).attach(dataSource)

// save() runs in a transaction of its own, with the outbox rows; it resolves after COMMIT.
const book = await dataSource.getRepository(BookSchema).save({ title, ownerId: 'u1' })
writeSync(1, `committed ${book.id}\n`)
process.kill(process.pid, 'SIGKILL')
