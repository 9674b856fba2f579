/**
 * What the benchmarks share: their knobs, the receiver process, the payload, the raw undici
 * baseline, child processes spoken to over IPC, and the printed table.
 */

import { type ChildProcess, fork } from 'node:child_process'
import { availableParallelism, cpus } from 'node:os'
import { fileURLToPath } from 'node:url'
import { Agent, request } from 'undici'

export function positiveInt(name: string, fallback: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const value = Number(raw)
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name} must be a positive integer, got '${raw}'`)
  }
  return value
}

/** The line each benchmark starts with: the CPU, its cores, Node and the platform. */
export function machineLine(note?: string): string {
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown'
  return `machine: ${cpu}, ${availableParallelism()} cores, node ${process.version}, ${process.platform}/${process.arch}${note ? ` (${note})` : ''}`
}

/**
 * The ORM benchmarks' `subscriptionCacheMs`, from BENCH_SUBSCRIPTION_CACHE_MS (default 0: off),
 * as createHooks options.
 */
export function subscriptionCacheOption(): { subscriptionCacheMs?: number } {
  const ms = process.env.BENCH_SUBSCRIPTION_CACHE_MS
    ? positiveInt('BENCH_SUBSCRIPTION_CACHE_MS', 0)
    : 0
  return ms > 0 ? { subscriptionCacheMs: ms } : {}
}

/** The pg-boss queue of the PostgreSQL benchmark's jobs (bench/postgres.ts, bench/pg-worker.ts). */
export const PGBOSS_QUEUE = 'webhook-deliveries'

// ---------------------------------------------------------------------------------------------
// Child processes spoken to over IPC

export interface IpcMessage {
  type: string
  [key: string]: unknown
}

export interface IpcChild {
  readonly child: ChildProcess
  /** Resolves with the next message of this type; rejects if the process exits first. */
  next(type: string): Promise<IpcMessage>
  send(message: IpcMessage): void
  /** Resolves once the process has exited (at once if it already has). */
  exited(): Promise<void>
}

/** Forks `script` (a path relative to this directory) with an IPC channel. */
export function forkChild(
  script: string,
  args: readonly string[] = [],
  execArgv: readonly string[] = [],
): IpcChild {
  const child = fork(fileURLToPath(new URL(script, import.meta.url)), [...args], {
    execArgv: [...execArgv],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const listeners = new Set<(message: IpcMessage) => void>()
  child.on('message', (message: IpcMessage) => {
    for (const listener of [...listeners]) listener(message)
  })
  const hasExited = () => child.exitCode !== null || child.signalCode !== null
  return {
    child,
    next: (type) =>
      new Promise<IpcMessage>((resolve, reject) => {
        if (hasExited()) {
          reject(new Error(`${script} has exited`))
          return
        }
        const onExit = () => {
          listeners.delete(listener)
          reject(new Error(`${script} exited`))
        }
        const listener = (message: IpcMessage) => {
          if (message.type !== type) return
          listeners.delete(listener)
          child.off('exit', onExit)
          resolve(message)
        }
        listeners.add(listener)
        child.once('exit', onExit)
      }),
    send(message) {
      child.send(message)
    },
    exited: () =>
      hasExited()
        ? Promise.resolve()
        : new Promise((resolve) => child.once('exit', () => resolve())),
  }
}

// ---------------------------------------------------------------------------------------------
// The receiver process

export interface Receiver {
  url: string
  /** The receiver's process id. */
  pid: number | undefined
  /** Resets the counter; resolves once the receiver has done so, with the wait for `count`. */
  expect(count: number): Promise<{ reached: Promise<number> }>
  close(): Promise<void>
  /** Kills the process if it still runs (a last resort: `close()` is the way out). */
  kill(): void
}

export async function startReceiverProcess(): Promise<Receiver> {
  const ipc = forkChild('./receiver.ts')
  const { url } = await ipc.next('listening')
  if (typeof url !== 'string') throw new Error('the receiver sent no url')
  return {
    url,
    pid: ipc.child.pid,
    async expect(count: number): Promise<{ reached: Promise<number> }> {
      const reached = ipc.next('reached').then((message) => Number(message.at ?? Date.now()))
      ipc.send({ type: 'expect', count })
      ipc.send({ type: 'count' })
      await ipc.next('count')
      return { reached }
    },
    async close(): Promise<void> {
      const exited = ipc.exited()
      if (ipc.child.connected) ipc.send({ type: 'close' })
      await exited
    },
    kill() {
      if (ipc.child.exitCode === null && ipc.child.signalCode === null) ipc.child.kill('SIGKILL')
    },
  }
}

// ---------------------------------------------------------------------------------------------
// The payload

export function book(i: number) {
  return {
    id: i + 1,
    title: `The Lord of the Rings, volume ${(i % 3) + 1}`,
    author: { id: 'a1', name: 'J. R. R. Tolkien' },
    isbn: `978-0-${String(261_102_000 + i).padStart(9, '0')}`,
    pages: 300 + (i % 200),
    published: '1954-07-29',
    fiction: true,
    tags: ['fantasy', 'classic', 'middle-earth'],
    price: { amount: 2499, currency: 'EUR' },
    ownerId: 'u1',
  }
}

/**
 * The envelope resthooks sends for delivery `i` (book `i / subscriptions`, subscription
 * `i % subscriptions`), for the raw baseline.
 */
export function envelope(i: number, url: string, subscriptions: number): string {
  return JSON.stringify({
    type: 'book.added',
    timestamp: new Date().toISOString(),
    hook: {
      id: `hook_01JABCDEFGHJKMNPQRSTVWXYZ${i % subscriptions}`,
      event: 'book.added',
      target: url,
    },
    data: book(Math.floor(i / subscriptions)),
  })
}

// ---------------------------------------------------------------------------------------------
// The raw baseline: undici, no database, no signing

/** Sends `count` envelopes to `url`, `concurrency` at a time; resolves with the seconds taken. */
export async function rawBaseline(
  url: string,
  count: number,
  concurrency: number,
  subscriptions: number,
): Promise<number> {
  const bodies = Array.from({ length: count }, (_, i) => envelope(i, url, subscriptions))
  const agent = new Agent()
  const headers = { 'content-type': 'application/json', 'user-agent': 'bench/raw' }
  let nextIndex = 0
  const started = performance.now()
  async function lane(): Promise<void> {
    for (;;) {
      const i = nextIndex++
      if (i >= count) return
      const response = await request(url, {
        method: 'POST',
        headers,
        body: bodies[i] ?? '',
        dispatcher: agent,
      })
      await response.body.text()
      if (response.statusCode !== 200) throw new Error(`raw baseline: HTTP ${response.statusCode}`)
    }
  }
  await Promise.all(Array.from({ length: concurrency }, lane))
  const seconds = (performance.now() - started) / 1000
  await agent.close()
  return seconds
}

// ---------------------------------------------------------------------------------------------
// Output

/** The median of `values` (the mean of the middle two of an even number); 0 for none. */
export function medianOf(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const middle = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2
}

export function fmt(rate: number): string {
  return Math.round(rate).toLocaleString('en-US')
}

/** Prints rows as aligned columns, the first row as the header, underlined. */
export function printTable(rows: readonly (readonly string[])[]): void {
  const columns = Math.max(...rows.map((row) => row.length))
  const widths = Array.from({ length: columns }, (_, c) =>
    Math.max(...rows.map((row) => (row[c] ?? '').length)),
  )
  for (const [i, row] of rows.entries()) {
    console.log(
      row
        .map((cell, c) => cell.padEnd(widths[c] ?? 0))
        .join('  ')
        .trimEnd(),
    )
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '))
  }
}
