/**
 * The standalone service, ready to try with curl: the REST API and a delivery worker on embedded
 * SQLite (`data/resthooks.db`), plus a demo receiver (`/inbox`) that checks every signature.
 * It prints the admin key for the session and a walkthrough: create an API key, subscribe the
 * inbox, post an event, see it arrive, read the delivery log.
 *
 *   npm run service-demo            (node examples/service-walkthrough.ts)
 *   PORT=9000 npm run service-demo  the API on 9000, the inbox on 9001 (PORT=0: any free ports)
 *   RESTHOOKS_DB=x.db         another database file
 *   RESTHOOKS_ADMIN_KEY=…     a fixed admin key instead of one generated for the session
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname } from 'node:path'
import { createHooks, type Hooks } from '../src/index.ts'
import { type Service, startService } from '../src/service/service.ts'
import { sqliteStore } from '../src/store/sqlite/index.ts'
import { verifyWebhook } from '../src/verify/index.ts'

const path = process.env.RESTHOOKS_DB || 'data/resthooks.db'
const port = Number(process.env.PORT ?? 8080)
const adminKey =
  process.env.RESTHOOKS_ADMIN_KEY || `rh_admin_${randomBytes(24).toString('base64url')}`

mkdirSync(dirname(path), { recursive: true })
const hooks = createHooks({
  store: sqliteStore({ path }),
  events: {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated',
    'book.removed': 'Book.deleted',
    'user.logged_in': null,
  },
  // The demo inbox is on this machine; the SSRF guard refuses loopback targets otherwise.
  allowTargets: ['127.0.0.0/8'],
})
await hooks.migrate()

let service: Service
try {
  service = await startService({
    hooks,
    port,
    adminKey,
    log: { info: (line) => console.log(line), error: (line) => console.error(line) },
  })
} catch (error) {
  const busy = (error as NodeJS.ErrnoException).code === 'EADDRINUSE'
  console.error(
    busy ? `port ${port} is in use; try PORT=9000 npm run service-demo` : (error as Error).message,
  )
  await hooks.close()
  process.exit(1)
}
const inbox = await startInbox(hooks, port === 0 ? 0 : port + 1)

hooks.on('delivery.succeeded', (d) =>
  console.log(`  delivered ${d.event} ${d.deliveryId}: ${d.status} in ${d.durationMs} ms`),
)
hooks.on('delivery.failed', (d) =>
  console.log(`  ${d.event} ${d.deliveryId} failed (${d.error}); retry at ${d.nextAttemptAt}`),
)

const api = service.url
const target = `${inbox.url}/inbox`
console.log(`
resthooks is running on ${api} (${path})
  admin key for this session: ${adminKey}
  demo inbox:                 ${target}

Try it from this directory, in another terminal:

ADMIN=${adminKey}

# 1. An API key for owner u1 (printed once; only its hash is stored)
KEY=$(node src/cli/main.ts keys create --owner u1 --db ${path})

# 2. Subscribe the demo inbox to book.added (the answer holds the signing secret, shown once)
HOOK=$(curl -s ${api}/hooks -H "authorization: Bearer $KEY" \\
  -H 'content-type: application/json' \\
  -d '{"event": "book.added", "target": "${target}"}' \\
  | tee /dev/stderr | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id')

# 3. Post an event, as the producer (with the admin key)
curl -s ${api}/events -H "authorization: Bearer $ADMIN" \\
  -H 'content-type: application/json' \\
  -d '{"event": "book.added", "owner": "u1", "data": {"id": 1, "title": "Dune"}}'

# 4. See it arrive, with its signature checked
curl -s ${target}

# 5. Read the delivery log
curl -s ${api}/hooks/$HOOK/deliveries -H "authorization: Bearer $KEY"

The API's description: ${api}/openapi.json  ·  Ctrl-C stops (deliveries in flight finish).
`)

const stop = async (): Promise<void> => {
  console.log('stopping…')
  await service.stop()
  await hooks.close()
  inbox.server.closeAllConnections()
  inbox.server.close()
}
process.once('SIGINT', () => void stop())
process.once('SIGTERM', () => void stop())

/** What the inbox received. */
interface Received {
  receivedAt: string
  webhookId: string | null
  event: string | null
  subscription: string | null
  verified: boolean
  error?: string
  payload: unknown
}

/**
 * A subscriber's receiver for the demo: `POST /inbox` records the webhook and whether its
 * signature verified; `GET /inbox` lists what arrived. A real receiver keeps the secret it got
 * when subscribing; this one, in the same process, reads it from the store.
 */
async function startInbox(engine: Hooks, inboxPort: number) {
  const received: Received[] = []

  async function receive(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const body = Buffer.concat(chunks)
    const header = (name: string) => {
      const value = req.headers[name]
      return typeof value === 'string' ? value : null
    }
    const subscriptionId = header('hook-subscription')
    const row = subscriptionId ? await engine.store.findSubscription(subscriptionId) : undefined
    const secrets = [row?.secret, row?.previous_secret].filter((s): s is string => !!s)
    const entry: Received = {
      receivedAt: new Date().toISOString(),
      webhookId: header('webhook-id'),
      event: header('hook-event'),
      subscription: subscriptionId,
      verified: false,
      payload: null,
    }
    try {
      if (secrets.length === 0) throw new Error('no such subscription')
      entry.payload = (await verifyWebhook({ headers: req.headers, body }, secrets)).payload
      entry.verified = true
    } catch (error) {
      entry.error = (error as Error).message
      entry.payload = body.toString('utf8')
    }
    received.push(entry)
    console.log(
      `  inbox: ${entry.event ?? 'a request'}, signature ${entry.verified ? 'verified' : `NOT verified (${entry.error})`}`,
    )
    res.writeHead(entry.verified ? 204 : 400).end()
  }

  const server = createServer((req, res) => {
    const { pathname } = new URL(req.url ?? '/', 'http://localhost')
    if (pathname !== '/inbox') return void res.writeHead(404).end('try /inbox\n')
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/json' })
      return void res.end(`${JSON.stringify(received, null, 2)}\n`)
    }
    if (req.method !== 'POST') return void res.writeHead(405, { allow: 'GET, POST' }).end()
    receive(req, res).catch((error: unknown) => {
      console.error('inbox:', (error as Error).message)
      if (!res.headersSent) res.writeHead(500).end()
    })
  })
  await listenOn(server, inboxPort).catch(() => listenOn(server, 0))
  const { port: bound } = server.address() as AddressInfo
  return { server, url: `http://127.0.0.1:${bound}` }
}

function listenOn(server: Server, at: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(at, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
}
