/**
 * The undici Agent that webhook deliveries are sent through. The target guard is applied when a
 * connection is opened rather than when a subscription is saved, so a host name that later
 * resolves to an internal address (DNS rebinding) is still refused.
 */

import { Agent, buildConnector } from 'undici'
import type { TargetGuard } from './target-guard.ts'

/** Options of {@link createDeliveryAgent}. */
export interface DeliveryAgentOptions {
  /** Judges every connection's address; null turns the SSRF defence off (trusted targets only). */
  guard: TargetGuard | null
  /** How long a TCP (and TLS) connect may take. Default 5000. */
  connectTimeoutMs?: number
  /** How long an idle keep-alive connection is kept. Default: undici's (4 s). */
  keepAliveTimeoutMs?: number
  /** The most connections per origin. Default: unlimited. */
  connections?: number
}

/**
 * Creates the Agent for deliveries: keep-alive, redirects not followed (undici 7 never follows
 * them without an interceptor, and a redirect could point anywhere), every connection checked
 * by `guard`.
 */
export function createDeliveryAgent(options: DeliveryAgentOptions): Agent {
  const { guard } = options
  const timeout = options.connectTimeoutMs ?? 5000
  const openSocket = buildConnector(
    guard === null ? { timeout } : { timeout, lookup: guard.lookup },
  )

  let connect: buildConnector.connector = openSocket
  if (guard !== null) {
    connect = (target, callback) => {
      // net never calls lookup for an IP literal, so the guard's lookup cannot see it.
      try {
        guard.checkHost(target.hostname)
      } catch (error) {
        // Deferred like a real connect failure: undici's client does not expect the callback
        // to run before the connector returns.
        queueMicrotask(() =>
          callback(error instanceof Error ? error : new Error(String(error)), null),
        )
        return
      }
      openSocket(target, callback)
    }
  }

  return new Agent({
    connect,
    ...(options.keepAliveTimeoutMs !== undefined && {
      keepAliveTimeout: options.keepAliveTimeoutMs,
    }),
    ...(options.connections !== undefined && { connections: options.connections }),
  })
}
