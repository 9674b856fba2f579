/**
 * The SSRF guard for webhook deliveries: subscribers choose the target URL, so without it anyone
 * who can subscribe could make the server call its own loopback, private network or a cloud
 * metadata endpoint. Only globally routable unicast addresses are admitted, unless the operator
 * lists a range in `allowTargets`.
 */

import { type LookupAddress, lookup as lookupHost } from 'node:dns'
import { isIP, type LookupFunction } from 'node:net'
import ipaddr from 'ipaddr.js'
import { ConfigurationError } from '../errors.ts'

type Address = ipaddr.IPv4 | ipaddr.IPv6
type AddressRange = [Address, number]

/** A delivery was not attempted because its target resolves to an address that is not admitted. */
export class TargetRefusedError extends Error {
  readonly code = 'target_refused'
  override name = 'TargetRefusedError'
  /** The refused IP address. */
  readonly address: string
  /** The host name of the target URL (the address itself when the URL holds an IP literal). */
  readonly hostname: string
  /** Why the address was refused, such as `loopback address`. */
  readonly reason: string

  constructor(hostname: string, address: string, reason: string) {
    const target = hostname === address ? address : `${hostname} (${address})`
    const range = singleAddressRange(address)
    const hint = range === null ? '' : ` (allow it with allowTargets: ['${range}'])`
    super(`target ${target} refused: ${reason}${hint}`)
    this.hostname = hostname
    this.address = address
    this.reason = reason
  }
}

/** Decides which addresses webhook deliveries may connect to. */
export interface TargetGuard {
  /** Why `address` (an IP address) must not be connected to, or null when it is admitted. */
  refusalReason(address: string): string | null
  /**
   * A drop-in for the `lookup` option of `net.connect()`/`tls.connect()`: resolves like
   * `dns.lookup()` but fails with {@link TargetRefusedError} when any resolved address is refused.
   */
  lookup: LookupFunction
  /**
   * Throws {@link TargetRefusedError} when `hostname` is a refused IP literal (with or without
   * IPv6 brackets). Names are left alone: they are judged by `lookup` when connecting.
   */
  checkHost(hostname: string): void
}

/** Options of {@link createTargetGuard}. */
export interface TargetGuardOptions {
  /**
   * CIDR ranges admitted whatever their class, such as `'127.0.0.0/8'` or `'::1/128'`; a bare IP
   * address stands for itself alone.
   */
  allowTargets?: readonly string[]
  /**
   * Resolves a target's host name instead of the system resolver (`dns.lookup()`): a resolver of
   * the application's own, or fixed answers in tests (DNS rebinding). Every address it answers
   * with is judged, as with `dns.lookup()`.
   */
  lookup?: TargetLookup | undefined
}

/**
 * A host name resolver for delivery targets: every address of `hostname` (of `family` when it is
 * 4 or 6). An empty answer fails the connection as an unknown host (`ENOTFOUND`).
 */
export type TargetLookup = (hostname: string, family: 0 | 4 | 6) => Promise<LookupAddress[]>

type LookupAllCallback = (error: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void

/**
 * Creates the guard. Throws {@link ConfigurationError} naming the entry when an `allowTargets`
 * entry is not a CIDR or IP address.
 */
export function createTargetGuard(options: TargetGuardOptions): TargetGuard {
  const allowed = (options.allowTargets ?? []).map(parseAllowTarget)
  const custom = options.lookup
  const lookupAll = custom
    ? (hostname: string, family: unknown, callback: LookupAllCallback) => {
        const wanted =
          family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0
        custom(hostname, wanted).then(
          (addresses) => callback(null, addresses),
          (error: unknown) =>
            callback(error instanceof Error ? error : new Error(String(error)), []),
        )
      }
    : null

  function refusalReason(address: string): string | null {
    let ip: Address
    try {
      // process() turns ::ffff:a.b.c.d into a.b.c.d, which is where the kernel really connects.
      ip = ipaddr.process(address)
    } catch {
      return 'not an IP address'
    }
    if (
      allowed.some(([network, bits]) => network.kind() === ip.kind() && ip.match(network, bits))
    ) {
      return null
    }
    const range: string = ip.range()
    if (range !== 'unicast') return describeRange(range)
    // ipaddr.js calls all the rest of IPv6 unicast, but only 2000::/3 is allocated for global
    // unicast: the rest is reserved by the IETF, such as the IPv4-compatible ::127.0.0.1
    // (::/96), which a host with an automatic 6in4 tunnel would carry to 127.0.0.1.
    if (ip.kind() === 'ipv6' && !ip.match(GLOBAL_UNICAST_V6)) {
      return 'reserved address (outside the global unicast block 2000::/3)'
    }
    return null
  }

  const lookup: LookupFunction = (hostname, lookupOptions, callback) => {
    const fail = (error: NodeJS.ErrnoException) => {
      callback(error, lookupOptions.all === true ? [] : '')
    }
    // Every address is resolved and judged, not only the one net would try first: with happy
    // eyeballs net may fall back to any of them.
    const resolved: LookupAllCallback = (error, addresses) => {
      if (error) {
        fail(error)
        return
      }
      for (const { address } of addresses) {
        const reason = refusalReason(address)
        if (reason !== null) {
          fail(new TargetRefusedError(hostname, address, reason))
          return
        }
      }
      if (lookupOptions.all === true) {
        callback(null, addresses)
        return
      }
      const first = addresses[0]
      if (first === undefined) {
        fail(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }))
        return
      }
      callback(null, first.address, first.family)
    }
    if (lookupAll) {
      lookupAll(hostname, lookupOptions.family, resolved)
    } else {
      lookupHost(hostname, { ...lookupOptions, all: true }, resolved)
    }
  }

  function checkHost(hostname: string): void {
    const host =
      hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname
    // net only skips lookup for strict literals, but ipaddr also reads forms such as 0x7f.1 that
    // getaddrinfo would turn into an address without asking DNS; judging those here is harmless.
    if (isIP(host) === 0 && !ipaddr.isValid(host)) return
    const reason = refusalReason(host)
    if (reason !== null) throw new TargetRefusedError(host, host, reason)
  }

  return { refusalReason, lookup, checkHost }
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3')

const RANGE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  unspecified: 'unspecified address',
  broadcast: 'broadcast address',
  multicast: 'multicast address',
  linkLocal: 'link-local address',
  loopback: 'loopback address',
  carrierGradeNat: 'carrier-grade NAT address',
  private: 'private address',
  reserved: 'reserved address',
  uniqueLocal: 'unique local address',
  rfc6052: 'NAT64 address',
  rfc6145: 'IPv4-translated address',
  '6to4': '6to4 address',
  teredo: 'Teredo address',
  benchmarking: 'benchmarking address',
}

function describeRange(range: string): string {
  // ipaddr.js grows new special ranges over time; they are refused too, under their own name.
  return RANGE_DESCRIPTIONS[range] ?? `special-purpose address (${range})`
}

function parseAllowTarget(entry: string, index: number): AddressRange {
  const invalid = () =>
    new ConfigurationError(
      `options.allowTargets[${index}]: ${JSON.stringify(entry)} is not a CIDR range such as '10.1.2.0/24' or an IP address`,
    )
  let range: AddressRange
  try {
    const [address = ''] = entry.split('/')
    // Shorthand IPv4 forms (127.1, 0x7f.0.0.1) are rejected: an allow-list should read plainly.
    if (ipaddr.IPv4.isValid(address) && !ipaddr.IPv4.isValidFourPartDecimal(address)) {
      throw invalid()
    }
    if (entry.includes('/')) {
      range = ipaddr.parseCIDR(entry)
    } else {
      const ip = ipaddr.parse(entry)
      range = [ip, ip.kind() === 'ipv4' ? 32 : 128]
    }
  } catch {
    throw invalid()
  }
  const [network, bits] = range
  // Addresses are judged after IPv4-mapped ones are unmapped, so a mapped range must be too.
  if (network instanceof ipaddr.IPv6 && network.isIPv4MappedAddress() && bits >= 96) {
    return [network.toIPv4Address(), bits - 96]
  }
  return range
}

/** `address` as a one-address CIDR range, or null when it is not an IP address. */
function singleAddressRange(address: string): string | null {
  try {
    const ip = ipaddr.process(address)
    return `${ip.toString()}/${ip.kind() === 'ipv4' ? 32 : 128}`
  } catch {
    return null
  }
}
