/**
 * The parent's side of test/support/worker-child.ts (on PostgreSQL) and pg-ingest-process.ts: starts them
 * (Node runs the TypeScript directly), collects what they say over IPC, and kills what is left.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { WorkerChildOptions } from './worker-child.ts'

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-child.ts', import.meta.url))
const INGEST_SCRIPT = fileURLToPath(new URL('./pg-ingest-process.ts', import.meta.url))

/** A message from a child: `{ type, ... }`. */
export interface ChildMessage {
  type: string
  [key: string]: unknown
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

const running = new Set<ChildProcess>()

/** SIGKILLs every child still running (for afterEach / afterAll). */
export function killAllChildren(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

/** A child process over IPC. */
export type Child = ReturnType<typeof startChild>

function startChild(script: string, args: string[]) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  running.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const messages: ChildMessage[] = []
  const waiters: { type: string; resolve: (m: ChildMessage) => void }[] = []
  child.on('message', (message: ChildMessage) => {
    messages.push(message)
    for (const waiter of [...waiters]) {
      if (waiter.type !== message.type) continue
      waiters.splice(waiters.indexOf(waiter), 1)
      waiter.resolve(message)
    }
  })
  let exit: Exit | undefined
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      exit = { code, signal }
      resolve(exit)
    }),
  )
  const describe = () => `${script.split('/').at(-1)} (pid ${child.pid})`

  return {
    child,
    /** The script's name and pid, for messages. */
    name: describe(),
    messages,
    exited,
    /** How it exited; undefined while it runs. */
    exitStatus(): Exit | undefined {
      return exit
    },
    stderr: () => stderr,
    /** The messages of one type. */
    of(type: string): ChildMessage[] {
      return messages.filter((m) => m.type === type)
    },
    send(message: ChildMessage): void {
      child.send(message)
    },
    /** Resolves with the first message of `type` (also one that came already). */
    waitFor(type: string, timeoutMs = 20_000): Promise<ChildMessage> {
      const seen = messages.find((m) => m.type === type)
      if (seen) return Promise.resolve(seen)
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`${describe()} sent no '${type}' in time; stderr: ${stderr}`)),
          timeoutMs,
        )
        const waiter = {
          type,
          resolve: (m: ChildMessage) => {
            clearTimeout(timer)
            resolve(m)
          },
        }
        waiters.push(waiter)
        void exited.then(({ code, signal }) => {
          if (!waiters.includes(waiter)) return
          clearTimeout(timer)
          reject(new Error(`${describe()} exited (${code ?? signal}) before '${type}': ${stderr}`))
        })
      })
    },
    /** SIGKILL: no chance to finish, record or release anything. */
    kill(): Promise<Exit> {
      child.kill('SIGKILL')
      return exited
    },
  }
}

/**
 * Throws, with its stderr, when one of the children exited; for polling loops that wait on
 * children which should keep running.
 */
export function assertRunning(...children: Child[]): void {
  for (const child of children) {
    const exit = child.exitStatus()
    if (exit) {
      throw new Error(`${child.name} exited (${exit.code ?? exit.signal}): ${child.stderr()}`)
    }
  }
}

/** Options of a worker process (see worker-child.ts). */
export interface WorkerProcessOptions {
  leaseMs: number
  concurrency: number
  pollIntervalMs: number
}

/** A worker process on the database at `url`; resolves once its worker runs. */
export async function startWorkerProcess(url: string, options: WorkerProcessOptions) {
  const childOptions: WorkerChildOptions = { kind: 'postgres', location: url, ...options }
  const child = startChild(WORKER_SCRIPT, [JSON.stringify(childOptions)])
  await child.waitFor('started')
  return {
    ...child,
    /** Deliveries it recorded as succeeded, as it last reported. */
    succeeded(): number {
      const last = child.messages.findLast((m) => m.type === 'progress' || m.type === 'stopped')
      return Number(last?.succeeded ?? 0)
    },
    /** A graceful stop: it finishes and records what it holds, closes the store and exits. */
    async stop(): Promise<Exit> {
      child.send({ type: 'stop' })
      return child.exited
    },
  }
}

/** Options of an ingest process (see pg-ingest-process.ts). */
export interface IngestProcessOptions {
  /** The first book's number. */
  first: number
  /** How many books; 0: until stopped. */
  count: number
  concurrency: number
  pauseMs: number
}

/** An ingest process on the database at `url`; resolves once it is ready for `go()`. */
export async function startIngestProcess(url: string, options: IngestProcessOptions) {
  const child = startChild(INGEST_SCRIPT, [
    url,
    String(options.first),
    String(options.count),
    String(options.concurrency),
    String(options.pauseMs),
  ])
  await child.waitFor('ready')
  return {
    ...child,
    go(): void {
      child.send({ type: 'go' })
    },
    /** Asks it to stop dispatching; it finishes the calls under way, closes and exits. */
    stop(): Promise<Exit> {
      child.send({ type: 'stop' })
      return child.exited
    },
    /** The ids of the events whose dispatch resolved, in order. */
    dispatchedIds(): string[] {
      return child.of('dispatched').map((m) => String(m.id))
    },
  }
}
