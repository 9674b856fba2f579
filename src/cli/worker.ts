import type { Command } from 'commander'
import { followDeliveries } from './delivery-lines.ts'
import { parsePositiveInteger } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { exitSoon, shutdownSignal } from './shutdown.ts'
import { openMigratedHooks, storageOf, withCommonOptions } from './storage.ts'
import { tuneWorkerHeap } from './worker-heap.ts'

/** The worker's limits, as `resthooks worker` and `resthooks serve` take them. */
export interface WorkerLimitOptions {
  concurrency: number
  perTargetConcurrency: number
}

/** Adds `--concurrency` and `--per-target-concurrency` (the library's defaults). */
export function withWorkerLimitOptions(command: Command): Command {
  return command
    .option('--concurrency <n>', 'deliveries in flight at once', parsePositiveInteger, 50)
    .option(
      '--per-target-concurrency <n>',
      'deliveries in flight at once to one origin',
      parsePositiveInteger,
      10,
    )
}

/** `resthooks worker`: the delivery worker alone, until SIGTERM or SIGINT. */
export function registerWorker(program: Command): void {
  const command = program
    .command('worker')
    .description('run the delivery worker alone (as many as you like on one database)')
  withCommonOptions(withWorkerLimitOptions(command))
    .addHelpText(
      'after',
      `
SIGTERM or SIGINT stops the worker; deliveries in flight finish and are recorded.
The worker sizes V8's heap for a long-running process (a young generation of at
most 32 MB, the old one collected once it has grown by half); a heap flag of your
own, such as NODE_OPTIONS=--max-semi-space-size=64, wins (docs/scaling.md).`,
    )
    .action(runWorker)
}

async function runWorker(options: WorkerLimitOptions, command: Command): Promise<void> {
  const storage = storageOf(command)
  tuneWorkerHeap()
  const output = createOutput(storage.json)
  const hooks = await openMigratedHooks(storage)
  // Followed even when quiet: the totals are the command's result.
  const followed = followDeliveries(hooks, (line) => {
    if (output.interactive) output.line(line)
  })
  const unsubscribe = hooks.on('error', (error) => {
    process.stderr.write(`error: ${error.message}\n`)
  })
  const worker = hooks.worker({
    concurrency: options.concurrency,
    perTargetConcurrency: options.perTargetConcurrency,
  })
  await worker.start()
  output.result(
    `resthooks worker running on ${storage.path} (concurrency ${options.concurrency})`,
    { worker: 'running', db: storage.path, concurrency: options.concurrency },
  )
  if (output.interactive) output.note('Press Ctrl-C to stop.')

  const signal = await shutdownSignal(() => process.stderr.write('stopping at once\n'))
  output.note(`${signal}: stopping; deliveries in flight finish first (again to stop at once)`)
  await worker.stop()
  followed.stop()
  unsubscribe()
  await hooks.close()
  const { succeeded, failed, exhausted } = followed.totals
  output.result(
    `stopped: ${succeeded} succeeded, ${failed} failed (to retry), ${exhausted} failed for good`,
    { stopped: true, signal, ...followed.totals },
  )
  exitSoon(0)
}
