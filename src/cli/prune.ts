import type { Command } from 'commander'
import { parseNonNegativeNumber } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { storageOf, withCommonOptions, withHooks } from './storage.ts'

const DAY_MS = 24 * 60 * 60 * 1000

/** `resthooks prune --days <n>`: deletes finished deliveries and events older than n days. */
export function registerPrune(program: Command): void {
  const command = program
    .command('prune')
    .description('delete finished deliveries (with their attempts) and events older than n days')
    .requiredOption(
      '--days <n>',
      'the age, in days, beyond which to delete',
      parseNonNegativeNumber,
    )
  withCommonOptions(command)
    .addHelpText(
      'after',
      '\nPending deliveries, and their events, are kept whatever their age. Deletes in small batches.',
    )
    .action(async (options: { days: number }, cmd: Command) => {
      const storage = storageOf(cmd)
      const output = createOutput(storage.json)
      const before = new Date(Date.now() - options.days * DAY_MS)
      output.progress(`pruning what finished before ${before.toISOString()}…`)
      const totals = await withHooks(storage, { mustExist: true }, (hooks) =>
        hooks.prune({
          before,
          onProgress: ({ deliveries, events }) =>
            output.progress(`pruned ${deliveries} deliveries and ${events} events so far…`),
        }),
      )
      output.result(
        `pruned ${totals.deliveries} deliveries and ${totals.events} events created before ${before.toISOString()}`,
        { ...totals, before: before.toISOString() },
      )
    })
}
