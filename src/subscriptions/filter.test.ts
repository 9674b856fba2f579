import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type FieldError, ValidationError } from '../errors.ts'
import {
  compiledFilter,
  compileFilter,
  type Filter,
  filterProblems,
  MAX_FILTER_CONDITIONS,
  MAX_FILTER_DEPTH,
  MAX_MATCHED_LENGTH,
  MAX_PATTERN_LENGTH,
} from './filter.ts'

/** Whether `filter` matches an event with `data` (and `previous`, when given). */
function matches(filter: Filter, data: unknown, previous?: unknown): boolean {
  return compileFilter(filter)(previous === undefined ? { data } : { data, previous })
}

function problems(filter: unknown): FieldError[] {
  return filterProblems(filter)
}

describe('operators', () => {
  it.each<[Filter, unknown, boolean]>([
    // eq (and its shorthand, a plain value): strict, deep for arrays and objects
    [{ n: { eq: 1 } }, { n: 1 }, true],
    [{ n: { eq: 1 } }, { n: '1' }, false],
    [{ n: { eq: 1 } }, { n: true }, false],
    [{ n: 1 }, { n: 1 }, true],
    [{ n: 1 }, { n: 2 }, false],
    [{ n: { eq: null } }, { n: null }, true],
    [{ n: null }, {}, false],
    [{ n: { eq: 0 } }, { n: -0 }, true],
    [{ tags: ['a', 'b'] }, { tags: ['a', 'b'] }, true],
    [{ tags: ['a', 'b'] }, { tags: ['b', 'a'] }, false],
    [{ tags: ['a', 'b'] }, { tags: ['a', 'b', 'c'] }, false],
    [{ point: { eq: { x: 1, y: [2] } } }, { point: { y: [2], x: 1 } }, true],
    [{ point: { eq: { x: 1 } } }, { point: { x: 1, y: 2 } }, false],
    [{ point: { eq: { x: 1 } } }, { point: [1] }, false],
    [{ list: { eq: [] } }, { list: {} }, false],
    // ne: present and different
    [{ n: { ne: 1 } }, { n: 2 }, true],
    [{ n: { ne: 1 } }, { n: '1' }, true],
    [{ n: { ne: 1 } }, { n: null }, true],
    [{ n: { ne: 1 } }, { n: 1 }, false],
    [{ n: { ne: 1 } }, {}, false],
    [{ point: { ne: { x: 1 } } }, { point: { x: 2 } }, true],
    // gt, gte, lt, lte: numbers with numbers, strings with strings (UTF-16 code units)
    [{ pages: { gt: 100 } }, { pages: 101 }, true],
    [{ pages: { gt: 100 } }, { pages: 100 }, false],
    [{ pages: { gt: 100 } }, { pages: '101' }, false],
    [{ pages: { gte: 100 } }, { pages: 100 }, true],
    [{ pages: { gte: 100 } }, { pages: 99.5 }, false],
    [{ pages: { lt: 100 } }, { pages: -1 }, true],
    [{ pages: { lt: 100 } }, { pages: 100 }, false],
    [{ pages: { lte: 100 } }, { pages: 100 }, true],
    [{ pages: { lte: 100 } }, { pages: null }, false],
    [{ name: { gt: 'M' } }, { name: 'Nina' }, true],
    [{ name: { gt: 'M' } }, { name: 'Anna' }, false],
    [{ name: { gt: 'Z' } }, { name: 'a' }, true],
    [{ name: { gt: 5 } }, { name: 'a' }, false],
    [{ publishedAt: { gte: '2024-01-01' } }, { publishedAt: '2024-05-01T10:00:00Z' }, true],
    [{ publishedAt: { gte: '2024-01-01' } }, { publishedAt: '2023-12-31T23:59:59Z' }, false],
    // in, notIn: deep equality against each value
    [{ status: { in: ['draft', 'published'] } }, { status: 'draft' }, true],
    [{ status: { in: ['draft', 'published'] } }, { status: 'archived' }, false],
    [{ status: { in: ['1'] } }, { status: 1 }, false],
    [{ status: { in: [] } }, { status: 'draft' }, false],
    [{ author: { in: [{ id: 1 }, { id: 2 }] } }, { author: { id: 2 } }, true],
    [{ author: { in: [{ id: 1 }] } }, { author: { id: '1' } }, false],
    [{ status: { notIn: ['draft'] } }, { status: 'published' }, true],
    [{ status: { notIn: ['draft'] } }, { status: 'draft' }, false],
    [{ status: { notIn: ['draft'] } }, {}, false],
    // contains: a substring of a string, or an element of an array
    [{ title: { contains: 'quick' } }, { title: 'the quick fox' }, true],
    [{ title: { contains: 'slow' } }, { title: 'the quick fox' }, false],
    [{ tags: { contains: 'x' } }, { tags: ['w', 'x'] }, true],
    [{ tags: { contains: 'x' } }, { tags: ['wx'] }, false],
    [{ tags: { contains: { k: 1 } } }, { tags: [{ k: 1 }] }, true],
    [{ tags: { contains: 1 } }, { tags: ['1'] }, false],
    [{ title: { contains: 1 } }, { title: '1' }, false],
    [{ pages: { contains: '1' } }, { pages: 100 }, false],
    // startsWith, endsWith: strings only
    [{ title: { startsWith: 'J' } }, { title: 'Joe' }, true],
    [{ title: { startsWith: 'J' } }, { title: 'joe' }, false],
    [{ title: { startsWith: '1' } }, { title: 123 }, false],
    [{ title: { endsWith: 'oe' } }, { title: 'Joe' }, true],
    [{ title: { endsWith: 'oe' } }, { title: 'Joel' }, false],
    // matches: a regular expression, with flags i, m, s and u when given as an object
    [{ title: { matches: '^J.e$' } }, { title: 'Joe' }, true],
    [{ title: { matches: '^J.e$' } }, { title: 'joe' }, false],
    [{ title: { matches: { pattern: '^j.e$', flags: 'i' } } }, { title: 'JOE' }, true],
    [{ title: { matches: { pattern: '^j.e$' } } }, { title: 'JOE' }, false],
    [{ code: { matches: '^\\d+$' } }, { code: 123 }, false],
    [{ code: { matches: '^\\d+$' } }, { code: '123' }, true],
    // exists: whether the field is there at all (null is there)
    [{ n: { exists: true } }, { n: null }, true],
    [{ n: { exists: true } }, {}, false],
    [{ n: { exists: false } }, {}, true],
    [{ n: { exists: false } }, { n: 0 }, false],
  ])('%j on %j is %s', (filter, data, expected) => {
    expect(matches(filter, data)).toBe(expected)
  })

  it('applies several operators on one field together', () => {
    const filter = { pages: { gte: 100, lt: 200, ne: 150 } }
    expect(matches(filter, { pages: 120 })).toBe(true)
    expect(matches(filter, { pages: 150 })).toBe(false)
    expect(matches(filter, { pages: 200 })).toBe(false)
  })

  it(`does not run matches on strings longer than ${MAX_MATCHED_LENGTH} code units`, () => {
    const filter = { body: { matches: 'x' } }
    expect(matches(filter, { body: 'x'.repeat(MAX_MATCHED_LENGTH) })).toBe(true)
    expect(matches(filter, { body: 'x'.repeat(MAX_MATCHED_LENGTH + 1) })).toBe(false)
    expect(matches({ not: filter }, { body: 'x'.repeat(MAX_MATCHED_LENGTH + 1) })).toBe(true)
  })

  it('runs a pattern that makes RegExp backtrack exponentially in linear time', () => {
    // safe-regex2 accepts ^(a|a)*$, on which RegExp needs seconds for 25 characters.
    expect(problems({ s: { matches: '^(a|a)*$' } })).toEqual([])
    expect(matches({ s: { matches: '^(a|a)*$' } }, { s: `${'a'.repeat(60_000)}!` })).toBe(false)
  })
})

describe("durian's matchers", () => {
  // PersonHook().listener(url).match(name="Joe"), Startswith("J"), Endswith, Contains, Like, Is, Any
  it('matches name="Joe" exactly', () => {
    expect(matches({ name: 'Joe' }, { name: 'Joe', address: 'Oslo' })).toBe(true)
    expect(matches({ name: 'Joe' }, { name: 'Joel' })).toBe(false)
  })

  it('Startswith("J") matches Joe, not Simon', () => {
    expect(matches({ name: { startsWith: 'J' } }, { name: 'Joe' })).toBe(true)
    expect(matches({ name: { startsWith: 'J' } }, { name: 'Simon' })).toBe(false)
  })

  it('Endswith, Contains and Like (a regular expression)', () => {
    expect(matches({ name: { endsWith: 'mon' } }, { name: 'Simon' })).toBe(true)
    expect(matches({ name: { contains: 'im' } }, { name: 'Simon' })).toBe(true)
    expect(matches({ name: { contains: 'im' } }, { name: 'Joe' })).toBe(false)
    expect(matches({ name: { matches: '^S.+n$' } }, { name: 'Simon' })).toBe(true)
    expect(matches({ name: { matches: '^S.+n$' } }, { name: 'Joe' })).toBe(false)
  })

  it('Is: strict equality, 1 is not "1"', () => {
    expect(matches({ id: 1 }, { id: 1 })).toBe(true)
    expect(matches({ id: 1 }, { id: '1' })).toBe(false)
    expect(matches({ id: '1' }, { id: 1 })).toBe(false)
    expect(matches({ flag: true }, { flag: 1 })).toBe(false)
    expect(matches({ flag: false }, { flag: 0 })).toBe(false)
    expect(matches({ flag: false }, { flag: null })).toBe(false)
  })

  it('Any: a field the filter does not name matches anything, even when not sent', () => {
    expect(matches({}, {})).toBe(true)
    expect(matches({ name: 'Joe' }, { name: 'Joe' })).toBe(true)
  })

  it('matches nested fields', () => {
    const person = { name: 'Joe', address: { city: 'Oslo', street: { name: 'Karl Johan' } } }
    expect(matches({ 'address.city': 'Oslo' }, person)).toBe(true)
    expect(matches({ address: { city: { startsWith: 'O' } } }, person)).toBe(true)
    expect(matches({ address: { street: { name: { contains: 'Johan' } } } }, person)).toBe(true)
    expect(matches({ 'address.street.name': 'Storgata' }, person)).toBe(false)
  })

  it.each([
    ['eq', 1],
    ['eq', null],
    ['ne', 1],
    ['gt', 0],
    ['gte', 0],
    ['lt', 0],
    ['lte', 0],
    ['in', [null]],
    ['notIn', [1]],
    ['contains', ''],
    ['startsWith', ''],
    ['endsWith', ''],
    ['matches', ''],
    ['exists', true],
    ['changedTo', null],
    ['changedFrom', null],
  ])('a missing field does not match %s %j', (operator, operand) => {
    expect(matches({ gone: { [operator]: operand } }, { other: 1 }, { other: 0 })).toBe(false)
    expect(matches({ 'a.gone': { [operator]: operand } }, { a: {} }, { a: {} })).toBe(false)
  })

  it('a missing field matches exists: false', () => {
    expect(matches({ gone: { exists: false } }, { other: 1 })).toBe(true)
    expect(matches({ 'a.b.c': { exists: false } }, { a: 1 })).toBe(true)
  })
})

describe("thorn's Q operators", () => {
  // thorn/tests/utils/test_functional.py, with thorn's keyword arguments as JSON.
  it('eq, ne, gt, gte, lt, lte', () => {
    expect(matches({ foo: { eq: 30 } }, { foo: 30 })).toBe(true)
    expect(matches({ foo: { eq: 30 } }, { foo: 10 })).toBe(false)
    expect(matches({ foo: { eq: 30 } }, { foo: null })).toBe(false)
    expect(matches({ foo: { ne: 30 } }, { foo: 20 })).toBe(true)
    expect(matches({ foo: { ne: 30 } }, { foo: null })).toBe(true)
    expect(matches({ foo: { ne: 30 } }, { foo: 30 })).toBe(false)
    expect(matches({ foo: { gt: 30 } }, { foo: 31 })).toBe(true)
    expect(matches({ foo: { gt: 30 } }, { foo: 30 })).toBe(false)
    expect(matches({ foo: { gte: 30 } }, { foo: 30 })).toBe(true)
    expect(matches({ foo: { gte: 30 } }, { foo: 29 })).toBe(false)
    expect(matches({ foo: { lt: 30 } }, { foo: 29 })).toBe(true)
    expect(matches({ foo: { lt: 30 } }, { foo: 30 })).toBe(false)
    expect(matches({ foo: { lte: 30 } }, { foo: 30 })).toBe(true)
    expect(matches({ foo: { lte: 30 } }, { foo: 31 })).toBe(false)
  })

  it('eq: true is strict, where thorn matched any true-ish value', () => {
    expect(matches({ foo: { eq: true } }, { foo: true })).toBe(true)
    expect(matches({ foo: { eq: true } }, { foo: 30 })).toBe(false)
    expect(matches({ foo: { eq: true } }, { foo: 'foo' })).toBe(false)
    expect(matches({ foo: { eq: false } }, { foo: '' })).toBe(false)
    expect(matches({ foo: { eq: false } }, { foo: 0 })).toBe(false)
  })

  it('contains, startswith, endswith', () => {
    expect(matches({ foo: { contains: '_' } }, { foo: 'the_quick' })).toBe(true)
    expect(matches({ foo: { contains: '_' } }, { foo: 'the!quick' })).toBe(false)
    expect(matches({ foo: { startsWith: '_' } }, { foo: '_the_quick' })).toBe(true)
    expect(matches({ foo: { startsWith: '_' } }, { foo: '!the!quick' })).toBe(false)
    expect(matches({ foo: { endsWith: '_' } }, { foo: 'the_quick_' })).toBe(true)
    expect(matches({ foo: { endsWith: '_' } }, { foo: 'the!quick!' })).toBe(false)
  })

  it('is None, is not None: eq null and ne null', () => {
    expect(matches({ foo: { eq: null } }, { foo: null })).toBe(true)
    expect(matches({ foo: { eq: null } }, { foo: 0 })).toBe(false)
    expect(matches({ foo: { ne: null } }, { foo: 0 })).toBe(true)
    expect(matches({ foo: { ne: null } }, { foo: null })).toBe(false)
  })

  it('in and not_in', () => {
    const data = { foo: { bar: 'PUBLISHED', baz: 'PENDING' } }
    expect(matches({ 'foo.bar': { in: ['PUBLISHED', 'X', 'Y', 'Z'] } }, data)).toBe(true)
    expect(matches({ 'foo.baz': { in: ['PUBLISHED', 'X', 'Y', 'Z'] } }, data)).toBe(false)
    expect(matches({ 'foo.bar': { notIn: ['PENDING', 'X', 'Y', 'Z'] } }, data)).toBe(true)
    expect(matches({ 'foo.baz': { notIn: ['PENDING', 'X', 'Y', 'Z'] } }, data)).toBe(false)
  })

  it('nested fields, all of which must match', () => {
    const data = {
      author: { full_name: 'George Costanza', is_staff: true, rank: 3.03, violations: null },
      tags: ['abc', 'def', 'ghi'],
    }
    const filter = {
      'author.is_staff': { eq: true },
      'author.full_name': { contains: ' ', startsWith: 'George', endsWith: 'Costanza' },
      'author.rank': { gt: 2.3 },
      'author.violations': { eq: null },
      tags: { contains: 'abc' },
    }
    expect(matches(filter, data)).toBe(true)
    expect(matches({ ...filter, tags: { contains: 'zzz' } }, data)).toBe(false)
    expect(matches({ ...filter, 'author.is_staff': { eq: false } }, data)).toBe(false)
  })

  it('nested Q objects: &, | and ~', () => {
    const data = { foo: { bar: 1, baz: 2 } }
    // q2 = Q(foo__bar__eq=1) & Q(foo__baz__eq=3); q3 = Q(foo__baz__eq=3) | Q(foo__bar__eq=1)
    const q2 = { and: [{ 'foo.bar': 1 }, { 'foo.baz': 3 }] }
    const q3 = { or: [{ 'foo.baz': 3 }, { 'foo.bar': 1 }] }
    expect(matches({ and: [{ 'foo.bar': 1 }, { 'foo.baz': 2 }] }, data)).toBe(true)
    expect(matches(q2, data)).toBe(false)
    expect(matches({ not: q2 }, data)).toBe(true)
    expect(matches(q3, data)).toBe(true)
    // q4 = Q(foo__bar__eq=1) & Q(Q(foo__x__ne=True), foo__baz__eq=2): foo.x is missing
    expect(matches({ 'foo.bar': 1, and: [{ 'foo.x': { ne: true }, 'foo.baz': 2 }] }, data)).toBe(
      false,
    )
  })

  it('now_eq is changedTo: equal now, and not before', () => {
    const filter = { 'foo.bar': { changedTo: 1 } }
    expect(matches(filter, { foo: { bar: 1, baz: 2 } }, { foo: { bar: 0, baz: 2 } })).toBe(true)
    expect(matches(filter, { foo: { bar: 1, baz: 2 } }, { foo: { bar: 1, baz: 2 } })).toBe(false)
    const data = { state1: 'PUBLISHED', state2: 'PUBLISHED' }
    const previous = { state1: 'PENDING', state2: 'PUBLISHED' }
    expect(matches({ state1: { changedTo: 'PUBLISHED' } }, data, previous)).toBe(true)
    expect(matches({ state2: { changedTo: 'PUBLISHED' } }, data, previous)).toBe(false)
  })

  it('now_in is close to changed and in (which also matches a change within the list)', () => {
    const data = { foo: { bar: 'PUBLISHED', baz: 'PUBLISHED' } }
    const previous = { foo: { bar: 'PENDING', baz: 'PUBLISHED' } }
    const nowIn = (field: string) => ({
      [field]: { in: ['PUBLISHED', 'X', 'Y', 'Z'] },
      changed: [field],
    })
    expect(matches(nowIn('foo.bar'), data, previous)).toBe(true)
    expect(matches(nowIn('foo.baz'), data, previous)).toBe(false)
    expect(matches(nowIn('foo.bar'), { foo: { bar: 'X' } }, { foo: { bar: 'Y' } })).toBe(true)
  })

  it('a missing attribute does not match, where thorn raised AttributeError', () => {
    expect(matches({ foo: { eq: 30 } }, {})).toBe(false)
    expect(matches({ foo: { eq: 30 } }, null)).toBe(false)
    expect(matches({ foo: { eq: 30 } }, 'a string')).toBe(false)
  })
})

describe('paths', () => {
  const data = {
    author: { name: 'Ann', 'odd.key': 1 },
    tags: ['a', 'b'],
    rows: [{ id: 7 }, { id: 8 }],
    word: 'hello',
  }

  it.each<[Filter, boolean]>([
    [{ 'author.name': 'Ann' }, true],
    [{ author: { name: 'Ann' } }, true],
    [{ author: { 'name.length': { exists: true } } }, false],
    [{ 'tags.0': 'a' }, true],
    [{ 'tags.1': { eq: 'b' } }, true],
    [{ 'tags.2': { exists: false } }, true],
    [{ 'tags.01': { exists: true } }, false],
    [{ 'tags.-1': { exists: true } }, false],
    [{ 'tags.length': { exists: true } }, false],
    [{ 'rows.1.id': 8 }, true],
    [{ rows: { 1: { id: 8 } } }, true],
    [{ 'word.0': { exists: true } }, false],
    [{ 'word.length': { exists: true } }, false],
    [{ 'author.odd.key': { exists: true } }, false],
  ])('%j is %s', (filter, expected) => {
    expect(matches(filter, data)).toBe(expected)
  })

  it('applies no condition to each element of an array: that is what contains is for', () => {
    expect(matches({ 'rows.id': 7 }, data)).toBe(false)
    expect(matches({ rows: { contains: { id: 7 } } }, data)).toBe(true)
  })
})

describe('prototype safety', () => {
  it.each([
    'constructor',
    'toString',
    'hasOwnProperty',
    '__proto__',
    'constructor.name',
    '__proto__.constructor',
    'valueOf',
  ])('%s does not exist on {} or []', (path) => {
    expect(matches({ [path]: { exists: true } }, {})).toBe(false)
    expect(matches({ [path]: { exists: true } }, [])).toBe(false)
    expect(matches({ [path]: { exists: false } }, {})).toBe(true)
    expect(matches({ [path]: { ne: null } }, {})).toBe(false)
  })

  it('reads an own __proto__ key of the data, as JSON.parse makes it', () => {
    const data = JSON.parse('{"__proto__": {"admin": true}}')
    expect(matches(JSON.parse('{"__proto__": {"admin": true}}'), data)).toBe(true)
    expect(matches({ '__proto__.admin': true }, data)).toBe(true)
    expect(matches({ '__proto__.admin': true }, {})).toBe(false)
  })

  it('leaves Object.prototype alone', () => {
    const filter = JSON.parse(
      '{"__proto__": {"polluted": {"eq": 1}}, "constructor": {"prototype": {"polluted": 1}}}',
    )
    expect(problems(filter)).toEqual([])
    expect(matches(filter, JSON.parse('{"__proto__": {"polluted": 1}}'))).toBe(false)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})

describe('combinators', () => {
  const book = { title: 'Jaws', pages: 300, status: 'published' }

  it.each<[Filter, boolean]>([
    [{ title: { startsWith: 'J' }, pages: { gt: 100 } }, true],
    [{ title: { startsWith: 'J' }, pages: { gt: 1000 } }, false],
    [{ and: [{ title: 'Jaws' }, { pages: 300 }] }, true],
    [{ and: [{ title: 'Jaws' }, { pages: 301 }] }, false],
    [{ or: [{ title: 'Dune' }, { pages: 300 }] }, true],
    [{ or: [{ title: 'Dune' }, { pages: 301 }] }, false],
    [{ not: { status: 'draft' } }, true],
    [{ not: { status: 'published' } }, false],
    [{ not: { missing: { exists: true } } }, true],
    [{ status: 'published', or: [{ pages: { lt: 100 } }, { title: { endsWith: 's' } }] }, true],
    [
      { or: [{ and: [{ pages: { gt: 200 } }, { not: { title: 'Dune' } }] }, { status: 'x' }] },
      true,
    ],
  ])('%j is %s', (filter, expected) => {
    expect(matches(filter, book)).toBe(expected)
  })
})

describe('change conditions', () => {
  const previous = { status: 'draft', title: 'Jaws', meta: { tags: ['a'] } }
  const data = { status: 'published', title: 'Jaws', meta: { tags: ['a', 'b'] } }

  it.each<[Filter, boolean]>([
    [{ changed: ['status'] }, true],
    [{ changed: ['title'] }, false],
    [{ changed: ['title', 'status'] }, true],
    [{ changed: ['meta.tags'] }, true],
    [{ changed: ['meta'] }, true],
    [{ changed: ['meta.tags.0'] }, false],
    [{ changed: ['nowhere'] }, false],
    [{ status: { changedTo: 'published' } }, true],
    [{ status: { changedTo: 'draft' } }, false],
    [{ title: { changedTo: 'Jaws' } }, false],
    [{ status: { changedFrom: 'draft' } }, true],
    [{ status: { changedFrom: 'published' } }, false],
    [{ status: { changedFrom: 'draft', changedTo: 'published' } }, true],
    [{ status: { changedFrom: 'review', changedTo: 'published' } }, false],
    [{ changed: ['status'], title: { startsWith: 'J' } }, true],
  ])('%j is %s', (filter, expected) => {
    expect(matches(filter, data, previous)).toBe(expected)
  })

  it('counts a field that appears or disappears as changed', () => {
    expect(matches({ changed: ['isbn'] }, { isbn: '1' }, {})).toBe(true)
    expect(matches({ changed: ['isbn'] }, {}, { isbn: '1' })).toBe(true)
    expect(matches({ isbn: { changedTo: '1' } }, { isbn: '1' }, {})).toBe(true)
    expect(matches({ isbn: { changedFrom: '1' } }, {}, { isbn: '1' })).toBe(true)
    expect(matches({ changed: ['isbn'] }, { isbn: null }, {})).toBe(true)
  })

  it.each([undefined, null, 'draft', 1])(
    'never matches when previous is %j: the previous values are unknown',
    (unknownPrevious) => {
      const event = { data, previous: unknownPrevious }
      expect(compileFilter({ changed: ['status'] })(event)).toBe(false)
      expect(compileFilter({ status: { changedTo: 'published' } })(event)).toBe(false)
      expect(compileFilter({ status: { changedFrom: 'draft' } })(event)).toBe(false)
      // not is the exact complement, so "not changed" matches when nothing is known.
      expect(compileFilter({ not: { changed: ['status'] } })(event)).toBe(true)
    },
  )

  it('evaluates other conditions without previous', () => {
    expect(compileFilter({ status: 'published' })({ data })).toBe(true)
  })
})

describe('filterProblems', () => {
  const deepNot = (levels: number): Filter => {
    let filter: Filter = { n: 1 }
    for (let i = 0; i < levels; i++) filter = { not: filter }
    return filter
  }
  const deepField = (levels: number): Filter => {
    let value: unknown = 1
    for (let i = 0; i < levels; i++) value = { f: value }
    return value as Filter
  }

  it.each<[string, unknown, FieldError[]]>([
    ['a valid filter', { title: { startsWith: 'J' }, pages: { gt: 100 } }, []],
    ['an empty filter', {}, []],
    [
      'null',
      null,
      [
        {
          field: 'filter',
          message: 'must be an object of conditions, such as {"status": "published"}',
        },
      ],
    ],
    [
      'an array',
      [{ n: 1 }],
      [
        {
          field: 'filter',
          message: 'must be an object of conditions, such as {"status": "published"}',
        },
      ],
    ],
    [
      'an unknown operator beside a known one',
      { title: { startsWith: 'J', regex: '^J' } },
      [{ field: 'filter.title.regex', message: 'is not an operator (did you mean "matches"?)' }],
    ],
    [
      'an operator in the wrong case',
      { title: { startswith: 'J' } },
      [
        {
          field: 'filter.title.startswith',
          message:
            'is not an operator (did you mean "startsWith"?); to test a field with this name, write "title.startswith" as a key of its own',
        },
      ],
    ],
    [
      "thorn's now_eq",
      { status: { now_eq: 'published' } },
      [
        {
          field: 'filter.status.now_eq',
          message:
            'is not an operator (did you mean "changedTo"?); to test a field with this name, write "status.now_eq" as a key of its own',
        },
      ],
    ],
    [
      'operators mixed with fields',
      { author: { eq: 'x', name: 'Ann' } },
      [
        {
          field: 'filter.author.name',
          message:
            'is not an operator, and a condition cannot mix operators with fields: to test the field, write "author.name" as a key of its own',
        },
      ],
    ],
    [
      'a bad regular expression',
      { title: { matches: '(' } },
      [
        {
          field: 'filter.title.matches',
          message: 'is not a valid regular expression: Unterminated group',
        },
      ],
    ],
    [
      'a catastrophic regular expression',
      { title: { matches: '(a+)+$' } },
      [
        {
          field: 'filter.title.matches',
          message:
            'could backtrack catastrophically: it repeats a repetition, as in (a+)+, or has more than 25 repetitions',
        },
      ],
    ],
    [
      'a catastrophic regular expression with flags',
      { title: { matches: { pattern: '(x*)*y', flags: 'i' } } },
      [
        {
          field: 'filter.title.matches.pattern',
          message:
            'could backtrack catastrophically: it repeats a repetition, as in (a+)+, or has more than 25 repetitions',
        },
      ],
    ],
    [
      'a lookahead',
      { title: { matches: 'a(?=b)' } },
      [
        {
          field: 'filter.title.matches',
          message: 'uses lookaround ((?=…), (?!…), (?<=…), (?<!…)), which matches does not support',
        },
      ],
    ],
    [
      'a pattern over the length cap',
      { title: { matches: 'a'.repeat(MAX_PATTERN_LENGTH + 1) } },
      [{ field: 'filter.title.matches', message: 'must be at most 256 characters' }],
    ],
    [
      'unknown flags',
      { title: { matches: { pattern: 'a', flags: 'gi' } } },
      [
        {
          field: 'filter.title.matches.flags',
          message: 'must be some of the flags i, m, s and u, each at most once',
        },
      ],
    ],
    [
      'an unknown matches option',
      { title: { matches: { pattern: 'a', timeout: 5 } } },
      [
        {
          field: 'filter.title.matches.timeout',
          message: 'is not an option of matches: only "pattern" and "flags" are',
        },
      ],
    ],
    [
      'wrong operand types',
      {
        pages: { gt: true },
        title: { startsWith: 1 },
        tags: { in: 'a' },
        n: { exists: 'yes' },
        code: { matches: 1 },
      },
      [
        { field: 'filter.pages.gt', message: 'must be a number or a string' },
        { field: 'filter.title.startsWith', message: 'must be a string' },
        {
          field: 'filter.tags.in',
          message: 'must be an array of at most 1000 values, such as ["draft", "published"]',
        },
        { field: 'filter.n.exists', message: 'must be true or false' },
        {
          field: 'filter.code.matches',
          message: 'must be a regular expression, such as "^J", or {"pattern": "^j", "flags": "i"}',
        },
      ],
    ],
    [
      'values that are not JSON',
      { a: { eq: Number.NaN }, b: { in: [1, undefined] }, c: new Date(0), d: { eq: () => 1 } },
      [
        { field: 'filter.a.eq', message: 'must be a JSON value (a finite number)' },
        {
          field: 'filter.b.in.1',
          message:
            'must be a JSON value: null, a boolean, a number, a string, an array or an object',
        },
        {
          field: 'filter.c',
          message:
            'must be a JSON value: null, a boolean, a number, a string, an array or an object',
        },
        {
          field: 'filter.d.eq',
          message:
            'must be a JSON value: null, a boolean, a number, a string, an array or an object',
        },
      ],
    ],
    [
      'a problem inside and',
      { and: [{ title: 'x' }, { pages: { gt: [] } }] },
      [{ field: 'filter.and.1.pages.gt', message: 'must be a number or a string' }],
    ],
    [
      'empty combinators',
      { and: [], or: {}, not: [] },
      [
        {
          field: 'filter.and',
          message:
            'must be a non-empty array of filters, such as [{"status": "draft"}, {"pages": {"gt": 100}}]',
        },
        {
          field: 'filter.or',
          message:
            'must be a non-empty array of filters, such as [{"status": "draft"}, {"pages": {"gt": 100}}]',
        },
        {
          field: 'filter.not',
          message: 'must be an object of conditions, such as {"status": "published"}',
        },
      ],
    ],
    [
      'an empty filter inside a combinator',
      { or: [{}], not: {} },
      [
        { field: 'filter.or.0', message: 'must hold at least one condition' },
        { field: 'filter.not', message: 'must hold at least one condition' },
      ],
    ],
    [
      'a combinator in the wrong case',
      { OR: [{ a: 1 }], $and: [{ a: 1 }] },
      [
        { field: 'filter.OR', message: 'is not a combinator (did you mean "or"?)' },
        { field: 'filter.$and', message: 'is not a combinator (did you mean "and"?)' },
      ],
    ],
    [
      'a combinator inside a field',
      { author: { or: [{ name: 'a' }] } },
      [
        {
          field: 'filter.author.or',
          message:
            '"or" combines filters and is only allowed at the top of a filter or inside and, or and not; to test a field with this name, write "author.or" as a key of its own',
        },
      ],
    ],
    [
      'changed inside a field',
      { status: { changed: true } },
      [
        {
          field: 'filter.status.changed',
          message:
            'to match when status changes, write {"changed": ["status"]} at the top of the filter; to test a field with this name, write "status.changed" as a key of its own',
        },
      ],
    ],
    [
      'bad changed lists',
      { changed: [], and: [{ changed: ['ok', 7, 'a..b'] }] },
      [
        {
          field: 'filter.changed',
          message: 'must be a non-empty array of field paths, such as ["status"]',
        },
        {
          field: 'filter.and.0.changed.1',
          message: 'must be a field path, such as "status" or "author.name"',
        },
        {
          field: 'filter.and.0.changed.2',
          message: 'is not a field path: write names joined by single dots, such as "author.name"',
        },
      ],
    ],
    [
      'bad field paths',
      { 'a..b': 1, '': 2, '.a': 3 },
      [
        {
          field: 'filter.a..b',
          message: 'is not a field path: write names joined by single dots, such as "author.name"',
        },
        {
          field: 'filter.',
          message: 'is not a field path: write names joined by single dots, such as "author.name"',
        },
        {
          field: 'filter..a',
          message: 'is not a field path: write names joined by single dots, such as "author.name"',
        },
      ],
    ],
    [
      'an empty condition',
      { title: {} },
      [
        {
          field: 'filter.title',
          message: 'must hold an operator, such as {"eq": 1}, or a nested field',
        },
      ],
    ],
    [
      'not nested too deep',
      deepNot(MAX_FILTER_DEPTH),
      [
        {
          field: `filter${'.not'.repeat(MAX_FILTER_DEPTH)}`,
          message: 'nests deeper than 10 levels',
        },
      ],
    ],
    [
      'fields nested too deep',
      deepField(MAX_FILTER_DEPTH + 1),
      [{ field: `filter${'.f'.repeat(MAX_FILTER_DEPTH)}`, message: 'nests deeper than 10 levels' }],
    ],
    [
      'a value nested too deep',
      { a: { eq: deepField(MAX_FILTER_DEPTH + 1) } },
      [{ field: 'filter.a.eq', message: 'nests deeper than 10 levels' }],
    ],
  ])('%s', (_, filter, expected) => {
    expect(problems(filter)).toEqual(expected)
  })

  it('accepts the deepest filters allowed', () => {
    expect(problems(deepNot(MAX_FILTER_DEPTH - 1))).toEqual([])
    expect(problems(deepField(MAX_FILTER_DEPTH))).toEqual([])
  })

  it(`refuses more than ${MAX_FILTER_CONDITIONS} conditions`, () => {
    const many = (count: number) =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`f${i}`, i]))
    expect(problems(many(MAX_FILTER_CONDITIONS))).toEqual([])
    expect(problems(many(MAX_FILTER_CONDITIONS + 1))).toEqual([
      { field: 'filter', message: 'has more than 100 conditions' },
    ])
    expect(problems({ or: Array.from({ length: 10_000 }, () => ({ a: 1 })) })).toEqual([
      { field: 'filter', message: 'has more than 100 conditions' },
    ])
    // Each path of changed compares part of the data, so each counts.
    const paths = Array.from({ length: MAX_FILTER_CONDITIONS + 1 }, (_, i) => `f${i}`)
    expect(problems({ changed: paths.slice(1) })).toEqual([])
    expect(problems({ changed: paths })).toEqual([
      { field: 'filter', message: 'has more than 100 conditions' },
    ])
  })

  it('reports at most 20 problems', () => {
    const bad = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`f${i}`, { gt: true }]))
    expect(problems(bad)).toHaveLength(20)
  })

  it('reports a filter that throws while being read, rather than throwing', () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('no')
        },
      },
    )
    expect(problems(hostile)).toEqual([{ field: 'filter', message: 'must be JSON' }])
    expect(() => compileFilter(hostile)).toThrow(ValidationError)
  })

  it('lets compileFilter throw a ValidationError with the same problems', () => {
    const filter = { title: { startsWith: 1 } }
    expect(() => compileFilter(filter)).toThrow(ValidationError)
    try {
      compileFilter(filter)
    } catch (error) {
      expect((error as ValidationError).errors).toEqual(problems(filter))
      expect((error as ValidationError).message).toBe('filter.title.startsWith: must be a string')
    }
  })
})

describe('compiledFilter', () => {
  it('compiles JSON text once and reuses it', () => {
    const text = '{"title": {"startsWith": "J"}}'
    const match = compiledFilter(text)
    expect(match({ data: { title: 'Joe' } })).toBe(true)
    expect(compiledFilter(text)).toBe(match)
  })

  it('forgets the least recently used filter past 1,000', () => {
    const first = compiledFilter('{"n": -1}')
    for (let i = 0; i < 1_000; i++) compiledFilter(`{"n": ${i}}`)
    expect(compiledFilter('{"n": -1}')).not.toBe(first)
    const kept = compiledFilter('{"n": 0}')
    // {"n": 0} was just used again, so 999 newer filters do not push it out.
    for (let i = 1_000; i < 1_999; i++) compiledFilter(`{"n": ${i}}`)
    expect(compiledFilter('{"n": 0}')).toBe(kept)
  })

  it('throws a ValidationError for text that is not JSON or not a filter', () => {
    expect(() => compiledFilter('{"title": ')).toThrow(
      new ValidationError([{ field: 'filter', message: 'is not valid JSON' }]),
    )
    expect(() => compiledFilter('null')).toThrow(ValidationError)
    expect(() => compiledFilter('{"pages": {"gt": true}}')).toThrow(
      'filter.pages.gt: must be a number or a string',
    )
  })
})

describe('data that is large, deep or not JSON', () => {
  const deep = (levels: number): unknown => {
    let value: unknown = 'bottom'
    for (let i = 0; i < levels; i++) value = { a: value, list: [value] }
    return value
  }

  it('compares deeply nested data without overflowing the stack', () => {
    const current = deep(100_000)
    const previous = deep(100_000)
    expect(matches({ changed: ['a'] }, current, previous)).toBe(false)
    expect(matches({ changed: ['a'] }, deep(100_000), deep(99_999))).toBe(true)
    expect(matches({ a: { eq: { a: { a: 1 } } } }, current)).toBe(false)
    expect(matches({ 'a.a.a.a.a.a': { exists: true } }, current)).toBe(true)
  })

  it('handles huge strings and arrays', () => {
    const huge = 'x'.repeat(5_000_000)
    const data = { s: huge, list: Array.from({ length: 200_000 }, (_, i) => i) }
    expect(matches({ s: { contains: 'y' } }, data)).toBe(false)
    expect(matches({ s: { matches: 'x' } }, data)).toBe(false) // over the matches cap
    expect(matches({ s: { startsWith: 'xx' } }, data)).toBe(true)
    expect(matches({ list: { contains: 199_999 } }, data)).toBe(true)
  })

  it('does not loop on cyclic data', () => {
    const a: Record<string, unknown> = { n: 1 }
    a.self = a
    const b: Record<string, unknown> = { n: 1 }
    b.self = b
    expect(matches({ changed: ['self'] }, a, b)).toBe(false)
    expect(matches({ self: { eq: { n: 1 } } }, a)).toBe(false)
  })

  it('does not match, rather than throw, when reading the data throws', () => {
    const hostile = new Proxy(
      {},
      {
        has: () => {
          throw new Error('no')
        },
        getOwnPropertyDescriptor: () => {
          throw new Error('no')
        },
      },
    )
    expect(matches({ a: 1 }, hostile)).toBe(false)
    expect(matches({ a: { exists: false } }, hostile)).toBe(false)
  })
})

// --- Fuzzing --------------------------------------------------------------------------------

const FIELDS = [
  'title',
  'pages',
  'status',
  'tags',
  'tags.0',
  'author',
  'author.name',
  'n',
  'x.y.z',
  'constructor',
  '__proto__',
  'length',
]

const json = fc.jsonValue({ maxDepth: 3 })
const scalarOrArray = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer({ min: -5, max: 300 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom('Joe', 'Simon', 'draft', 'published', ''),
  fc.string({ maxLength: 5 }),
  fc.array(json, { maxLength: 3 }),
)
const orderable = fc.oneof(
  fc.integer({ min: -5, max: 300 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.string({ maxLength: 3 }),
)
const patterns = fc.oneof(
  fc.constantFrom('^J', 'oe$', '\\d+', '^(?:a|b)*c$', '^[a-z]+$', '', '.', '^(a|a)*$', 'é|😀'),
  fc.record(
    {
      pattern: fc.constantFrom('^j', 'O$', '^draft$'),
      flags: fc.constantFrom('', 'i', 'ims', 'u'),
    },
    { requiredKeys: ['pattern'] },
  ),
)

const operandFor: Record<string, fc.Arbitrary<unknown>> = {
  eq: fc.oneof(scalarOrArray, json),
  ne: fc.oneof(scalarOrArray, json),
  changedTo: scalarOrArray,
  changedFrom: scalarOrArray,
  gt: orderable,
  gte: orderable,
  lt: orderable,
  lte: orderable,
  in: fc.array(fc.oneof(scalarOrArray, json), { maxLength: 4 }),
  notIn: fc.array(fc.oneof(scalarOrArray, json), { maxLength: 4 }),
  contains: fc.oneof(fc.string({ maxLength: 2 }), scalarOrArray),
  startsWith: fc.oneof(fc.constantFrom('J', 'S', 'dr'), fc.string({ maxLength: 2 })),
  endsWith: fc.oneof(fc.constantFrom('e', 'on', 'ed'), fc.string({ maxLength: 2 })),
  matches: patterns,
  exists: fc.boolean(),
}

const condition = fc
  .uniqueArray(fc.constantFrom(...Object.keys(operandFor)), { minLength: 1, maxLength: 2 })
  .chain((operators) =>
    fc
      .tuple(...operators.map((operator) => operandFor[operator] as fc.Arbitrary<unknown>))
      .map((operands) =>
        Object.fromEntries(operators.map((operator, i) => [operator, operands[i]])),
      ),
  )

const fieldValue = fc.oneof(
  condition,
  scalarOrArray,
  fc.record({ name: fc.oneof(condition, scalarOrArray) }), // nested fields
)

const leafFilter: fc.Arbitrary<Filter> = fc
  .tuple(
    fc.uniqueArray(fc.tuple(fc.constantFrom(...FIELDS), fieldValue), {
      minLength: 1,
      maxLength: 2,
      selector: ([field]) => field,
    }),
    fc.option(fc.subarray(FIELDS, { minLength: 1, maxLength: 2 }), { nil: undefined }),
  )
  .map(([entries, changed]) => {
    const filter: Filter = Object.fromEntries(entries)
    if (changed) filter.changed = changed
    return filter
  })

/** Valid filters over the whole grammar, small enough to stay under the limits. */
const validFilter = fc
  .letrec<{ filter: Filter }>((tie) => ({
    filter: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      leafFilter,
      fc.array(tie('filter'), { minLength: 1, maxLength: 2 }).map((filters) => ({ and: filters })),
      fc.array(tie('filter'), { minLength: 1, maxLength: 2 }).map((filters) => ({ or: filters })),
      tie('filter').map((filter) => ({ not: filter })),
      fc.tuple(leafFilter, tie('filter')).map(([leaf, inner]) => ({ ...leaf, and: [inner] })),
    ),
  }))
  .filter.filter(
    // The properties wrap a filter in up to two more levels: keep those that still fit the limits.
    (filter) => filterProblems({ not: { and: [filter, filter] } }).length === 0,
  )

const dataValue = fc.oneof(
  fc.constantFrom('Joe', 'Simon', 'draft', 'published', 'JOE', '', 'a'.repeat(100)),
  fc.integer({ min: -5, max: 300 }),
  json,
)
const bookData = fc.record(
  {
    title: dataValue,
    pages: dataValue,
    status: dataValue,
    tags: fc.oneof(fc.array(dataValue, { maxLength: 3 }), dataValue),
    author: fc.oneof(fc.record({ name: dataValue }, { requiredKeys: [] }), dataValue),
    n: dataValue,
    x: fc.record({ y: fc.record({ z: dataValue }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
)
const anyData = fc.oneof(
  bookData,
  json,
  fc.anything({
    withNullPrototype: true,
    withMap: true,
    withSet: true,
    withDate: true,
    withTypedArray: true,
    withSparseArray: true,
    withBigInt: true,
    withBoxedValues: true,
    withObjectString: true,
  }),
)
const anEvent = fc.record(
  { data: anyData, previous: fc.oneof(bookData, anyData, fc.constant(undefined)) },
  { requiredKeys: ['data'] },
)

/** A filter-level fragment with exactly the kind of mistake filterProblems must catch. */
const notAnArray = fc.oneof(fc.string(), fc.integer(), fc.constant(null), fc.object())
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string()))
const invalidFragment: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({
    pages: fc.record({
      gt: fc.oneof(fc.boolean(), fc.constant(null), fc.array(fc.integer()), fc.object()),
    }),
  }),
  fc.record({ title: fc.record({ startsWith: notAString }) }),
  fc.record({ title: fc.record({ endsWith: notAString }) }),
  fc.record({
    title: fc.record({ exists: fc.oneof(fc.string(), fc.integer(), fc.constant(null)) }),
  }),
  fc.record({ status: fc.record({ in: notAnArray }) }),
  fc.record({ status: fc.record({ notIn: notAnArray }) }),
  fc.record({
    title: fc.record({
      matches: fc.constantFrom('(', '[', '(a+)+$', '(x*)*', 'a{2,1}', '\\1(a)', '(?<=a)'),
    }),
  }),
  fc.record({
    title: fc.record({
      matches: fc.record({
        pattern: fc.constant('a'),
        flags: fc.constantFrom('g', 'ii', 'y', 'x'),
      }),
    }),
  }),
  fc.record({ title: fc.record({ startsWith: fc.constant('J'), regex: fc.string() }) }),
  fc.record({ title: fc.record({ eq: fc.constant('J'), name: scalarOrArray }) }),
  fc.record({ title: fc.record({ startswith: fc.string() }) }),
  fc.record({ title: fc.constant({}) }),
  fc.record({ and: fc.oneof(fc.constant([]), notAnArray) }),
  fc.record({ or: fc.oneof(fc.constant([]), notAnArray) }),
  fc.record({ not: fc.oneof(fc.constant({}), fc.constant([]), fc.string(), fc.constant(null)) }),
  fc.record({
    changed: fc.oneof(fc.constant([]), fc.array(fc.integer(), { minLength: 1 }), fc.string()),
  }),
  fc.constantFrom<Filter>(
    { 'a..b': 1 },
    { '': 1 },
    { OR: [{ a: 1 }] },
    { author: { or: [{ a: 1 }] } },
  ),
)
const invalidFilter: fc.Arbitrary<unknown> = fc.oneof(
  fc.tuple(validFilter, invalidFragment).map(([valid, fragment]) => ({ ...valid, ...fragment })),
  fc.tuple(validFilter, invalidFragment).map(([valid, fragment]) => ({ and: [valid, fragment] })),
  fc.tuple(validFilter, invalidFragment).map(([valid, fragment]) => ({ or: [fragment, valid] })),
  invalidFragment.map((fragment) => ({ not: fragment })),
  fc.oneof(fc.constant(null), fc.array(validFilter), fc.string(), fc.integer(), fc.boolean()),
)

describe('fuzzing', () => {
  const runs = { numRuns: 300 }

  it('generated valid filters are valid, and never throw on any data', () => {
    fc.assert(
      fc.property(
        validFilter,
        fc.array(anEvent, { minLength: 1, maxLength: 5 }),
        (filter, events) => {
          expect(problems(filter)).toEqual([])
          const match = compileFilter(filter)
          for (const event of events) expect(typeof match(event)).toBe('boolean')
        },
      ),
      runs,
    )
  })

  it('not(f) is the exact complement of f', () => {
    fc.assert(
      fc.property(validFilter, anEvent, (filter, event) => {
        expect(compileFilter({ not: filter })(event)).toBe(!compileFilter(filter)(event))
      }),
      runs,
    )
  })

  it('and([f, g]) is f && g, and or([f, g]) is f || g', () => {
    fc.assert(
      fc.property(validFilter, validFilter, anEvent, (f, g, event) => {
        const [first, second] = [compileFilter(f)(event), compileFilter(g)(event)]
        expect(compileFilter({ and: [f, g] })(event)).toBe(first && second)
        expect(compileFilter({ or: [f, g] })(event)).toBe(first || second)
      }),
      runs,
    )
  })

  it('generated invalid filters have problems, and compileFilter throws ValidationError', () => {
    fc.assert(
      fc.property(invalidFilter, (filter) => {
        expect(problems(filter).length).toBeGreaterThan(0)
        expect(() => compileFilter(filter as Filter)).toThrow(ValidationError)
      }),
      runs,
    )
  })

  it('filterProblems never throws, and compileFilter throws nothing but ValidationError', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), validFilter, invalidFilter), (filter) => {
        const found = problems(filter)
        expect(Array.isArray(found)).toBe(true)
        try {
          compileFilter(filter as Filter)
          expect(found).toEqual([])
        } catch (error) {
          expect(error).toBeInstanceOf(ValidationError)
          expect((error as ValidationError).errors).toEqual(found)
        }
      }),
      runs,
    )
  })
})
