/**
 * For the crash test: creates a book through the Drizzle helper and SIGKILLs itself right after
 * the commit, with no chance to deliver, close or flush anything.
 *
 *   node test/integrations/drizzle/commit-then-die.ts <sqlite|postgres> <location> <title>
 */
import { openDrizzleBookstore } from './bookstore.ts'

const [kind, location, title] = process.argv.slice(2)
if ((kind !== 'sqlite' && kind !== 'postgres') || !location || !title) {
  console.error('usage: commit-then-die.ts <sqlite|postgres> <location> <title>')
  process.exit(2)
}

const bookstore = await openDrizzleBookstore(kind, location)
const book = await bookstore.books.create({ title, ownerId: 'u1' })
console.log(`committed book ${book.id}`)
process.kill(process.pid, 'SIGKILL')
