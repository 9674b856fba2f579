/**
 * A child process of test/integrations/prisma.test.ts: creates a book through the extended
 * Prisma client (a lone call, so in the extension's own transaction) and kills itself with
 * SIGKILL the moment the create has resolved, i.e. right after the commit: no chance to deliver,
 * flush or close anything. The test then delivers from the database alone.
 *
 *   node crash-after-commit.ts <sqlite|postgres> <file or URL> <title>
 */
import { createHooks } from '../../../src/index.ts'
import { prismaHooks } from '../../../src/integrations/prisma.ts'
import { postgresStore } from '../../../src/store/postgres/index.ts'
import { sqliteStore } from '../../../src/store/sqlite/index.ts'
import { loadTestPrisma } from '../../support/prisma-client.ts'

const [kind, location, title] = process.argv.slice(2) as ['sqlite' | 'postgres', string, string]
const hooks = createHooks({
  store: kind === 'sqlite' ? sqliteStore({ path: location }) : postgresStore(location),
  events: { 'book.added': 'Book.created' },
  allowTargets: ['127.0.0.0/8'],
})
const prisma = (await loadTestPrisma(kind)).open(location).$extends(prismaHooks(hooks))

const book = await prisma.book.create({ data: { title, ownerId: 'u1' } })
process.stdout.write(`committed book ${book.id}\n`, () => process.kill(process.pid, 'SIGKILL'))
