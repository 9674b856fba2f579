import type { Command } from 'commander'
import { CommandFailed } from './cli-errors.ts'
import { parseIsoDate } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { storageOf, withCommonOptions, withHooks } from './storage.ts'

/** `resthooks replay --hook <id> --since <ISO>`: re-queues a subscription's failed deliveries. */
export function registerReplay(program: Command): void {
  const command = program
    .command('replay')
    .description('re-queue the failed deliveries of a subscription created since a time')
    .requiredOption('--hook <id>', 'the subscription (hook_…)')
    .requiredOption(
      '--since <ISO>',
      'replay deliveries created at or after this time',
      parseIsoDate,
    )
  withCommonOptions(command)
    .addHelpText(
      'after',
      `
The deliveries become pending and due now: a running worker (or \`resthooks send\`) sends them.

Example:
  resthooks replay --hook hook_01J… --since 2025-01-31T00:00:00Z`,
    )
    .action(async (options: { hook: string; since: Date }, cmd: Command) => {
      const storage = storageOf(cmd)
      const output = createOutput(storage.json)
      const requeued = await withHooks(storage, { mustExist: true }, (hooks) =>
        hooks.replay(options.hook, { since: options.since }),
      )
      if (requeued === undefined) throw new CommandFailed(`no subscription '${options.hook}'`)
      const since = options.since.toISOString()
      output.result(
        `re-queued ${requeued} failed deliveries of ${options.hook} created since ${since}`,
        { hook: options.hook, since, requeued },
      )
    })
}
