import type { LookupAddress, LookupOptions } from 'node:dns'
import { describe, expect, it } from 'vitest'
import { ConfigurationError } from '../errors.ts'
import { createTargetGuard, type TargetGuard, TargetRefusedError } from './target-guard.ts'

type Resolved = { addresses: LookupAddress[] } | { address: string; family: number | undefined }

function resolve(guard: TargetGuard, hostname: string, options: LookupOptions): Promise<Resolved> {
  return new Promise((done, fail) => {
    guard.lookup(hostname, options, (error, address, family) => {
      if (error) fail(error)
      else if (Array.isArray(address)) done({ addresses: address })
      else done({ address, family })
    })
  })
}

describe('refusalReason', () => {
  const guard = createTargetGuard({})

  it.each([
    ['127.0.0.1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['169.254.169.254', 'link-local'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'link-local'],
    ['fc00::1', 'unique local'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['64:ff9b::7f00:1', 'NAT64'],
    ['2002:7f00:1::', '6to4'],
  ])('refuses %s as %s', (address, reason) => {
    expect(guard.refusalReason(address)).toContain(reason)
  })

  it.each(['93.184.216.34', '2606:4700::1111'])('admits the public address %s', (address) => {
    expect(guard.refusalReason(address)).toBeNull()
  })

  it('refuses what is not an IP address', () => {
    expect(guard.refusalReason('example.com')).toBe('not an IP address')
  })
})

describe('allowTargets', () => {
  it('admits an address inside an allowed range, whatever its class', () => {
    const guard = createTargetGuard({ allowTargets: ['127.0.0.0/8'] })
    expect(guard.refusalReason('127.0.0.1')).toBeNull()
    expect(guard.refusalReason('127.9.9.9')).toBeNull()
    expect(guard.refusalReason('::ffff:127.0.0.1')).toBeNull()
    expect(guard.refusalReason('10.0.0.1')).toContain('private')
    expect(guard.refusalReason('::1')).toContain('loopback')
  })

  it('reads a bare address as a range of that address alone', () => {
    const guard = createTargetGuard({ allowTargets: ['10.1.2.3', '::1'] })
    expect(guard.refusalReason('10.1.2.3')).toBeNull()
    expect(guard.refusalReason('10.1.2.4')).toContain('private')
    expect(guard.refusalReason('::1')).toBeNull()
  })

  it('matches an IPv4-mapped range against IPv4 addresses', () => {
    const guard = createTargetGuard({ allowTargets: ['::ffff:127.0.0.0/104'] })
    expect(guard.refusalReason('127.0.0.1')).toBeNull()
    expect(guard.refusalReason('::ffff:127.0.0.1')).toBeNull()
  })

  it.each([
    ['10.0.0.0/33', 1],
    ['not-an-ip', 1],
    ['127.1/8', 1],
    ['', 1],
  ])('refuses the entry %j naming it', (entry, index) => {
    const create = () => createTargetGuard({ allowTargets: ['127.0.0.0/8', entry] })
    expect(create).toThrow(ConfigurationError)
    expect(create).toThrow(`options.allowTargets[${index}]`)
  })
})

describe('checkHost', () => {
  const guard = createTargetGuard({})

  it.each(['127.0.0.1', '[::1]', '::1', '[::ffff:7f00:1]', '0x7f.1', '169.254.169.254'])(
    'refuses the literal %s',
    (hostname) => {
      expect(() => guard.checkHost(hostname)).toThrow(TargetRefusedError)
    },
  )

  it.each(['localhost', 'example.com', '93.184.216.34', '[2606:4700::1111]'])(
    'leaves %s alone',
    (hostname) => {
      expect(() => guard.checkHost(hostname)).not.toThrow()
    },
  )

  it('describes the refusal and how to allow it', () => {
    let refusal: unknown
    try {
      guard.checkHost('[::1]')
    } catch (error) {
      refusal = error
    }
    expect(refusal).toBeInstanceOf(TargetRefusedError)
    expect(refusal).toMatchObject({
      code: 'target_refused',
      address: '::1',
      hostname: '::1',
      reason: 'loopback address',
      message: "target ::1 refused: loopback address (allow it with allowTargets: ['::1/128'])",
    })
  })
})

describe('lookup', () => {
  // localhost is resolved from /etc/hosts, so this needs no DNS server; a rebinding name that
  // resolves to loopback looks exactly the same to the guard.
  it.each([{ all: true }, { all: false }, {}])(
    'refuses localhost when called with %j',
    async (options) => {
      const refusal = resolve(createTargetGuard({}), 'localhost', options)
      await expect(refusal).rejects.toBeInstanceOf(TargetRefusedError)
      await expect(refusal).rejects.toMatchObject({
        code: 'target_refused',
        hostname: 'localhost',
        message: expect.stringMatching(
          /^target localhost \((127\.0\.0\.1|::1)\) refused: loopback/,
        ),
      })
    },
  )

  it('refuses an IP literal passed as the host name', async () => {
    await expect(
      resolve(createTargetGuard({}), '169.254.169.254', { all: true }),
    ).rejects.toMatchObject({ code: 'target_refused', address: '169.254.169.254' })
  })

  describe('with loopback allowed', () => {
    const guard = createTargetGuard({ allowTargets: ['127.0.0.0/8', '::1/128'] })

    it('answers with every address when called with all: true', async () => {
      const resolved = await resolve(guard, 'localhost', { all: true })
      expect(resolved).toEqual({ addresses: expect.any(Array) })
      if (!('addresses' in resolved)) return
      expect(resolved.addresses.length).toBeGreaterThan(0)
      for (const { address, family } of resolved.addresses) {
        expect(['127.0.0.1', '::1']).toContain(address)
        expect(family).toBe(address.includes(':') ? 6 : 4)
      }
    })

    it('answers with one address and its family otherwise', async () => {
      const resolved = await resolve(guard, 'localhost', { family: 4 })
      expect(resolved).toEqual({ address: '127.0.0.1', family: 4 })
    })
  })
})

describe('a custom lookup (the lookup option)', () => {
  it('is asked instead of the system resolver, with the family as a number, and judged', async () => {
    const asked: [string, number][] = []
    const guard = createTargetGuard({
      allowTargets: ['127.0.0.0/8'],
      lookup: async (hostname, family) => {
        asked.push([hostname, family])
        return hostname === 'inside.test'
          ? [{ address: '10.0.0.1', family: 4 }]
          : [{ address: '127.0.0.9', family: 4 }]
      },
    })
    await expect(resolve(guard, 'ok.test', { family: 4 })).resolves.toEqual({
      address: '127.0.0.9',
      family: 4,
    })
    await expect(resolve(guard, 'inside.test', { all: true })).rejects.toMatchObject({
      code: 'target_refused',
      hostname: 'inside.test',
      address: '10.0.0.1',
      reason: 'private address',
    })
    expect(asked).toEqual([
      ['ok.test', 4],
      ['inside.test', 0],
    ])
  })

  it('passes its failure on as the connection’s error, and an empty answer is ENOTFOUND', async () => {
    const failing = createTargetGuard({
      lookup: async () => {
        throw Object.assign(new Error('resolver down'), { code: 'ESERVFAIL' })
      },
    })
    await expect(resolve(failing, 'x.test', {})).rejects.toMatchObject({ code: 'ESERVFAIL' })
    const empty = createTargetGuard({ lookup: async () => [] })
    await expect(resolve(empty, 'x.test', {})).rejects.toMatchObject({ code: 'ENOTFOUND' })
  })
})
