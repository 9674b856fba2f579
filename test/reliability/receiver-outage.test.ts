/**
 * Receiver outages (issue 8): a receiver that goes down (its server closed: connections are
 * refused), comes back answering 503 with `Retry-After`, then heals. With a compressed retry
 * schedule and no jitter, proves that every delivery arrives once it is back, that the attempts
 * follow the schedule (each retry starts the scheduled wait after the failed attempt ended, give
 * or take the poll interval and a generous tolerance), and that `Retry-After` is honoured: the
 * next attempt never starts before it. Store-agnostic (SQLite; PostgreSQL in the `postgres`
 * project).
 */

import { createServer, type Server } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import type { AttemptTable } from '../../src/store/schema.ts'
import { bookstoreHooks } from '../support/bookstore.ts'
import { freePort } from '../support/ports-and-dirs.ts'

/** The waits before retries 1, 2, …, in ms (jitter 0). */
const SCHEDULE = [300, 600, 1200, 2400, 4800]
const RETRY_AFTER_S = 2
const POLL_MS = 50
/** How late a retry may start: the poll interval, a claim and a generous margin for a loaded machine. */
const TOLERANCE_MS = POLL_MS + 1500
const EVENTS = 5

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

let cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.reverse()) await step()
  cleanup = []
})

/** A receiver on a fixed port, so that it can go away and come back at the same address. */
async function listen(port: number, answer: Parameters<typeof createServer>[1]): Promise<Server> {
  const server = createServer(answer)
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

async function close(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

describe('a receiver that is down, then overloaded, then healthy', () => {
  it('refused connections, then 503 with Retry-After: every delivery arrives once it is back, retries follow the schedule and Retry-After', async () => {
    const setup = await bookstoreHooks({ retry: { schedule: SCHEDULE, jitter: 0 } })
    cleanup.push(setup.close)
    const { hooks } = setup
    const port = await freePort()
    const received: { pair: string; attempt: string; status: number; at: number }[] = []
    /** Deliveries that got their 503 already. */
    const throttled = new Set<string>()
    let answer503 = false
    const handler: Parameters<typeof createServer>[1] = (request, response) => {
      request.resume()
      request.on('end', () => {
        const pair = `${request.headers['webhook-id']}`
        const attempt = String(request.headers['hook-attempt'])
        if (answer503 && !throttled.has(pair)) {
          throttled.add(pair)
          received.push({ pair, attempt, status: 503, at: Date.now() })
          response.writeHead(503, { 'retry-after': String(RETRY_AFTER_S) }).end('busy')
          return
        }
        received.push({ pair, attempt, status: 200, at: Date.now() })
        response.writeHead(200).end('ok')
      })
    }
    let server = await listen(port, handler)
    cleanup.push(async () => {
      if (server.listening) await close(server)
    })
    const subscription = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `http://127.0.0.1:${port}/hooks`,
    })
    const worker = hooks.worker({ pollIntervalMs: POLL_MS })
    await worker.start()

    // Healthy at first: a delivery goes through (and leaves a pooled connection behind).
    await hooks.modelEvent('Book', 'created', { id: 0, ownerId: 'u1' })
    while (received.length < 1) await sleep(10)

    // Down: the server closes; connections are refused.
    await close(server)
    const failures = new Map<string, number>()
    hooks.on('delivery.failed', ({ eventId }) => {
      failures.set(eventId, (failures.get(eventId) ?? 0) + 1)
    })
    const eventIds: string[] = []
    for (let i = 1; i <= EVENTS; i++) {
      const result = await hooks.modelEvent('Book', 'created', { id: i, ownerId: 'u1' })
      if (!result) throw new Error('dispatch is off')
      eventIds.push(result.id)
    }
    // Down until every delivery failed three times (about 0.9 s).
    while (!eventIds.every((id) => (failures.get(id) ?? 0) >= 3)) await sleep(10)
    expect(received).toHaveLength(1)

    // Back, overloaded: each delivery's next request gets 503 with Retry-After; then 200.
    answer503 = true
    server = await listen(port, handler)
    const deadline = Date.now() + 20_000
    while (received.filter((r) => r.status === 200).length < 1 + EVENTS) {
      if (Date.now() > deadline) throw new Error(`only ${received.length} requests arrived`)
      await sleep(20)
    }
    await worker.stop()

    // Everything arrived, once.
    const ok = received.filter((r) => r.status === 200).slice(1)
    expect(ok.map((r) => r.pair).sort()).toEqual([...eventIds].sort())

    const deliveries = await hooks.listDeliveries({ subscriptionId: subscription.id, limit: 10 })
    const measured: { afterRefused: number[]; afterRetryAfter: number[] } = {
      afterRefused: [],
      afterRetryAfter: [],
    }
    for (const delivery of deliveries?.data ?? []) {
      if (!eventIds.includes(delivery.eventId)) continue
      expect(delivery.status).toBe('succeeded')
      const attempts: AttemptTable[] = await hooks.store.listAttempts(delivery.id)
      attempts.sort((a, b) => a.number - b.number)
      // Refused (at least 3), one 503, one success, in that order.
      const refused = attempts.filter((a) => a.response_status === null)
      expect(refused.length).toBeGreaterThanOrEqual(3)
      for (const a of refused) expect(a.error).toMatch(/ECONNREFUSED|refused|fetch failed/i)
      expect(attempts.slice(refused.length).map((a) => a.response_status)).toEqual([503, 200])
      for (let i = 1; i < attempts.length; i++) {
        const previous = attempts[i - 1] as AttemptTable
        const next = attempts[i] as AttemptTable
        const endedAt = Number(previous.started_at) + Number(previous.duration_ms)
        const waited = Number(next.started_at) - endedAt
        if (previous.response_status === 503) {
          // Retry-After is honoured: never before it, and not much after it.
          expect(waited).toBeGreaterThanOrEqual(RETRY_AFTER_S * 1000)
          expect(waited).toBeLessThanOrEqual(RETRY_AFTER_S * 1000 + TOLERANCE_MS)
          measured.afterRetryAfter.push(waited)
        } else {
          const planned = SCHEDULE[previous.number - 1] as number
          expect(waited).toBeGreaterThanOrEqual(planned)
          expect(waited).toBeLessThanOrEqual(planned + TOLERANCE_MS)
          measured.afterRefused.push(waited - planned)
        }
      }
    }
    const max = (values: number[]) => Math.max(...values)
    console.info(
      `receiver-outage: ${EVENTS} deliveries; retries started at most ${max(measured.afterRefused)} ms ` +
        `after their scheduled time; after 503 Retry-After: ${RETRY_AFTER_S} they waited ` +
        `${Math.min(...measured.afterRetryAfter)}–${max(measured.afterRetryAfter)} ms`,
    )
  }, 30_000)
})
