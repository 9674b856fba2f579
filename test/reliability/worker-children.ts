/**
 * The parent's side of worker-child.ts: starts worker processes on the database under test,
 * collects what they say over IPC, and SIGKILLs what is left.
 */

import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { WorkerChildOptions } from '../support/worker-child.ts'

const SCRIPT = fileURLToPath(new URL('../support/worker-child.ts', import.meta.url))

const running = new Set<ChildProcess>()

/** SIGKILLs every worker process still running (for afterEach / afterAll). */
export function killAllWorkers(): void {
  for (const child of running) child.kill('SIGKILL')
  running.clear()
}

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
}

/** A worker process; resolves once its worker runs. */
export async function startWorkerChild(options: WorkerChildOptions) {
  const child = spawn(process.execPath, [SCRIPT, JSON.stringify(options)], {
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  })
  running.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  let succeeded = 0
  const errors: string[] = []
  const exited = new Promise<Exit>((resolve) =>
    child.once('exit', (code, signal) => {
      running.delete(child)
      resolve({ code, signal })
    }),
  )
  const started = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), 20_000)
    child.on('message', (message: { type: string; [key: string]: unknown }) => {
      if (message.type === 'started') {
        clearTimeout(timer)
        resolve()
      } else if (message.type === 'progress' || message.type === 'stopped') {
        succeeded = Number(message.succeeded)
      } else if (message.type === 'error') {
        errors.push(String(message.message))
      }
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`worker exited (${code ?? signal}) before starting: ${stderr}`))
    })
  })
  await started
  return {
    pid: child.pid,
    exited,
    errors,
    stderr: () => stderr,
    /** Deliveries it recorded as succeeded, as it last reported. */
    succeeded: () => succeeded,
    /** SIGKILL: no chance to finish, record or release anything. */
    kill(): Promise<Exit> {
      child.kill('SIGKILL')
      return exited
    },
    /** A graceful stop: it finishes and records what it holds, closes the store and exits. */
    stop(): Promise<Exit> {
      child.send({ type: 'stop' })
      return exited
    },
  }
}

export type WorkerChild = Awaited<ReturnType<typeof startWorkerChild>>
