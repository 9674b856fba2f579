import pg from 'pg'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { EventError, fromKysely, type SqlExecutor } from '../src/index.ts'
import { bookstoreHooks } from './support/bookstore.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'

let env: Awaited<ReturnType<typeof bookstoreHooks>>
let receiver: Receiver

beforeEach(async () => {
  env = await bookstoreHooks()
  receiver = await startReceiver()
})

afterEach(async () => {
  await env.close()
  await receiver.close()
})

const bodies = () => receiver.requests.map((r) => JSON.parse(r.body))

describe('the seeds’ behaviours', () => {
  it('create, update and delete send added, changed and removed, in that order, with the right data', async () => {
    const { hooks } = env
    for (const event of ['book.added', 'book.changed', 'book.removed']) {
      await hooks.subscribe({ owner: 'u1', event, target: `${receiver.url}/hooks` })
    }
    const book = { id: 7, title: 'The Two Towers', pages: 327, fiction: true, ownerId: 'u1' }
    await hooks.modelEvent('Book', 'created', book)
    await hooks.modelEvent('Book', 'updated', { ...book, pages: 352 })
    await hooks.modelEvent('Book', 'deleted', { ...book, pages: 352 })
    const totals = await hooks.deliverPending({ concurrency: 1 })
    expect(totals).toEqual({ succeeded: 3, failed: 0, exhausted: 0, dropped: 0 })
    expect(bodies().map((b) => [b.type, b.data.pages])).toEqual([
      ['book.added', 327],
      ['book.changed', 352],
      ['book.removed', 352],
    ])
    const [added] = bodies()
    expect(added).toMatchObject({
      type: 'book.added',
      hook: { event: 'book.added', target: `${receiver.url}/hooks` },
      data: { id: 7, title: 'The Two Towers', pages: 327, fiction: true, ownerId: 'u1' },
    })
    expect(added.hook.id).toMatch(/^hook_/)
    expect(new Date(added.timestamp).toISOString()).toBe(added.timestamp)
  })

  it('a `+` event reaches every owner’s subscriptions; a plain one only the instance owner’s', async () => {
    const { hooks } = env
    for (const owner of ['u1', 'u2']) {
      await hooks.subscribe({ owner, event: 'book.changed', target: `${receiver.url}/${owner}` })
      await hooks.subscribe({ owner, event: 'book.added', target: `${receiver.url}/${owner}` })
    }
    const changed = await hooks.modelEvent('Book', 'updated', { id: 1, ownerId: 'u1' })
    const added = await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    expect(changed?.deliveries).toBe(2)
    expect(added?.deliveries).toBe(1)
    await hooks.deliverPending()
    const seen = receiver.requests.map((r) => `${JSON.parse(r.body).type} ${r.path}`).sort()
    expect(seen).toEqual(['book.added /u1', 'book.changed /u1', 'book.changed /u2'])
  })

  it('a custom model action and a raw event carry their payload under data', async () => {
    const { hooks } = env
    await hooks.subscribe({ owner: 'u1', event: 'book.read', target: receiver.url })
    await hooks.subscribe({ owner: 'u1', event: 'user.logged_in', target: receiver.url })
    await hooks.modelEvent('Book', 'read', { id: 3, title: 'Emma', user: { id: 'u1' } })
    await hooks.rawEvent('user.logged_in', { at: '2026-11-22T10:00:00Z' }, { owner: 'u1' })
    await hooks.deliverPending({ concurrency: 1 })
    expect(bodies().map((b) => [b.type, b.data])).toEqual([
      ['book.read', { id: 3, title: 'Emma', user: { id: 'u1' } }],
      ['user.logged_in', { at: '2026-11-22T10:00:00Z' }],
    ])
  })

  it('an unknown event and a model without an owner are clear errors', async () => {
    const { hooks } = env
    await expect(hooks.rawEvent('book.burned', {}, { owner: 'u1' })).rejects.toThrow(
      /unknown event 'book.burned'/,
    )
    await expect(hooks.modelEvent('Book', 'created', { id: 1 })).rejects.toThrow(EventError)
    await expect(hooks.modelEvent('Book', 'created', { id: 1 })).rejects.toThrow(/Book/)
    await expect(hooks.rawEvent('user.logged_in', {}, {})).rejects.toThrow(/owner/)
  })

  it('no subscriptions: nothing is sent and there is no error', async () => {
    const result = await env.hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' })
    expect(result).toMatchObject({ deliveries: 0 })
    expect(result?.id).toMatch(/^evt_/)
    expect(await env.hooks.deliverPending()).toMatchObject({ succeeded: 0 })
    expect(receiver.requests).toHaveLength(0)
  })
})

describe('finding the matching subscriptions', () => {
  it('uses the index on the event, not a scan of all subscriptions', async () => {
    const { hooks } = env
    const store = fromKysely(hooks.store.db)
    const statements: { text: string; values: readonly unknown[] }[] = []
    await hooks.store.transaction(async (executor) => {
      // A bridge that records what dispatch runs, then runs it in the store's transaction.
      const recording: SqlExecutor = {
        executeSql(text, values) {
          statements.push({ text, values })
          return executor.executeSql(text, values)
        },
      }
      await hooks.modelEvent('Book', 'created', { id: 1, ownerId: 'u1' }, { tx: recording })
    })
    // (On PostgreSQL the statement starts with the comment that asks for it to be prepared.)
    const lookup = statements.find((s) => /^(\/\*[^*]*\*\/\s*)?select/i.test(s.text))
    if (!lookup) throw new Error('dispatch ran no select')
    if (hooks.store.dialect === 'sqlite') {
      const { rows } = await store.executeSql(`EXPLAIN QUERY PLAN ${lookup.text}`, lookup.values)
      const plan = (rows as { detail: string }[]).map((row) => row.detail).join('\n')
      expect(plan).toMatch(/USING INDEX resthooks_subscriptions_event/)
      expect(plan).not.toMatch(/SCAN resthooks_subscriptions(?! USING)/)
      return
    }
    // PostgreSQL plans by statistics: give it 20,000 unrelated subscriptions to choose over.
    await store.executeSql(
      `INSERT INTO resthooks_subscriptions (id, owner, event, target, secret, created_at, updated_at)
       SELECT 'hook_' || n, 'o' || (n % 500), 'other.event' || (n % 50), 'https://e.com', 's', 0, 0
       FROM generate_series(1, 20000) AS n`,
      [],
    )
    await store.executeSql('ANALYZE resthooks_subscriptions', [])
    // The lookup runs inside resthooks_dispatch_event (migration 5): auto_explain sends the
    // plans of the function's own statements back as notices.
    const client = new pg.Client({ connectionString: env.path })
    const notices: string[] = []
    client.on('notice', (notice) => notices.push(notice.message ?? ''))
    await client.connect()
    try {
      await client.query('BEGIN')
      await client.query(`LOAD 'auto_explain'`)
      await client.query('SET LOCAL auto_explain.log_min_duration = 0')
      await client.query('SET LOCAL auto_explain.log_nested_statements = on')
      await client.query(`SET LOCAL auto_explain.log_level = 'notice'`)
      // One event of an owner, one to every owner: a statement each in the function.
      await hooks.modelEvent('Book', 'created', { id: 2, ownerId: 'u1' }, { tx: client })
      await hooks.rawEvent('book.added', { id: 3 }, { broadcast: true, tx: client })
      await client.query('ROLLBACK')
    } finally {
      await client.end()
    }
    const plans = notices.filter((notice) => notice.includes('FROM resthooks_subscriptions'))
    expect(plans).toHaveLength(2)
    for (const plan of plans) {
      expect(plan).toMatch(
        /(Index (Only )?Scan using|Bitmap Index Scan on) resthooks_subscriptions_event/,
      )
      expect(plan).not.toMatch(/Seq Scan/)
    }
    // The owner's event seeks both columns of the index.
    expect(plans[0]).toMatch(/Index Cond: .*event = ANY .*owner = 'u1'/)
  })
})

describe('owners through a relation', () => {
  it('an async owner resolver loads the owner through the caller’s transaction', async () => {
    const seen: { model: string; action: string; tx: unknown }[] = []
    const related = await bookstoreHooks({
      events: { 'chapter.added': 'Chapter.created', 'book.added': 'Book.created' },
      // A chapter belongs to its book's owner: read it in the same transaction.
      owner: async (instance, model, { action, tx }) => {
        seen.push({ model, action, tx })
        if (model !== 'Chapter') return instance.ownerId
        // Without a transaction, read through the store's own connection.
        const executor = (tx as SqlExecutor | undefined) ?? fromKysely(related.hooks.store.db)
        const placeholder = related.hooks.store.dialect === 'sqlite' ? '?' : '$1'
        const { rows } = await executor.executeSql(
          `SELECT owner_id FROM book WHERE id = ${placeholder}`,
          [instance.bookId],
        )
        return (rows[0] as { owner_id: string } | undefined)?.owner_id ?? null
      },
    })
    try {
      const { hooks } = related
      for (const owner of ['u1', 'u2']) {
        await hooks.subscribe({ owner, event: 'chapter.added', target: `${receiver.url}/${owner}` })
      }
      const result = await hooks.store.transaction(async (executor) => {
        await executor.executeSql('CREATE TABLE book (id INTEGER PRIMARY KEY, owner_id TEXT)', [])
        await executor.executeSql(
          `INSERT INTO book (id, owner_id) VALUES (${hooks.store.dialect === 'sqlite' ? '?, ?' : '$1, $2'})`,
          [3, 'u2'],
        )
        return hooks.modelEvent('Chapter', 'created', { id: 9, bookId: 3 }, { tx: executor })
      })
      expect(result?.deliveries).toBe(1)
      expect(seen).toEqual([{ model: 'Chapter', action: 'created', tx: expect.anything() }])
      await hooks.deliverPending()
      expect(receiver.requests.map((r) => r.path)).toEqual(['/u2'])

      // A resolver that finds no owner is the usual clear error, and nothing is written.
      await expect(hooks.modelEvent('Chapter', 'created', { id: 10, bookId: 404 })).rejects.toThrow(
        /cannot find the owner of this Chapter/,
      )
      expect(seen.at(-1)?.tx).toBeUndefined()
      expect(await hooks.countDeliveries({ status: 'succeeded' })).toBe(1)
      expect(await hooks.countDeliveries({ status: 'pending' })).toBe(0)
    } finally {
      await related.close()
    }
  })
})
