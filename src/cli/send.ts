import type { Command } from 'commander'
import type { Delivery, DeliveryWithAttempts } from '../delivery/delivery-log.ts'
import type { Hooks } from '../hooks.ts'
import { CommandFailed } from './cli-errors.ts'
import { followDeliveries } from './delivery-lines.ts'
import { parsePositiveInteger } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { storageOf, withCommonOptions, withHooks } from './storage.ts'

interface SendOptions {
  hook?: string
  delivery?: string[]
  concurrency: number
}

/**
 * `resthooks send`: one pass over the deliveries due now (infi's `send_callbacks`). `--hook`
 * and `--delivery` narrow the pass to the named deliveries, making them due now first.
 */
export function registerSend(program: Command): void {
  const command = program
    .command('send')
    .description('deliver what is due now, once, and exit')
    .option('--hook <id>', "send only this subscription's pending deliveries, due now")
    .option('--delivery <id...>', 'send only these deliveries, now, whatever their state')
    .option('--concurrency <n>', 'deliveries in flight at once', parsePositiveInteger, 50)
  withCommonOptions(command)
    .addHelpText(
      'after',
      `
--hook and --delivery narrow the pass: the named deliveries are made due now (a failed one
pending again) and only they are sent. With either, the exit status is 1 unless every named
delivery succeeded; without, it is 0 whatever the targets answered (failures are retried on
schedule).`,
    )
    .action(async (options: SendOptions, cmd: Command) => {
      const storage = storageOf(cmd)
      const output = createOutput(storage.json)
      const result = await withHooks(storage, { mustExist: true }, async (hooks) => {
        const named = await dueNow(hooks, options)
        let attempts = 0
        const followed = followDeliveries(hooks, () => {
          attempts++
          output.progress(`sent ${attempts}…`)
        })
        const unsubscribe = hooks.on('error', (error) => {
          process.stderr.write(`error: ${error.message}\n`)
        })
        const filtered = options.hook !== undefined || options.delivery !== undefined
        const totals = await hooks.deliverPending({
          concurrency: options.concurrency,
          ...(filtered ? { deliveryIds: named } : {}),
        })
        followed.stop()
        unsubscribe()
        const deliveries: Delivery[] = []
        for (const id of named) {
          const delivery = await hooks.getDelivery(id)
          if (delivery) deliveries.push(withoutAttempts(delivery))
        }
        return { totals, deliveries, filtered }
      })
      const { totals, deliveries, filtered } = result
      const lines = [
        `sent: ${totals.succeeded} succeeded, ${totals.failed} failed (to retry), ` +
          `${totals.exhausted} failed for good, ${totals.dropped} dropped`,
        ...deliveries.map(
          (d) =>
            `${d.id}: ${d.status}` +
            (d.status === 'succeeded' ? '' : ` (${d.lastError ?? 'not attempted'})`),
        ),
      ]
      output.result(lines.join('\n'), { ...totals, deliveries })
      const allSucceeded = deliveries.every((d) => d.status === 'succeeded')
      process.exitCode = filtered && !allSucceeded ? 1 : 0
    })
}

/** Makes the named deliveries due now; their ids. Unknown ids fail before anything changes. */
async function dueNow(hooks: Hooks, options: SendOptions): Promise<string[]> {
  const ids = [...new Set(options.delivery ?? [])]
  for (const id of ids) {
    if (!(await hooks.getDelivery(id))) throw new CommandFailed(`no delivery '${id}'`)
  }
  if (options.hook !== undefined) {
    if (!(await hooks.getSubscription(options.hook))) {
      throw new CommandFailed(`no subscription '${options.hook}'`)
    }
    let cursor: string | null = null
    do {
      const page = await hooks.listDeliveries({
        subscriptionId: options.hook,
        status: 'pending',
        limit: 250,
        ...(cursor ? { cursor } : {}),
      })
      for (const delivery of page?.data ?? []) ids.push(delivery.id)
      cursor = page?.next ?? null
    } while (cursor)
  }
  const unique = [...new Set(ids)]
  for (const id of unique) await hooks.retryDelivery(id)
  return unique
}

function withoutAttempts(delivery: DeliveryWithAttempts): Delivery {
  return { ...delivery, attempts: delivery.attempts.length }
}
