import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { DatabaseSync } from 'node:sqlite'
import { sql } from 'kysely'
import { afterEach, describe, expect, it } from 'vitest'
import { startCheckpointer } from './checkpointer.ts'
import { sqliteStore } from './index.ts'

const dirs: string[] = []
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true })
})

function databasePath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-checkpointer-'))
  dirs.push(dir)
  return join(dir, 'app.db')
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return true
}

describe('the checkpoint thread', () => {
  it('copies what the WAL holds into the database file, from its own connection', async () => {
    const path = databasePath()
    const writer = new DatabaseSync(path)
    writer.exec('PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0')
    writer.exec('CREATE TABLE rows (body TEXT)')
    const insert = writer.prepare('INSERT INTO rows (body) VALUES (?)')
    for (let i = 0; i < 500; i++) insert.run('x'.repeat(4000))
    // Without a checkpoint, the 2 MB written stay in the WAL; the database file holds no row.
    expect(statSync(path).size).toBeLessThan(100_000)
    const failures: Error[] = []
    const checkpointer = startCheckpointer(path, 10, (error) => failures.push(error))
    try {
      expect(await until(() => statSync(path).size > 2_000_000)).toBe(true)
    } finally {
      await checkpointer.stop()
      writer.close()
    }
    expect(failures).toEqual([])
  })

  it('reports a thread that cannot open the database, once', async () => {
    const failures: Error[] = []
    const checkpointer = startCheckpointer(tmpdir(), 10, (error) => failures.push(error))
    expect(await until(() => failures.length > 0)).toBe(true)
    await checkpointer.stop()
    expect(failures).toHaveLength(1)
  })
})

describe('sqliteStore', () => {
  const autocheckpoint = async (store: ReturnType<typeof sqliteStore>) =>
    Number(
      (await sql<{ wal_autocheckpoint: number }>`PRAGMA wal_autocheckpoint`.execute(store.db))
        .rows[0]?.wal_autocheckpoint,
    )

  it('once a worker claims, leaves checkpoints to the thread, and stops it on close', async () => {
    const path = databasePath()
    const store = sqliteStore({ path })
    await store.migrate()
    expect(await autocheckpoint(store)).toBe(1000)
    await store.claimDeliveries(10, 60_000, Date.now())
    expect(await autocheckpoint(store)).toBe(0)
    // Time for the thread to start and open its connection.
    await new Promise((resolve) => setTimeout(resolve, 500))
    await store.close()
    // The last connection to close removes the WAL: the thread's connection is closed too.
    expect(existsSync(`${path}-wal`)).toBe(false)
  })

  it('checkpoints the file it opened, though the process changed its directory since', async () => {
    const path = databasePath()
    const cwd = process.cwd()
    process.chdir(dirname(path))
    let store: ReturnType<typeof sqliteStore>
    try {
      store = sqliteStore({ path: 'app.db' })
      await store.migrate()
    } finally {
      process.chdir(cwd)
    }
    const stray = join(cwd, 'app.db')
    try {
      await store.claimDeliveries(10, 60_000, Date.now())
      await sql`CREATE TABLE rows (body TEXT)`.execute(store.db)
      for (let i = 0; i < 500; i++) {
        await sql`INSERT INTO rows (body) VALUES (${'x'.repeat(4000)})`.execute(store.db)
      }
      // Only the thread checkpoints now: the rows reach the database file through it alone.
      expect(await until(() => statSync(path).size > 2_000_000)).toBe(true)
      expect(existsSync(stray)).toBe(false)
    } finally {
      await store.close()
      rmSync(stray, { force: true })
      rmSync(`${stray}-wal`, { force: true })
      rmSync(`${stray}-shm`, { force: true })
    }
  })

  it('keeps SQLite’s own checkpoints with backgroundCheckpoints: false', async () => {
    const store = sqliteStore({ path: databasePath(), backgroundCheckpoints: false })
    await store.migrate()
    await store.claimDeliveries(10, 60_000, Date.now())
    expect(await autocheckpoint(store)).toBe(1000)
    await store.close()
  })
})
