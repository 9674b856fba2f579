import { Worker } from 'node:worker_threads'

/**
 * The checkpointer thread's code (a CommonJS script, so that it needs no file of its own in
 * either the TypeScript sources or the built package): a connection of its own to the database
 * runs a PASSIVE checkpoint every `intervalMs` until told to stop. A PASSIVE checkpoint never
 * waits for a lock and never holds up writers or readers; a busy database is simply tried again
 * at the next tick.
 */
const THREAD_CODE = `
const { DatabaseSync } = require('node:sqlite')
const { parentPort, workerData } = require('node:worker_threads')
const db = new DatabaseSync(workerData.path)
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)')
const timer = setInterval(() => {
  try {
    checkpoint.get()
  } catch {
    // locked or busy: the next tick tries again
  }
}, workerData.intervalMs)
parentPort.once('message', () => {
  clearInterval(timer)
  db.close()
  parentPort.close()
})
`

/** Checkpoints a WAL database from a thread of its own; `stop()` ends it. */
export interface Checkpointer {
  stop(): Promise<void>
}

/**
 * Starts checkpointing the WAL of the database at `path` on a thread of its own, so that the
 * copying of WAL pages into the database file and its `fsync` no longer happen inside a commit
 * on the event loop (SQLite's automatic checkpoint runs in whichever commit crosses 1,000 pages).
 * The caller turns its connection's automatic checkpoints off once this is started, and on with
 * `onFailure` if the thread fails; the WAL then stops growing either way.
 */
export function startCheckpointer(
  path: string,
  intervalMs: number,
  onFailure: (error: Error) => void,
): Checkpointer {
  const thread = new Worker(THREAD_CODE, { eval: true, workerData: { path, intervalMs } })
  // A process may exit while it runs: an interrupted checkpoint is safe, SQLite redoes it.
  thread.unref()
  let stopping = false
  let failed = false
  const fail = (error: Error) => {
    if (stopping || failed) return
    failed = true
    onFailure(error)
  }
  thread.on('error', fail)
  thread.on('exit', (code) => fail(new Error(`the checkpoint thread exited (code ${code})`)))
  const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()))
  return {
    async stop() {
      if (stopping) return exited
      stopping = true
      // Waiting for its exit must keep the event loop alive (an unref'd thread does not).
      thread.ref()
      if (!failed) thread.postMessage('stop')
      await exited
    },
  }
}
