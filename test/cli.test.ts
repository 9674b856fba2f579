/**
 * End to end: `resthooks serve` as a child process on a temporary SQLite file, an API key from
 * `resthooks keys create`, a subscription over HTTP, an event from the producer and its signed
 * delivery (verified with the `standardwebhooks` package); then `monitor`, `send`, `replay` and
 * `prune` against the same database, with their documented output and exit statuses.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { Webhook } from 'standardwebhooks'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createHooks } from '../src/index.ts'
import { bookEvents } from './support/bookstore.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from './support/receiver.ts'
import { storeKind, type TemporaryDatabase, temporaryDatabaseOfKind } from './support/store-kind.ts'

const MAIN = join(dirname(fileURLToPath(import.meta.url)), '../src/cli/main.ts')
const ADMIN_KEY = 'test-admin-key-0123456789abcdef'
const COMMANDS = [
  [],
  ['serve'],
  ['worker'],
  ['migrate'],
  ['keys'],
  ['keys', 'create'],
  ['send'],
  ['monitor'],
  ['prune'],
  ['replay'],
]

interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `resthooks <args>` to completion; stdout and stderr are pipes, so it is not a TTY. */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], {
      env: { ...process.env, DATABASE_URL: '', RESTHOOKS_ALLOW_TARGETS: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk
    })
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** The JSON document a `--json` command printed. */
function json<T = Record<string, unknown>>(result: CliResult): T {
  expect(result.stderr).not.toMatch(/at .*\.ts:\d+/) // no stack trace
  return JSON.parse(result.stdout) as T
}

/** Verifies a received webhook with the reference implementation of Standard Webhooks. */
function verified(request: ReceivedRequest, secret: string) {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers)) {
    if (typeof value === 'string') headers[name] = value
  }
  return new Webhook(secret).verify(request.body, headers) as {
    type: string
    data: unknown
  }
}

/** A `resthooks serve` child process that listens. */
interface RunningServe {
  child: ChildProcess
  /** Its exit status, once its output is read. */
  exit: Promise<number | null>
  /** The lines it printed after the first. */
  later: string[]
  stderr(): string
  /** Its first line: the JSON result. */
  started: { listening: string; worker: boolean; producer: boolean }
}

// Each test starts a dozen CLI processes: on a busy 2-core machine that can take over 30 s.
describe('resthooks CLI and service, end to end', { timeout: 120_000 }, () => {
  let database: TemporaryDatabase
  let db: string[] = []
  const scratch = mkdtempSync(join(tmpdir(), 'resthooks-cli-'))
  const eventsFile = join(scratch, 'events.json')
  let receiver: Receiver
  let serve: RunningServe
  let url = ''
  let apiKey = ''
  let hookId = ''
  let secret = ''

  /**
   * `resthooks serve --port 0 --json --events <file> <extra> <db>`, once it listens: its first
   * line (the JSON result), the lines after it, its stderr and its exit status.
   */
  async function startServe(extra: string[]): Promise<RunningServe> {
    const child = spawn(
      process.execPath,
      [MAIN, 'serve', '--port', '0', '--json', '--events', eventsFile, ...extra, ...db],
      {
        env: { ...process.env, DATABASE_URL: '', RESTHOOKS_ADMIN_KEY: ADMIN_KEY },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const exit = new Promise<number | null>((resolve) => child.on('close', resolve))
    const lines = createInterface({ input: child.stdout })
    const first = await new Promise<string>((resolve, reject) => {
      lines.once('line', resolve)
      child.once('exit', () => reject(new Error(`serve exited early: ${stderr}`)))
    })
    const later: string[] = []
    lines.on('line', (line) => later.push(line))
    return {
      child,
      exit,
      later,
      stderr: () => stderr,
      started: JSON.parse(first) as { listening: string; worker: boolean; producer: boolean },
    }
  }

  beforeAll(async () => {
    database = await temporaryDatabaseOfKind()
    db = database.cliArgs
    writeFileSync(eventsFile, JSON.stringify(bookEvents))
    receiver = await startReceiver()
    serve = await startServe(['--allow-targets', '127.0.0.0/8'])
    expect(serve.started).toMatchObject({ worker: true, producer: true, db: database.location })
    url = serve.started.listening
  })

  afterAll(async () => {
    if (serve?.child.exitCode === null) serve.child.kill('SIGKILL')
    await receiver?.close()
    await database.remove()
    rmSync(scratch, { recursive: true, force: true })
  })

  const api = (path: string, init: RequestInit & { key?: string } = {}) =>
    fetch(`${url}${path}`, {
      ...init,
      headers: {
        'content-type': 'application/json',
        ...(init.key ? { authorization: `Bearer ${init.key}` } : {}),
      },
    })

  it('answers /healthz', async () => {
    const response = await fetch(`${url}/healthz`)
    expect(response.status).toBe(200)
    expect(await response.json()).toMatchObject({ status: 'ok', worker: true })
  })

  it('creates an API key with `keys create --owner u1 --json`', async () => {
    const result = await cli(['keys', 'create', '--owner', 'u1', '--json', ...db])
    expect(result.code).toBe(0)
    const created = json<{ id: string; owner: string; key: string; createdAt: string }>(result)
    expect(created).toMatchObject({ owner: 'u1' })
    expect(created.id).toMatch(/^key_/)
    expect(created.key).toMatch(/^rh_[A-Za-z0-9_-]{43}$/)
    apiKey = created.key
  })

  it('subscribes over HTTP with the key, and delivers the producer’s event, signed', async () => {
    expect((await api('/hooks')).status).toBe(401)
    expect((await api('/hooks', { key: 'rh_not-a-key' })).status).toBe(401)

    const subscribed = await api('/hooks', {
      method: 'POST',
      key: apiKey,
      body: JSON.stringify({ event: 'book.added', target: `${receiver.url}/hooks` }),
    })
    expect(subscribed.status).toBe(201)
    const subscription = (await subscribed.json()) as { id: string; secret: string }
    hookId = subscription.id
    secret = subscription.secret

    const event = { event: 'book.added', owner: 'u1', data: { id: 1, title: 'Dune' } }
    // An owner's key cannot post events; only the admin key can.
    const asOwner = await api('/events', {
      method: 'POST',
      key: apiKey,
      body: JSON.stringify(event),
    })
    expect(asOwner.status).toBe(403)
    const posted = await api('/events', {
      method: 'POST',
      key: ADMIN_KEY,
      body: JSON.stringify(event),
    })
    expect(posted.status).toBe(202)
    expect(await posted.json()).toMatchObject({ deliveries: 1 })

    await receiver.waitFor(1)
    const [request] = receiver.requests
    expect(request?.path).toBe('/hooks')
    expect(verified(request as ReceivedRequest, secret)).toMatchObject({
      type: 'book.added',
      data: { id: 1, title: 'Dune' },
    })
  })

  it('has --help on every command (exit 0), and exits 2 on usage errors', async () => {
    const helps = await Promise.all(COMMANDS.map((command) => cli([...command, '--help'])))
    for (const [index, help] of helps.entries()) {
      expect(help.code, COMMANDS[index]?.join(' ')).toBe(0)
      expect(help.stdout).toMatch(/^Usage: resthooks/)
    }
    const errors = await Promise.all([
      cli(['monitor', '--status', 'lost', ...db]),
      cli(['prune', ...db]),
      cli(['replay', '--hook', hookId, '--since', 'yesterday', ...db]),
      cli(['serve', '--port', 'http', ...db]),
      cli(['migrate', '--database-url', 'mysql://localhost/app']),
      cli(['migrate', '--allow-targets', '10.0.0/8', ...db]),
      storeKind === 'sqlite'
        ? cli(['monitor', '--status', 'failed', '--db', `${database.location}.typo`])
        : cli([
            'monitor',
            '--status',
            'failed',
            '--db',
            'x.db',
            '--database-url',
            database.location,
          ]),
      cli(['bogus']),
    ])
    for (const error of errors) {
      expect(error.code).toBe(2)
      expect(error.stderr).toMatch(/^error: /m)
      expect(error.stderr).not.toMatch(/\n\s+at /) // no stack trace
    }
    expect(errors[0]?.stderr).toContain("argument 'lost' is invalid")
    expect(errors[1]?.stderr).toContain("required option '--days <n>' not specified")
    expect(errors[4]?.stderr).toContain('--database-url must be a postgres:// URL')
    expect(errors[6]?.stderr).toContain(
      storeKind === 'sqlite'
        ? 'no database at'
        : 'give --db <file> or --database-url <url>, not both',
    )
  })

  it('monitor prints the count, exits 1 at or over --limit, and has a --json shape', async () => {
    const pending = await cli(['monitor', '--status', 'pending', ...db])
    expect(pending).toMatchObject({ code: 0, stdout: '0 pending deliveries (limit 10)\n' })

    const failed = await cli(['monitor', '--status', 'failed', '--minutes', '5', '--json', ...db])
    expect(failed.code).toBe(0)
    const shape = json(failed)
    expect(shape).toMatchObject({ status: 'failed', count: 0, limit: 10, minutes: 5 })
    expect(shape.overLimit).toBe(false)
    expect(new Date(shape.since as string).getTime()).toBeLessThan(Date.now())
  })

  it('stops on SIGTERM with exit 0 after the delivery in flight is recorded', async () => {
    receiver.respondWith((_request, response) => {
      setTimeout(() => response.writeHead(200).end('slow ok'), 1_000)
    })
    const posted = await api('/events', {
      method: 'POST',
      key: ADMIN_KEY,
      body: JSON.stringify({ event: 'book.added', owner: 'u1', data: { id: 2 } }),
    })
    const { id: eventId } = (await posted.json()) as { id: string }
    await receiver.waitFor(2)
    serve.child.kill('SIGTERM')
    expect(await serve.exit).toBe(0)
    expect(serve.later.map((line) => JSON.parse(line))).toEqual([
      { stopped: true, signal: 'SIGTERM' },
    ])
    expect(serve.stderr()).toBe('')

    const hooks = createHooks({ store: database.open(), events: bookEvents })
    const log = await hooks.listDeliveries({ subscriptionId: hookId })
    await hooks.close()
    const delivery = log?.data.find((d) => d.eventId === eventId)
    expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200 })
  })

  it('monitor, replay, send and prune work on the database once the service is gone', async () => {
    // A delivery that failed for good: one attempt, no retries, against a failing target.
    const since = new Date(Date.now() - 1000).toISOString()
    receiver.respondWith((_request, response) => response.writeHead(500).end('down'))
    const hooks = createHooks({
      store: database.open(),
      events: bookEvents,
      allowTargets: ['127.0.0.0/8'],
      retry: { schedule: [] },
    })
    await hooks.migrate()
    await hooks.rawEvent('book.added', { id: 3 }, { owner: 'u1' })
    expect(await hooks.deliverPending()).toMatchObject({ exhausted: 1 })
    await hooks.close()

    const over = await cli(['monitor', '--status', 'failed', '--limit', '1', ...db])
    expect(over).toMatchObject({ code: 1, stdout: '1 failed delivery (limit 1: reached)\n' })
    const under = await cli(['monitor', '--status', 'failed', '--limit', '2', '--json', ...db])
    expect(under.code).toBe(0)
    expect(json(under)).toMatchObject({ count: 1, limit: 2, overLimit: false })

    const unknown = await cli(['replay', '--hook', 'hook_unknown', '--since', since, ...db])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toBe("error: no subscription 'hook_unknown'\n")
    const replay = await cli(['replay', '--hook', hookId, '--since', since, '--json', ...db])
    expect(replay.code).toBe(0)
    expect(json(replay)).toEqual({ hook: hookId, since, requeued: 1 })
    const queued = await cli(['monitor', '--status', 'pending', '--limit', '1', '--json', ...db])
    expect(queued.code).toBe(1)
    expect(json(queued)).toMatchObject({ status: 'pending', count: 1, overLimit: true })

    receiver.respondWith((_request, response) => response.writeHead(204).end())
    const before = receiver.requests.length
    const send = await cli(['send', '--json', '--allow-targets', '127.0.0.0/8', ...db])
    expect(send.code).toBe(0)
    expect(json(send)).toEqual({
      succeeded: 1,
      failed: 0,
      exhausted: 0,
      dropped: 0,
      deliveries: [],
    })
    expect(receiver.requests.length).toBe(before + 1)
    const resent = receiver.requests.at(-1) as ReceivedRequest
    expect(verified(resent, secret)).toMatchObject({ type: 'book.added', data: { id: 3 } })

    // --delivery makes a finished delivery due again and sends only it: another event's
    // delivery, due too, waits for a pass of its own (--hook, here).
    const deliveryId = await lastDelivery()
    const producer = createHooks({
      store: database.open(),
      events: bookEvents,
    })
    await producer.rawEvent('book.added', { id: 4 }, { owner: 'u1' })
    await producer.close()
    const again = await cli([
      'send',
      '--delivery',
      deliveryId,
      '--allow-targets',
      '127.0.0.0/8',
      ...db,
    ])
    expect(again.code).toBe(0)
    expect(again.stdout).toBe(
      `sent: 1 succeeded, 0 failed (to retry), 0 failed for good, 0 dropped\n${deliveryId}: succeeded\n`,
    )
    const waiting = await cli(['monitor', '--status', 'pending', '--json', ...db])
    expect(json(waiting)).toMatchObject({ count: 1 })
    const missing = await cli(['send', '--delivery', 'dlv_unknown', ...db])
    expect(missing).toMatchObject({ code: 1, stderr: "error: no delivery 'dlv_unknown'\n" })
    const byHook = await cli(['send', '--hook', hookId, '--allow-targets', '127.0.0.0/8', ...db])
    expect(byHook.code).toBe(0)
    expect(byHook.stdout).toMatch(/^sent: 1 succeeded, 0 failed .*\ndlv_\w+: succeeded\n$/)
    expect(receiver.requests.map((r) => JSON.parse(r.body).data.id).slice(-3)).toEqual([3, 3, 4])

    const keep = await cli(['prune', '--days', '30', ...db])
    expect(keep.code).toBe(0)
    expect(keep.stdout).toMatch(/^pruned 0 deliveries and 0 events created before \S+Z\n$/)
    const pruned = await cli(['prune', '--days', '0', '--json', ...db])
    expect(pruned.code).toBe(0)
    expect(json(pruned)).toMatchObject({ deliveries: 4, events: 4 })
    const empty = await cli(['monitor', '--status', 'pending', '--json', ...db])
    expect(json(empty)).toMatchObject({ count: 0 })

    async function lastDelivery(): Promise<string> {
      const reader = createHooks({ store: database.open() })
      const page = await reader.listDeliveries({ subscriptionId: hookId, limit: 1 })
      await reader.close()
      return page?.data[0]?.id ?? ''
    }
  })

  it('worker --per-target-concurrency caps the requests in flight to one origin', async () => {
    let inFlight = 0
    let most = 0
    const slow = await startReceiver((_request, response) => {
      most = Math.max(most, ++inFlight)
      setTimeout(() => {
        inFlight--
        response.writeHead(200).end()
      }, 300)
    })
    const hooks = createHooks({
      store: database.open(),
      events: bookEvents,
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.subscribe({ owner: 'one-origin', event: 'book.added', target: slow.url })
    for (let id = 1; id <= 6; id++) {
      await hooks.rawEvent('book.added', { id }, { owner: 'one-origin' })
    }
    await hooks.close()
    const worker = spawn(
      process.execPath,
      [MAIN, 'worker', '--per-target-concurrency', '2', '--allow-targets', '127.0.0.0/8', ...db],
      { env: { ...process.env, DATABASE_URL: '' }, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve))
    try {
      await slow.waitFor(6)
    } finally {
      worker.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    await slow.close()
    // Without the option (10 per origin) all six would be in flight at once.
    expect(most).toBe(2)

    const zero = await cli(['worker', '--per-target-concurrency', '0', ...db])
    expect(zero.code).toBe(2)
    expect(zero.stderr).toMatch(/^error: .*per-target-concurrency/m)
  })

  it('serve --subscription-cache-ms reuses a lookup; without it a new subscription counts at once', async () => {
    /** A `resthooks serve --no-worker` with `extra` options, posting events and stopping. */
    async function producer(extra: string[]) {
      const service = await startServe(['--no-worker', ...extra])
      return {
        post: async (owner: string) => {
          const response = await fetch(`${service.started.listening}/events`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${ADMIN_KEY}` },
            body: JSON.stringify({ event: 'book.added', owner, data: { id: 1 } }),
          })
          expect(response.status).toBe(202)
          return ((await response.json()) as { deliveries: number }).deliveries
        },
        stop: async () => {
          service.child.kill('SIGTERM')
          return service.exit
        },
      }
    }
    const [cached, uncached] = await Promise.all([
      producer(['--subscription-cache-ms', '1000']),
      producer([]),
    ])
    // Another process subscribes the two owners while both services have looked them up.
    const other = createHooks({
      store: database.open(),
      events: bookEvents,
      allowTargets: ['127.0.0.0/8'],
    })
    try {
      expect(await cached.post('cache-on')).toBe(0)
      expect(await uncached.post('cache-off')).toBe(0)
      const lookedUp = performance.now()
      for (const owner of ['cache-on', 'cache-off']) {
        await other.subscribe({ owner, event: 'book.added', target: `${receiver.url}/cache` })
      }
      const withCache = await cached.post('cache-on')
      const withoutCache = await uncached.post('cache-off')
      expect(withoutCache).toBe(1)
      // Within the second, the cached service still has no subscriber for that owner.
      if (performance.now() - lookedUp < 1_000) expect(withCache).toBe(0)
      // After it, the lookup is made again.
      await new Promise((resolve) => setTimeout(resolve, 1_100))
      expect(await cached.post('cache-on')).toBe(1)
    } finally {
      await other.close()
      expect(await cached.stop()).toBe(0)
      expect(await uncached.stop()).toBe(0)
    }

    const tooLong = await cli(['serve', '--subscription-cache-ms', '1001', ...db])
    expect(tooLong.code).toBe(2)
    expect(tooLong.stderr).toMatch(/^error: .*subscription-cache-ms.*0 to 1000/m)
  })
})
