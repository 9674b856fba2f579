import { type Command, Option } from 'commander'
import type { DeliveryStatus } from '../store/schema.ts'
import { parsePositiveInteger, parsePositiveNumber } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { storageOf, withCommonOptions, withHooks } from './storage.ts'

interface MonitorOptions {
  status: Extract<DeliveryStatus, 'failed' | 'pending'>
  limit: number
  minutes?: number
}

/**
 * `resthooks monitor`: counts failed or pending deliveries for a monitoring check, and exits 1
 * when the count reaches the limit.
 */
export function registerMonitor(program: Command): void {
  const command = program
    .command('monitor')
    .description('print how many deliveries are failed or pending; exit 1 when at or over --limit')
    .addOption(
      new Option('--status <status>', 'which deliveries to count')
        .choices(['failed', 'pending'])
        .makeOptionMandatory(),
    )
    .option('--limit <n>', 'exit 1 when the count is at least this', parsePositiveInteger, 10)
    .option(
      '--minutes <m>',
      'count only deliveries changed in the last m minutes',
      parsePositiveNumber,
    )
  withCommonOptions(command)
    .addHelpText(
      'after',
      `
Exit status: 0 below the limit, 1 at or over it, 2 on a usage error.

Example (cron, every 5 minutes):
  resthooks monitor --status failed --minutes 60 --limit 10 || alert "webhooks failing"`,
    )
    .action(async (options: MonitorOptions, cmd: Command) => {
      const storage = storageOf(cmd)
      const output = createOutput(storage.json)
      const since =
        options.minutes === undefined ? undefined : new Date(Date.now() - options.minutes * 60_000)
      const count = await withHooks(storage, { mustExist: true }, (hooks) =>
        hooks.countDeliveries({ status: options.status, ...(since ? { since } : {}) }),
      )
      const overLimit = count >= options.limit
      const window = options.minutes === undefined ? '' : ` in the last ${options.minutes} min`
      output.result(
        `${count} ${options.status} ${count === 1 ? 'delivery' : 'deliveries'}${window} (limit ${options.limit}${overLimit ? ': reached' : ''})`,
        {
          status: options.status,
          count,
          limit: options.limit,
          minutes: options.minutes ?? null,
          since: since?.toISOString() ?? null,
          overLimit,
        },
      )
      process.exitCode = overLimit ? 1 : 0
    })
}
