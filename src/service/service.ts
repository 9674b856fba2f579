import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { sql } from 'kysely'
import { adminUnavailable } from '../admin/admin.ts'
import type { Worker } from '../delivery/worker.ts'
import { ConfigurationError } from '../errors.ts'
import type { Hooks } from '../hooks.ts'
import { toNodeListener } from '../http/adapters/node.ts'
import { json } from '../http/problem.ts'
import { VERSION } from '../version.ts'
import { adminKeyProblem, isAdminKey } from './admin-key.ts'
import { bearerToken, ownerOfApiKey } from './api-keys.ts'

/** Where the service reports what happens to it; messages are single lines. */
export interface ServiceLog {
  info(message: string): void
  error(message: string): void
}

/** Options of {@link startService}. */
export interface ServiceOptions {
  /** The engine, migrated. The service does not close it: `stop()` the service, then close it. */
  hooks: Hooks
  /**
   * The port to listen on; 0 picks a free one (see `Service.port`).
   * @default 8080
   */
  port?: number
  /** @default '127.0.0.1' */
  host?: string
  /**
   * The admin key (`RESTHOOKS_ADMIN_KEY`): the event producer's credential for `POST /events`
   * and `POST /event-types`, and the operator's for signing in to the admin dashboard at
   * `/admin`. Without it, those routes answer 403 and the dashboard is off.
   */
  adminKey?: string | undefined
  /**
   * Whether to run a delivery worker in this process (`--no-worker` runs the API alone).
   * @default true
   */
  worker?: boolean
  /**
   * Requests the worker keeps in flight.
   * @default 50
   */
  concurrency?: number
  /**
   * Requests the worker keeps in flight to one origin (scheme, host and port).
   * @default 10
   */
  perTargetConcurrency?: number
  /** @default errors to stderr, nothing else */
  log?: ServiceLog
  /**
   * How long `stop()` lets requests in flight finish before closing their connections, in ms.
   * @default 10000
   */
  graceMs?: number
}

/** A running service. */
export interface Service {
  /** The base URL, e.g. `http://127.0.0.1:8080`. */
  readonly url: string
  readonly port: number
  readonly host: string
  readonly server: Server
  /** The worker, when the service runs one. */
  readonly worker: Worker | null
  /**
   * Stops accepting connections, lets the requests and deliveries in flight finish (and records
   * the deliveries), then resolves. Safe to call more than once.
   */
  stop(): Promise<void>
}

const quietLog: ServiceLog = {
  info: () => {},
  error: (message) => console.error(message),
}

/** Where the service mounts the admin dashboard. */
export const ADMIN_PATH = '/admin'

/**
 * The standalone service (`resthooks serve`): the subscription API at `/`, owners authenticated
 * by API key (`Authorization: Bearer rh_…`) and the event producer by the admin key,
 * the admin dashboard at `/admin` (operators sign in with the admin key), `GET /healthz`, and a
 * delivery worker unless `worker: false`.
 *
 * @example
 * const service = await startService({ hooks, port: 8080, adminKey: process.env.RESTHOOKS_ADMIN_KEY })
 * process.once('SIGTERM', () => service.stop().then(() => hooks.close()))
 */
export async function startService(options: ServiceOptions): Promise<Service> {
  const { hooks } = options
  const port = options.port ?? 8080
  const host = options.host ?? '127.0.0.1'
  const log = options.log ?? quietLog
  const graceMs = options.graceMs ?? 10_000
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new ConfigurationError(`options.port must be an integer from 0 to 65535, got ${port}`)
  }
  const adminKey = options.adminKey
  if (adminKey !== undefined) {
    const problem = adminKeyProblem(adminKey)
    if (problem) throw new ConfigurationError(problem)
  }

  const api = hooks.api({
    authenticate: async (request) => {
      const token = bearerToken(request)
      return token === undefined ? undefined : ownerOfApiKey(hooks.store, token)
    },
    authenticateProducer: (request) =>
      adminKey !== undefined && isAdminKey(adminKey, bearerToken(request)),
  })

  const admin = adminKey === undefined ? null : hooks.admin({ adminKey, basePath: ADMIN_PATH })

  let stopping: Promise<void> | null = null
  const worker = options.worker === false ? null : hooks.worker(workerOptions(options))

  async function health(): Promise<Response> {
    if (stopping) return json(503, { status: 'stopping', version: VERSION })
    try {
      await sql`SELECT 1`.execute(hooks.store.db)
      return json(200, { status: 'ok', version: VERSION, worker: worker !== null })
    } catch (error) {
      log.error(`healthz: the store did not answer: ${(error as Error).message}`)
      return json(503, { status: 'unavailable', version: VERSION })
    }
  }

  const handle = (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url)
    if (pathname === '/healthz' && (request.method === 'GET' || request.method === 'HEAD')) {
      return health()
    }
    if (pathname === ADMIN_PATH || pathname.startsWith(`${ADMIN_PATH}/`)) {
      return admin ? admin(request) : Promise.resolve(adminUnavailable(ADMIN_PATH))
    }
    return api(request)
  }

  const unsubscribe = hooks.on('error', (error) => log.error(`error: ${error.message}`))
  const server = createServer(
    toNodeListener(handle, {
      onError: (error) => log.error(`error: ${(error as Error)?.message ?? String(error)}`),
    }),
  )
  try {
    await listen(server, port, host)
  } catch (error) {
    unsubscribe()
    throw error
  }
  await worker?.start()
  const bound = (server.address() as AddressInfo).port
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}`

  async function stop(): Promise<void> {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    // Idle keep-alive connections would hold the server open; close them as they become idle,
    // and every connection once the grace period is over.
    const idle = setInterval(() => server.closeIdleConnections(), 100)
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs)
    server.closeIdleConnections()
    try {
      await Promise.all([closed, worker?.stop()])
    } finally {
      clearInterval(idle)
      clearTimeout(deadline)
      unsubscribe()
    }
  }

  return {
    url,
    port: bound,
    host,
    server,
    worker,
    stop() {
      stopping ??= stop()
      return stopping
    },
  }
}

function workerOptions(options: ServiceOptions) {
  return {
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.perTargetConcurrency === undefined
      ? {}
      : { perTargetConcurrency: options.perTargetConcurrency }),
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => reject(error)
    server.once('error', onError)
    server.listen(port, host, () => {
      server.off('error', onError)
      resolve()
    })
  })
}
