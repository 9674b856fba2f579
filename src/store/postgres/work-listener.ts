import type pg from 'pg'

/** The channel resthooks NOTIFYs when deliveries become due now. */
export const WORK_CHANNEL = 'resthooks_work'

const RECONNECT_MIN_MS = 100
const RECONNECT_MAX_MS = 5_000

/**
 * One LISTEN connection per store, shared by its watchers, opened with the first watcher and
 * closed with the last. When the connection breaks (PostgreSQL restarted), it reconnects with
 * backoff and wakes every watcher once connected again: notifications sent meanwhile are lost,
 * and the work they announced is found by the claim that follows.
 */
export function createWorkListener(connect: () => pg.Client) {
  const watchers = new Set<() => void>()
  let client: pg.Client | undefined
  let reconnectTimer: NodeJS.Timeout | undefined
  let delay = RECONNECT_MIN_MS
  let closed = false

  const wakeAll = (): void => {
    for (const watcher of watchers) watcher()
  }

  function open(): void {
    if (closed || watchers.size === 0 || client) return
    const next = connect()
    client = next
    let dropped = false
    const drop = (): void => {
      if (dropped) return
      dropped = true
      if (client === next) client = undefined
      next.end().catch(() => {})
      scheduleReconnect()
    }
    next.on('error', drop)
    next.on('end', drop)
    next.on('notification', (message) => {
      if (message.channel === WORK_CHANNEL) wakeAll()
    })
    next
      .connect()
      .then(() => next.query(`LISTEN ${WORK_CHANNEL}`))
      .then(() => {
        delay = RECONNECT_MIN_MS
        if (dropped || closed || watchers.size === 0) return
        // Anything committed while not listening is due now.
        wakeAll()
      })
      .catch(drop)
  }

  function scheduleReconnect(): void {
    if (closed || watchers.size === 0 || reconnectTimer) return
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined
      open()
    }, delay)
    reconnectTimer.unref()
    delay = Math.min(delay * 2, RECONNECT_MAX_MS)
  }

  function shut(): Promise<void> {
    clearTimeout(reconnectTimer)
    reconnectTimer = undefined
    const current = client
    client = undefined
    if (!current) return Promise.resolve()
    current.removeAllListeners('end')
    current.removeAllListeners('notification')
    current.on('error', () => {})
    return current.end().catch(() => {})
  }

  return {
    /** Calls `onWork` when deliveries are committed anywhere; returns the unwatch function. */
    watch(onWork: () => void): () => void {
      watchers.add(onWork)
      open()
      return () => {
        watchers.delete(onWork)
        if (watchers.size === 0) void shut()
      }
    },
    close(): Promise<void> {
      closed = true
      watchers.clear()
      return shut()
    },
  }
}
