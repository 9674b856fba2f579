/**
 * What subscription filters cost: compiling one, testing an event with a typical one, and the
 * worst case of `matches` (a 256-step pattern, every step alive, on a 64 KiB string).
 *
 *   node bench/filters.ts
 */

import { compiledFilter, compileFilter } from '../src/subscriptions/filter.ts'

function time(label: string, times: number, run: () => void): void {
  run() // warm up
  const started = performance.now()
  for (let i = 0; i < times; i++) run()
  const each = (performance.now() - started) / times
  const figure = each >= 1 ? `${each.toFixed(1)} ms` : `${(each * 1000).toFixed(2)} µs`
  console.log(`${label.padEnd(58)} ${figure.padStart(10)} each`)
}

const typical = {
  title: { startsWith: 'J' },
  pages: { gt: 100 },
  status: { in: ['published', 'featured'] },
  'author.email': { matches: { pattern: '@example\\.com$', flags: 'i' } },
  changed: ['status'],
}
const data = {
  title: 'Jaws',
  pages: 300,
  status: 'published',
  author: { name: 'Peter', email: 'peter@EXAMPLE.com' },
  body: 'x'.repeat(10_000),
}
const previous = { ...data, status: 'draft' }
const match = compileFilter(typical)
const text = JSON.stringify(typical)

time('compile a typical filter (5 conditions, one pattern)', 2_000, () => compileFilter(typical))
time('compiledFilter, a cache hit', 100_000, () => compiledFilter(text))
time('test an event against it', 100_000, () => match({ data, previous }))

const longest = 'a'.repeat(65_536)
const worst = compileFilter({ s: { matches: '[a-z]{0,127}b' } }) // 255 steps, all alive
time('matches, worst case: 255 live steps on 64 KiB', 5, () => worst({ data: { s: longest } }))
const exponential = compileFilter({ s: { matches: '^(a|a)*$' } })
time('matches ^(a|a)*$ on 64 KiB (RegExp: centuries)', 5, () =>
  exponential({ data: { s: `${longest.slice(1)}!` } }),
)
