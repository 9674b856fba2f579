/**
 * The worker's hot statements (its claim, its recording of successes) run as named prepared
 * statements, parsed and planned once per connection; `preparedStatements: false` (for a
 * pooler that cannot keep them) sends every statement unnamed. Delivery is the same either way.
 */
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { ConfigurationError, createHooks } from '../../src/index.ts'
import { postgresStore } from '../../src/store/postgres/index.ts'
import { PREPARED_STATEMENT } from '../../src/store/prepared-statement.ts'
import { createTestDatabase, type TestDatabase } from '../support/postgres.ts'
import { type Receiver, startReceiver } from '../support/receiver.ts'

let database: TestDatabase
let receiver: Receiver

beforeAll(async () => {
  database = await createTestDatabase()
  receiver = await startReceiver()
})

afterAll(async () => {
  await receiver.close()
  await database.drop()
})

afterEach(() => {
  vi.restoreAllMocks()
})

/** Delivers 20 events × 3 subscriptions; the statements pg sent, with their names. */
async function deliverWith(preparedStatements: boolean | undefined, owner: string) {
  const sent: { text: string; name: string | undefined }[] = []
  const query = pg.Client.prototype.query
  vi.spyOn(pg.Client.prototype, 'query').mockImplementation(function (
    this: pg.Client,
    ...args: unknown[]
  ) {
    const config = args[0] as { text?: string; name?: string } | string
    if (typeof config === 'object' && config?.text) {
      sent.push({ text: config.text, name: config.name })
    }
    return (query as (...a: unknown[]) => unknown).apply(this, args)
  } as typeof query)
  const hooks = createHooks({
    store: postgresStore({
      connectionString: database.url,
      maxConnections: 2,
      ...(preparedStatements === undefined ? {} : { preparedStatements }),
    }),
    events: { 'book.added': 'Book.created' },
    allowTargets: ['127.0.0.0/8'],
  })
  try {
    await hooks.migrate()
    for (let s = 0; s < 3; s++) {
      await hooks.subscribe({ owner, event: 'book.added', target: `${receiver.url}/${s}` })
    }
    for (let id = 1; id <= 20; id++) {
      await hooks.modelEvent('Book', 'created', { id, ownerId: owner })
    }
    const totals = await hooks.deliverPending({ concurrency: 30 })
    return { totals, sent }
  } finally {
    await hooks.close()
  }
}

describe('prepared statements on PostgreSQL', () => {
  it('the claim and the recording of successes are prepared, under one name per text', async () => {
    const { totals, sent } = await deliverWith(undefined, 'prepared')
    expect(totals).toMatchObject({ succeeded: 60, failed: 0 })
    const hot = sent.filter((s) => s.text.startsWith(PREPARED_STATEMENT))
    expect(hot.length).toBeGreaterThanOrEqual(2)
    expect(hot.every((s) => s.name?.startsWith('resthooks_'))).toBe(true)
    const namesByText = new Map(hot.map((s) => [s.text, s.name]))
    expect(new Set(namesByText.values()).size).toBe(namesByText.size)
    expect(hot.some((s) => /FOR UPDATE SKIP LOCKED/.test(s.text))).toBe(true)
    expect(hot.some((s) => /INSERT INTO resthooks_attempts/.test(s.text))).toBe(true)
    // Nothing else is named: a statement whose text varies must never be prepared for good.
    expect(sent.filter((s) => s.name && !s.text.startsWith(PREPARED_STATEMENT))).toEqual([])
  })

  it('preparedStatements: false sends them unnamed, and delivers the same', async () => {
    const { totals, sent } = await deliverWith(false, 'unprepared')
    expect(totals).toMatchObject({ succeeded: 60, failed: 0 })
    expect(sent.some((s) => s.text.startsWith(PREPARED_STATEMENT))).toBe(true)
    expect(sent.filter((s) => s.name !== undefined)).toEqual([])
  })

  it('a preparedStatements that is not a boolean is a configuration error', () => {
    expect(() =>
      postgresStore({ connectionString: database.url, preparedStatements: 'no' as never }),
    ).toThrowError(new ConfigurationError('options.preparedStatements must be true or false'))
  })
})
