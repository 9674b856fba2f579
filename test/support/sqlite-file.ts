import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A fresh SQLite file path in its own temporary directory, and a way to remove it. */
export function temporaryDatabase(name = 'hooks.db') {
  const dir = mkdtempSync(join(tmpdir(), 'resthooks-'))
  return {
    path: join(dir, name),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}
