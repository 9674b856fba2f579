/**
 * Deliveries to HTTPS targets: the receiver's certificate is verified against the trusted
 * roots, with nothing to turn that off. A receiver whose certificate the process does not trust
 * gets no request; once Node trusts its CA (`NODE_EXTRA_CA_CERTS`, read at start-up, so in a
 * `resthooks worker` of its own), it gets the signed delivery.
 *
 * The key and certificate in test/support/tls are a self-signed pair for 127.0.0.1 made for
 * these tests only (`openssl req -x509 -newkey ec …`, valid until 2126).
 */
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Webhook } from 'standardwebhooks'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createHooks, type Hooks } from '../src/index.ts'
import { bookEvents } from './support/bookstore.ts'
import { type Receiver, startReceiver } from './support/receiver.ts'
import { type TemporaryDatabase, temporaryDatabaseOfKind } from './support/store-kind.ts'

const HERE = dirname(fileURLToPath(import.meta.url))
const MAIN = join(HERE, '../src/cli/main.ts')
const CERT = join(HERE, 'support/tls/receiver-cert.pem')
const tls = {
  key: readFileSync(join(HERE, 'support/tls/receiver-key.pem'), 'utf8'),
  cert: readFileSync(CERT, 'utf8'),
}

let database: TemporaryDatabase
let hooks: Hooks
let receiver: Receiver

beforeEach(async () => {
  database = await temporaryDatabaseOfKind()
  hooks = createHooks({
    store: database.open(),
    events: bookEvents,
    allowTargets: ['127.0.0.0/8'],
    retry: { schedule: [60_000] },
  })
  await hooks.migrate()
  receiver = await startReceiver(undefined, { tls })
})

afterEach(async () => {
  await hooks.close()
  await receiver.close()
  await database.remove()
})

describe('deliveries over HTTPS', { timeout: 60_000 }, () => {
  it('a certificate the process does not trust: no request, the attempt fails with the reason and the delivery waits for its retry', async () => {
    const { id } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/hooks`,
    })
    await hooks.rawEvent('book.added', { id: 7 }, { owner: 'u1' })
    await hooks.deliverPending()
    expect(receiver.requests).toHaveLength(0)
    const page = await hooks.listDeliveries({ subscriptionId: id })
    const delivery = page?.data[0]
    expect(delivery).toMatchObject({ status: 'pending', attempts: 1 })
    expect(delivery?.lastError).toMatch(/self[- ]signed certificate/i)
  })

  it('trusted through NODE_EXTRA_CA_CERTS, `resthooks worker` delivers the signed request over TLS', async () => {
    const { secret } = await hooks.subscribe({
      owner: 'u1',
      event: 'book.added',
      target: `${receiver.url}/hooks`,
    })
    await hooks.rawEvent('book.added', { id: 7, title: 'The Two Towers' }, { owner: 'u1' })
    const worker = spawn(
      process.execPath,
      [MAIN, 'worker', '--allow-targets', '127.0.0.0/8', ...database.cliArgs],
      {
        env: { ...process.env, DATABASE_URL: '', NODE_EXTRA_CA_CERTS: CERT },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    )
    let stderr = ''
    worker.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk
    })
    const exited = new Promise<number | null>((resolve) => worker.on('close', resolve))
    try {
      await receiver.waitFor(1, 30_000)
    } catch (error) {
      throw new Error(`${(error as Error).message}; worker stderr: ${stderr}`)
    } finally {
      worker.kill('SIGTERM')
    }
    expect(await exited).toBe(0)
    const [request] = receiver.requests
    if (!request) throw new Error('nothing arrived')
    const headers = request.headers as Record<string, string>
    expect(new Webhook(secret).verify(request.body, headers)).toMatchObject({
      type: 'book.added',
      data: { id: 7, title: 'The Two Towers' },
    })
  })
})
