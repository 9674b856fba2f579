import { type ChildProcess, spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../src/index.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { bookEvents } from './support/bookstore.ts'
import { type ReceivedRequest, type Receiver, startReceiver } from './support/receiver.ts'
import { temporaryDatabase } from './support/sqlite-file.ts'

const WORKER_SCRIPT = fileURLToPath(new URL('./support/worker-process.ts', import.meta.url))

const EVENTS = 20
const SUBSCRIPTIONS = 2
const LEASE_MS = 2000
/** The first worker's concurrency: it holds this many claims in flight when it is killed. */
const IN_FLIGHT = 10

interface ChildMessage {
  type: string
  [key: string]: unknown
}

/** A worker process over the SQLite file; resolves once its worker has started. */
async function startWorkerProcess(path: string, leaseMs: number, pollIntervalMs = 1000) {
  const child = spawn(
    process.execPath,
    [WORKER_SCRIPT, path, String(leaseMs), String(IN_FLIGHT), String(pollIntervalMs)],
    { stdio: ['ignore', 'inherit', 'pipe', 'ipc'] },
  )
  children.add(child)
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8')
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child)
      resolve({ code, signal })
    }),
  )
  const messages: ChildMessage[] = []
  child.on('message', (message: ChildMessage) => messages.push(message))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start: ${stderr}`)), 10_000)
    child.on('message', (message: ChildMessage) => {
      if (message.type !== 'started') return
      clearTimeout(timer)
      resolve()
    })
    void exited.then(({ code, signal }) => {
      clearTimeout(timer)
      reject(new Error(`worker exited (${code ?? signal}) before starting: ${stderr}`))
    })
  })
  return {
    child,
    messages,
    exited,
    stderr: () => stderr,
    /** SIGKILL: no chance to finish, record or release anything. */
    async kill() {
      child.kill('SIGKILL')
      return exited
    },
    /** A graceful stop: the worker finishes and records what it holds. */
    async stop() {
      child.send({ type: 'stop' })
      return exited
    },
  }
}

const children = new Set<ChildProcess>()
let receiver: Receiver | undefined
let hooks: Hooks | undefined
let database: ReturnType<typeof temporaryDatabase> | undefined

afterEach(async () => {
  for (const child of children) child.kill('SIGKILL')
  children.clear()
  await receiver?.close()
  await hooks?.close()
  database?.remove()
  receiver = undefined
  hooks = undefined
  database = undefined
})

/** The (event, subscription) pair a request delivers. */
const pairOf = (request: ReceivedRequest) =>
  `${request.headers['webhook-id']} ${request.headers['hook-subscription']}`

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await check()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}

describe('a worker process that dies', () => {
  it('killed with SIGKILL while holding claims: another worker delivers them after the lease, and nothing is lost', async () => {
    database = temporaryDatabase()
    const { path } = database
    hooks = createHooks({
      store: sqliteStore({ path }),
      events: { ...bookEvents },
      allowTargets: ['127.0.0.0/8'],
    })
    await hooks.migrate()

    // The receiver never answers while the first worker runs: its requests stay in flight.
    const held: ReceivedRequest[] = []
    receiver = await startReceiver((request) => {
      held.push(request)
    })

    const subscriptionIds: string[] = []
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const { id } = await hooks.subscribe({
        owner: 'u1',
        event: 'book.added',
        target: `${receiver.url}/hooks/${i}`,
      })
      subscriptionIds.push(id)
    }
    const eventIds: string[] = []
    for (let i = 0; i < EVENTS; i++) {
      const result = await hooks.modelEvent('Book', 'created', {
        id: i,
        title: `Book ${i}`,
        ownerId: 'u1',
      })
      if (!result) throw new Error('dispatch is off')
      expect(result.deliveries).toBe(SUBSCRIPTIONS)
      eventIds.push(result.id)
    }
    const expected = eventIds.flatMap((e) => subscriptionIds.map((s) => `${e} ${s}`)).sort()

    // 1. The first worker claims and sends; once the receiver holds IN_FLIGHT requests, kill it.
    const first = await startWorkerProcess(path, LEASE_MS)
    await receiver.waitFor(IN_FLIGHT)
    const { signal } = await first.kill()
    expect(signal).toBe('SIGKILL')
    // Requests the child wrote just before it died may still be read by the receiver.
    await sleep(100)
    const inFlight = receiver.requests.slice()
    const inFlightPairs = inFlight.map(pairOf).sort()
    expect(inFlight).toHaveLength(IN_FLIGHT)
    expect(new Set(inFlightPairs).size).toBe(IN_FLIGHT)
    expect(first.messages.filter((m) => m.type === 'delivered')).toEqual([])

    // The killed worker's claims are still in the store, pending under its lease.
    const claims = await hooks.store.db
      .selectFrom('resthooks_deliveries')
      .select(['event_id', 'subscription_id', 'next_attempt_at', 'status', 'attempts'])
      .where('lease_token', 'is not', null)
      .execute()
    expect(claims.map((c) => `${c.event_id} ${c.subscription_id}`).sort()).toEqual(inFlightPairs)
    expect(claims.every((c) => c.status === 'pending' && Number(c.attempts) === 0)).toBe(true)
    const leaseEnds = new Map(
      claims.map((c) => [`${c.event_id} ${c.subscription_id}`, Number(c.next_attempt_at)]),
    )

    // 2. The receiver answers now; a second worker process, with a short lease, takes over.
    receiver.respondWith((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok')
    })
    const second = await startWorkerProcess(path, LEASE_MS, 100)
    const total = EVENTS * SUBSCRIPTIONS + IN_FLIGHT
    await receiver.waitFor(total, 15_000)

    // The store shows every delivery succeeded, once recorded.
    const current = hooks
    await until('every delivery to be recorded as succeeded', async () => {
      for (const subscriptionId of subscriptionIds) {
        const page = await current.listDeliveries({ subscriptionId, limit: 250 })
        if (page?.data.length !== EVENTS) return undefined
        if (page.data.some((d) => d.status !== 'succeeded')) return undefined
      }
      return true
    })
    const { code } = await second.stop()
    expect(code).toBe(0)
    // Nothing more arrives: the redeliveries were all.
    expect(receiver.requests).toHaveLength(total)

    // Nothing is lost: every (event, subscription) pair arrived at least once.
    const requests = receiver.requests
    const pairs = requests.map(pairOf)
    expect([...new Set(pairs)].sort()).toEqual(expected)

    // Sent twice are exactly the requests in flight at the kill, each with the same webhook-id,
    // body and attempt number (the killed attempt was never recorded).
    const count = new Map<string, number>()
    for (const pair of pairs) count.set(pair, (count.get(pair) ?? 0) + 1)
    const twice = [...count].filter(([, n]) => n > 1)
    expect(twice.map(([pair]) => pair).sort()).toEqual(inFlightPairs)
    expect(twice.every(([, n]) => n === 2)).toBe(true)
    const afterKill = requests.slice(IN_FLIGHT)
    for (const before of inFlight) {
      const again = afterKill.find((r) => pairOf(r) === pairOf(before))
      if (!again) throw new Error(`${pairOf(before)} was not redelivered`)
      expect(again.headers['webhook-id']).toBe(before.headers['webhook-id'])
      expect(again.headers['hook-subscription']).toBe(before.headers['hook-subscription'])
      expect(again.headers['hook-attempt']).toBe('1')
      expect(again.body).toBe(before.body)
      // No redelivery before the killed claim's lease expired (claim time + LEASE_MS).
      const leaseEnd = leaseEnds.get(pairOf(before)) ?? Number.POSITIVE_INFINITY
      expect(again.receivedAt).toBeGreaterThanOrEqual(leaseEnd)
      expect(again.receivedAt - before.receivedAt).toBeGreaterThan(LEASE_MS - 1000)
    }

    // The second worker recorded every delivery; each has one attempt on record, the one that
    // succeeded (the killed worker recorded nothing).
    const delivered = second.messages.filter((m) => m.type === 'delivered')
    expect(delivered).toHaveLength(EVENTS * SUBSCRIPTIONS)
    for (const subscriptionId of subscriptionIds) {
      const page = await hooks.listDeliveries({ subscriptionId, limit: 250 })
      expect(page?.data).toHaveLength(EVENTS)
      for (const delivery of page?.data ?? []) {
        expect(delivery).toMatchObject({ status: 'succeeded', attempts: 1, lastStatus: 200 })
      }
    }
    const pending = await hooks.store.db
      .selectFrom('resthooks_deliveries')
      .select('id')
      .where('status', '!=', 'succeeded')
      .execute()
    expect(pending).toEqual([])
  })
})
