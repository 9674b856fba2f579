import type { Command } from 'commander'
import { MAX_SUBSCRIPTION_CACHE_MS } from '../dispatch/subscription-cache.ts'
import { adminKeyProblem } from '../service/admin-key.ts'
import type { Service } from '../service/service.ts'
import { VERSION } from '../version.ts'
import { CommandFailed, UsageError } from './cli-errors.ts'
import { followDeliveries } from './delivery-lines.ts'
import { loadEventsFile } from './events-file.ts'
import { parseMillisecondsUpTo, parsePort } from './option-parsers.ts'
import { createOutput } from './output.ts'
import { exitSoon, shutdownSignal } from './shutdown.ts'
import { openMigratedHooks, storageOf, withCommonOptions } from './storage.ts'
import { type WorkerLimitOptions, withWorkerLimitOptions } from './worker.ts'
import { tuneWorkerHeap } from './worker-heap.ts'

interface ServeOptions extends WorkerLimitOptions {
  port: number
  host: string
  events?: string
  worker: boolean
  subscriptionCacheMs: number
}

/** `resthooks serve`: the REST API, the event ingest and the delivery worker in one process. */
export function registerServe(program: Command): void {
  const command = program
    .command('serve')
    .description(
      'run the REST API, the event ingest, the admin dashboard (/admin) and the delivery worker in one process',
    )
    .option('--port <port>', 'the port to listen on (0: any free port)', parsePort, 8080)
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--events <file>', 'the events map, as JSON (the library’s `events` option)')
    .option('--no-worker', 'run without the delivery worker (run `resthooks worker` apart)')
  withWorkerLimitOptions(command).option(
    '--subscription-cache-ms <ms>',
    `reuse each event's lookup of its subscriptions for up to this long (0 to ${MAX_SUBSCRIPTION_CACHE_MS}); changes made through this service count at once, other processes' within this time`,
    parseMillisecondsUpTo(MAX_SUBSCRIPTION_CACHE_MS),
    0,
  )
  withCommonOptions(command)
    .addHelpText(
      'after',
      `
Environment:
  RESTHOOKS_ADMIN_KEY  the event producer's key (Authorization: Bearer <key>), for
                       POST /events and POST /event-types, and the operator's key
                       for signing in to the admin dashboard at /admin; at least
                       16 characters
  RESTHOOKS_SECRET_KEY encrypts subscription secrets at rest (32 bytes, hex or
                       base64: openssl rand -base64 32); every process that
                       delivers needs the same key

Owners authenticate with API keys from \`resthooks keys create --owner <id>\`.
SIGTERM or SIGINT stops the service; deliveries in flight finish and are recorded.

Example:
  echo '{"book.added": "Book.created", "user.logged_in": null}' > events.json
  RESTHOOKS_ADMIN_KEY=$(openssl rand -hex 32) resthooks serve --events events.json`,
    )
    .action(serve)
}

async function serve(options: ServeOptions, command: Command): Promise<void> {
  const storage = storageOf(command)
  const output = createOutput(storage.json)
  const adminKey = process.env.RESTHOOKS_ADMIN_KEY || undefined
  if (adminKey !== undefined) {
    const problem = adminKeyProblem(adminKey)
    if (problem) throw new UsageError(problem)
  }
  const events = options.events === undefined ? undefined : loadEventsFile(options.events)
  tuneWorkerHeap()
  const hooks = await openMigratedHooks(storage, {
    ...(events ? { events } : {}),
    subscriptionCacheMs: options.subscriptionCacheMs,
  })

  let service: Service
  try {
    const { startService } = await import('../service/service.ts')
    service = await startService({
      hooks,
      port: options.port,
      host: options.host,
      adminKey,
      worker: options.worker,
      concurrency: options.concurrency,
      perTargetConcurrency: options.perTargetConcurrency,
      log: {
        info: (message) => {
          if (output.interactive) output.line(message)
        },
        error: (message) => process.stderr.write(`${message}\n`),
      },
    })
  } catch (error) {
    await hooks.close()
    throw listenFailure(error, options)
  }
  const live = output.interactive ? followDeliveries(hooks, (line) => output.line(line)) : null

  const worker = options.worker ? `worker on, concurrency ${options.concurrency}` : 'no worker'
  output.result(`resthooks ${VERSION} listening on ${service.url} (${storage.path}, ${worker})`, {
    listening: service.url,
    host: service.host,
    port: service.port,
    db: storage.path,
    worker: options.worker,
    producer: adminKey !== undefined,
  })
  if (adminKey === undefined) {
    output.warn(
      'RESTHOOKS_ADMIN_KEY is not set: POST /events and POST /event-types answer 403, and the admin dashboard is off',
    )
  } else if (output.interactive) {
    output.note(`Admin dashboard: ${service.url}/admin (sign in with RESTHOOKS_ADMIN_KEY)`)
  }
  if (output.interactive) output.note('Press Ctrl-C to stop.')

  const signal = await shutdownSignal(() => process.stderr.write('stopping at once\n'))
  output.note(`${signal}: stopping; deliveries in flight finish first (again to stop at once)`)
  await service.stop()
  live?.stop()
  await hooks.close()
  if (storage.json) output.result('', { stopped: true, signal })
  else output.note('stopped')
  exitSoon(0)
}

function listenFailure(error: unknown, options: ServeOptions): Error {
  const code = (error as NodeJS.ErrnoException).code
  const where = `${options.host}:${options.port}`
  if (code === 'EADDRINUSE') {
    return new CommandFailed(`${where} is already in use; choose another --port`)
  }
  if (code === 'EACCES') return new CommandFailed(`not allowed to listen on ${where}`)
  if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
    return new CommandFailed(`cannot listen on ${where}: no such local address (--host)`)
  }
  return error as Error
}
