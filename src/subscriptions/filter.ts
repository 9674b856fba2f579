/**
 * Subscription filters: conditions on the fields of an event's `data`, and for updates on how
 * they changed from `previous`, such as `{"title": {"startsWith": "J"}, "pages": {"gt": 100}}`.
 * An event whose data does not match is not delivered to the subscription. docs/filters.md
 * describes the language; here a filter is validated (`filterProblems`) and compiled once into
 * a function that tests events (`compileFilter`, `compiledFilter` for stored JSON text).
 */

import safeRegex from 'safe-regex2'
import { type FieldError, ValidationError } from '../errors.ts'
import { ABSENT, isPlainObject, jsonEqual, jsonValueProblem, valueAt } from './json-value.ts'
import { compileTextPattern, type TextPattern } from './text-pattern.ts'

/** A filter as stored and as given to the API: a JSON object of conditions. */
export type Filter = Record<string, unknown>

/** What a filter is tested against. */
export interface FilterInput {
  /** The event's data. */
  data: unknown
  /**
   * The data before the change, for updates. Change conditions (`changed`, `changedTo`,
   * `changedFrom`) only match when it is an object or an array; without it they never match.
   */
  previous?: unknown
}

/** A compiled filter: whether an event matches. It never throws. */
export type FilterMatch = (event: FilterInput) => boolean

/** A filter holds at most this many conditions: operators, shorthand values, `changed` paths. */
export const MAX_FILTER_CONDITIONS = 100

/** Filters nest at most this deep (`and`, `or`, `not`, nested field objects), as do values in them. */
export const MAX_FILTER_DEPTH = 10

/** `in` and `notIn` lists hold at most this many values. */
export const MAX_FILTER_VALUES = 1_000

/** A `matches` pattern is at most this many characters. */
export const MAX_PATTERN_LENGTH = 256

/** `matches` tests strings of at most this many UTF-16 code units; a longer string does not match. */
export const MAX_MATCHED_LENGTH = 65_536

/** Validation stops after this many problems. */
const MAX_PROBLEMS = 20

/** `compiledFilter` remembers this many filters, dropping the least recently used. */
const MAX_CACHED_FILTERS = 1_000

const OPERATORS: ReadonlySet<string> = new Set([
  'eq',
  'ne',
  'gt',
  'gte',
  'lt',
  'lte',
  'in',
  'notIn',
  'contains',
  'startsWith',
  'endsWith',
  'matches',
  'exists',
  'changedTo',
  'changedFrom',
])
const OPERATOR_LIST = [...OPERATORS].join(', ')
const COMBINATORS: ReadonlySet<string> = new Set(['and', 'or', 'not', 'changed'])

/** Lowercase without `$`, `_`, `-` or spaces: how near misses (`$or`, `not_in`) are recognised. */
function normalize(key: string): string {
  return key.toLowerCase().replace(/[\s$_-]/g, '')
}

/** Operators as other filter languages (thorn, Django, MongoDB) spell them, to suggest ours. */
const LIKELY_OPERATORS: ReadonlyMap<string, string> = new Map([
  ...[...OPERATORS].map((operator): [string, string] => [normalize(operator), operator]),
  ['neq', 'ne'],
  ['nin', 'notIn'],
  ['regex', 'matches'],
  ['regexp', 'matches'],
  ['like', 'matches'],
  ['is', 'eq'],
  ['isnot', 'ne'],
  ['equals', 'eq'],
  ['exact', 'eq'],
  ['exist', 'exists'],
  ['isnull', 'exists'],
])

function likelyOperator(key: string): string | undefined {
  const name = normalize(key)
  // thorn's now_eq, now_in…: "is now so, and was not before".
  if (name.startsWith('now') && LIKELY_OPERATORS.has(name.slice(3))) return 'changedTo'
  return LIKELY_OPERATORS.get(name)
}

/** An event as the compiled tests see it. */
interface Candidate {
  data: unknown
  previous: unknown
  /** Whether `previous` is an object or array, so that change conditions can be evaluated. */
  previousKnown: boolean
}

type Test = (candidate: Candidate) => boolean
type ValueTest = (value: unknown, candidate: Candidate) => boolean

const NEVER: Test = () => false

/**
 * What is wrong with `filter`, field by field; empty when it is a valid filter. Fields are
 * paths from `filter`, e.g. `{field: 'filter.and.1.pages.gt', message: 'must be a number or a
 * string'}`. At most 20 problems are reported.
 */
export function filterProblems(filter: unknown): FieldError[] {
  return read(filter).problems
}

/**
 * Compiles a filter into a function that tests events, checking each regular expression once
 * here rather than for every event. The function never throws: data that a condition cannot
 * apply to (a missing field, a number where a string is expected, anything that is not JSON)
 * simply does not match that condition.
 *
 * @throws ValidationError when the filter is invalid, with the problems of `filterProblems`.
 * @example compileFilter({ title: { startsWith: 'J' } })({ data: { title: 'Joe' } }) // true
 */
export function compileFilter(filter: Filter): FilterMatch {
  const { problems, test } = read(filter)
  if (problems.length > 0) throw new ValidationError(problems)
  return (event) => {
    try {
      const previous = event.previous
      const previousKnown = typeof previous === 'object' && previous !== null
      return test({ data: event.data, previous, previousKnown })
    } catch {
      // Only values that are not JSON get here, such as a getter or a Proxy that throws.
      return false
    }
  }
}

const cache = new Map<string, FilterMatch>()

/**
 * `compileFilter` for a filter stored as JSON text, remembering the last 1,000 filters compiled
 * so that dispatch compiles each stored filter once, not once per event.
 *
 * @throws ValidationError when the text is not JSON or not a valid filter (field `filter`…).
 */
export function compiledFilter(text: string): FilterMatch {
  const cached = cache.get(text)
  if (cached) {
    cache.delete(text)
    cache.set(text, cached)
    return cached
  }
  let filter: unknown
  try {
    filter = JSON.parse(text)
  } catch {
    throw new ValidationError([{ field: 'filter', message: 'is not valid JSON' }])
  }
  const match = compileFilter(filter as Filter)
  cache.set(text, match)
  if (cache.size > MAX_CACHED_FILTERS) cache.delete(cache.keys().next().value as string)
  return match
}

function read(filter: unknown): { problems: FieldError[]; test: Test } {
  const reader = new FilterReader()
  try {
    const test = reader.filter(filter, 'filter', 1, false)
    return { problems: reader.problems, test }
  } catch {
    // Only values that are not JSON get here (a Proxy, a getter that throws).
    return { problems: [{ field: 'filter', message: 'must be JSON' }], test: NEVER }
  }
}

function all(tests: Test[]): Test {
  if (tests.length === 1) return tests[0] as Test
  return (candidate) => {
    for (const test of tests) if (!test(candidate)) return false
    return true
  }
}

function any(tests: Test[]): Test {
  return (candidate) => {
    for (const test of tests) if (test(candidate)) return true
    return false
  }
}

/** Tests for equality with `operand`, a JSON value: `===` for scalars, else deep. */
function equalTo(operand: unknown): (value: unknown) => boolean {
  if (typeof operand !== 'object' || operand === null) return (value) => value === operand
  return (value) => jsonEqual(value, operand)
}

/** Tests for membership in `list`, JSON values: a Set for the scalars, deep equality for the rest. */
function memberOf(list: readonly unknown[]): (value: unknown) => boolean {
  const scalars = new Set(list.filter((item) => typeof item !== 'object' || item === null))
  const compounds = list.filter((item) => typeof item === 'object' && item !== null)
  return (value) =>
    typeof value !== 'object' || value === null
      ? scalars.has(value)
      : compounds.some((item) => jsonEqual(value, item))
}

function differs(current: unknown, previous: unknown): boolean {
  if (current === ABSENT || previous === ABSENT) return current !== previous
  return !jsonEqual(current, previous)
}

/** Reads a filter into tests, collecting its problems on the way. */
class FilterReader {
  readonly problems: FieldError[] = []
  private conditions = 0

  private get stopped(): boolean {
    return this.problems.length >= MAX_PROBLEMS || this.conditions > MAX_FILTER_CONDITIONS
  }

  private problem(field: string, message: string): void {
    if (this.problems.length < MAX_PROBLEMS) this.problems.push({ field, message })
  }

  /** Counts one condition; false (and a problem, once) past the maximum. */
  private count(): boolean {
    this.conditions++
    if (this.conditions === MAX_FILTER_CONDITIONS + 1) {
      this.problem('filter', `has more than ${MAX_FILTER_CONDITIONS} conditions`)
    }
    return this.conditions <= MAX_FILTER_CONDITIONS
  }

  /** A filter: an object of field conditions and combinators, all of which must match. */
  filter(value: unknown, field: string, depth: number, nested: boolean): Test {
    if (!isPlainObject(value)) {
      this.problem(field, 'must be an object of conditions, such as {"status": "published"}')
      return NEVER
    }
    if (depth > MAX_FILTER_DEPTH) {
      this.problem(field, `nests deeper than ${MAX_FILTER_DEPTH} levels`)
      return NEVER
    }
    const keys = Object.keys(value)
    if (nested && keys.length === 0) {
      this.problem(field, 'must hold at least one condition')
      return NEVER
    }
    const tests: Test[] = []
    for (const key of keys) {
      if (this.stopped) break
      const at = `${field}.${key}`
      const operand = value[key]
      if (key === 'and' || key === 'or') tests.push(this.list(key, operand, at, depth))
      else if (key === 'not') {
        const inner = this.filter(operand, at, depth + 1, true)
        tests.push((candidate) => !inner(candidate))
      } else if (key === 'changed') tests.push(this.changed(operand, at))
      else if (COMBINATORS.has(normalize(key))) {
        this.problem(at, `is not a combinator (did you mean "${normalize(key)}"?)`)
      } else {
        const path = this.path(key, at)
        if (path) tests.push(this.field(operand, path, at, depth))
      }
    }
    return tests.length === 0 ? () => true : all(tests)
  }

  private list(kind: 'and' | 'or', operand: unknown, at: string, depth: number): Test {
    if (!Array.isArray(operand) || operand.length === 0) {
      this.problem(
        at,
        'must be a non-empty array of filters, such as [{"status": "draft"}, {"pages": {"gt": 100}}]',
      )
      return NEVER
    }
    const tests: Test[] = []
    for (let i = 0; i < operand.length && !this.stopped; i++) {
      tests.push(this.filter(operand[i], `${at}.${i}`, depth + 1, true))
    }
    return kind === 'and' ? all(tests) : any(tests)
  }

  /**
   * `changed: [paths]`: whether any of the fields differs between previous and data. Each path
   * counts as a condition, as each compares a part of the data.
   */
  private changed(operand: unknown, at: string): Test {
    if (!Array.isArray(operand) || operand.length === 0) {
      this.problem(at, 'must be a non-empty array of field paths, such as ["status"]')
      return NEVER
    }
    const paths = new Map<string, string[]>()
    for (let i = 0; i < operand.length && !this.stopped && this.count(); i++) {
      const item: unknown = operand[i]
      if (typeof item !== 'string') {
        this.problem(`${at}.${i}`, 'must be a field path, such as "status" or "author.name"')
        continue
      }
      const path = this.path(item, `${at}.${i}`)
      if (path) paths.set(item, path)
    }
    const distinct = [...paths.values()]
    return (candidate) =>
      candidate.previousKnown &&
      distinct.some((path) =>
        differs(valueAt(candidate.data, path), valueAt(candidate.previous, path)),
      )
  }

  private path(key: string, at: string): string[] | undefined {
    const names = key.split('.')
    if (names.includes('')) {
      this.problem(
        at,
        'is not a field path: write names joined by single dots, such as "author.name"',
      )
      return undefined
    }
    return names
  }

  /**
   * What a field key holds: an object of operators (a condition), an object of field names
   * (nested fields), or any other JSON value (shorthand for `eq`).
   */
  private field(operand: unknown, path: string[], at: string, depth: number): Test {
    if (!isPlainObject(operand)) {
      const test = this.operator('eq', operand, path, at)
      return test ? this.condition(path, [test]) : NEVER
    }
    const keys = Object.keys(operand)
    if (keys.length === 0) {
      this.problem(at, 'must hold an operator, such as {"eq": 1}, or a nested field')
      return NEVER
    }
    const written = path.join('.')
    if (keys.some((key) => OPERATORS.has(key))) {
      const tests: ValueTest[] = []
      for (const key of keys) {
        if (this.stopped) break
        if (!OPERATORS.has(key)) {
          this.problem(`${at}.${key}`, notAnOperator(key, written))
          continue
        }
        const test = this.operator(key, operand[key], path, `${at}.${key}`)
        if (test) tests.push(test)
      }
      return this.condition(path, tests)
    }
    if (depth + 1 > MAX_FILTER_DEPTH) {
      this.problem(at, `nests deeper than ${MAX_FILTER_DEPTH} levels`)
      return NEVER
    }
    const tests: Test[] = []
    for (const key of keys) {
      if (this.stopped) break
      const keyAt = `${at}.${key}`
      const problem = nestedKeyProblem(key, written)
      if (problem) {
        this.problem(keyAt, problem)
        continue
      }
      const names = this.path(key, keyAt)
      if (names) tests.push(this.field(operand[key], [...path, ...names], keyAt, depth + 1))
    }
    return all(tests)
  }

  /** All of `tests` on the value at `path`, which is read once. */
  private condition(path: readonly string[], tests: ValueTest[]): Test {
    return (candidate) => {
      const value = valueAt(candidate.data, path)
      for (const test of tests) if (!test(value, candidate)) return false
      return true
    }
  }

  private json(operand: unknown, at: string): boolean {
    const problem = jsonValueProblem(operand, MAX_FILTER_DEPTH)
    if (problem) this.problem(at, problem)
    return problem === null
  }

  /** One operator with its operand, or undefined (and a problem) when the operand is invalid. */
  private operator(
    operator: string,
    operand: unknown,
    path: readonly string[],
    at: string,
  ): ValueTest | undefined {
    if (!this.count()) return undefined
    switch (operator) {
      case 'eq':
      case 'ne':
      case 'changedTo':
      case 'changedFrom':
        return this.json(operand, at) ? equality(operator, operand, path) : undefined
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte':
        if (
          typeof operand === 'string' ||
          (typeof operand === 'number' && Number.isFinite(operand))
        ) {
          return order(operator, operand)
        }
        this.problem(at, 'must be a number or a string')
        return undefined
      case 'in':
      case 'notIn': {
        if (!Array.isArray(operand) || operand.length > MAX_FILTER_VALUES) {
          this.problem(
            at,
            `must be an array of at most ${MAX_FILTER_VALUES} values, such as ["draft", "published"]`,
          )
          return undefined
        }
        if (!operand.every((item, i) => this.json(item, `${at}.${i}`))) return undefined
        const member = memberOf(operand)
        return operator === 'in'
          ? (value) => value !== ABSENT && member(value)
          : (value) => value !== ABSENT && !member(value)
      }
      case 'contains': {
        if (!this.json(operand, at)) return undefined
        const equals = equalTo(operand)
        return (value) =>
          typeof value === 'string'
            ? typeof operand === 'string' && value.includes(operand)
            : Array.isArray(value) && value.some(equals)
      }
      case 'startsWith':
      case 'endsWith':
        if (typeof operand !== 'string') {
          this.problem(at, 'must be a string')
          return undefined
        }
        return operator === 'startsWith'
          ? (value) => typeof value === 'string' && value.startsWith(operand)
          : (value) => typeof value === 'string' && value.endsWith(operand)
      case 'matches': {
        const pattern = this.pattern(operand, at)
        return pattern
          ? (value) =>
              typeof value === 'string' && value.length <= MAX_MATCHED_LENGTH && pattern.test(value)
          : undefined
      }
      default: // exists
        if (typeof operand !== 'boolean') {
          this.problem(at, 'must be true or false')
          return undefined
        }
        return (value) => (value !== ABSENT) === operand
    }
  }

  /** A `matches` operand: `"^J"` or `{"pattern": "^j", "flags": "i"}`. */
  private pattern(operand: unknown, at: string): TextPattern | undefined {
    let source = operand
    let flags: unknown = ''
    let sourceAt = at
    if (isPlainObject(operand)) {
      source = operand.pattern
      flags = Object.hasOwn(operand, 'flags') ? operand.flags : ''
      sourceAt = `${at}.pattern`
      for (const key of Object.keys(operand)) {
        if (key !== 'pattern' && key !== 'flags') {
          this.problem(
            `${at}.${key}`,
            'is not an option of matches: only "pattern" and "flags" are',
          )
        }
      }
    }
    if (typeof source !== 'string') {
      this.problem(
        sourceAt,
        sourceAt === at
          ? 'must be a regular expression, such as "^J", or {"pattern": "^j", "flags": "i"}'
          : 'must be a string',
      )
      return undefined
    }
    if (
      typeof flags !== 'string' ||
      !/^[imsu]*$/.test(flags) ||
      new Set(flags).size < flags.length
    ) {
      this.problem(`${at}.flags`, 'must be some of the flags i, m, s and u, each at most once')
      return undefined
    }
    if (source.length > MAX_PATTERN_LENGTH) {
      this.problem(sourceAt, `must be at most ${MAX_PATTERN_LENGTH} characters`)
      return undefined
    }
    const compiled = compileTextPattern(source, flags)
    if ('problem' in compiled) {
      this.problem(sourceAt, compiled.problem)
      return undefined
    }
    // The pattern runs in linear time here whatever it is; this keeps filters portable to
    // backtracking engines (RegExp, PostgreSQL) should one ever evaluate them.
    if (!safeRegex(source)) {
      this.problem(
        sourceAt,
        'could backtrack catastrophically: it repeats a repetition, as in (a+)+, or has more than 25 repetitions',
      )
      return undefined
    }
    return compiled.pattern
  }
}

function equality(
  operator: 'eq' | 'ne' | 'changedTo' | 'changedFrom',
  operand: unknown,
  path: readonly string[],
): ValueTest {
  const equals = equalTo(operand)
  const present = (value: unknown) => value !== ABSENT && equals(value)
  switch (operator) {
    case 'eq':
      return present
    case 'ne':
      return (value) => value !== ABSENT && !equals(value)
    case 'changedTo':
      return (value, candidate) =>
        candidate.previousKnown && present(value) && !present(valueAt(candidate.previous, path))
    case 'changedFrom':
      return (value, candidate) =>
        candidate.previousKnown && !present(value) && present(valueAt(candidate.previous, path))
  }
}

/** gt, gte, lt, lte: both numbers or both strings (by UTF-16 code units), never coerced. */
function order(operator: 'gt' | 'gte' | 'lt' | 'lte', operand: number | string): ValueTest {
  // The sign of value - operand, or null when the value is not of the operand's type.
  const compare: (value: unknown) => number | null =
    typeof operand === 'number'
      ? (value) => (typeof value === 'number' ? Math.sign(value - operand) : null)
      : (value) =>
          typeof value === 'string' ? (value < operand ? -1 : value > operand ? 1 : 0) : null
  const accepts = {
    gt: (sign: number) => sign > 0,
    gte: (sign: number) => sign >= 0,
    lt: (sign: number) => sign < 0,
    lte: (sign: number) => sign <= 0,
  }[operator]
  return (value) => {
    const sign = compare(value)
    return sign !== null && accepts(sign)
  }
}

/** Why `key`, beside operators in a condition, is not one of them. */
function notAnOperator(key: string, written: string): string {
  const likely = likelyOperator(key)
  if (likely) return `is not an operator (did you mean "${likely}"?)`
  if (key.startsWith('$')) return `is not an operator; the operators are ${OPERATOR_LIST}`
  return `is not an operator, and a condition cannot mix operators with fields: to test the field, write "${written}.${key}" as a key of its own`
}

/** Why a key of a nested-field object cannot name a field, or null. */
function nestedKeyProblem(key: string, written: string): string | null {
  const own = `to test a field with this name, write "${written}.${key}" as a key of its own`
  if (key === 'changed') {
    return `to match when ${written} changes, write {"changed": ["${written}"]} at the top of the filter; ${own}`
  }
  if (COMBINATORS.has(normalize(key))) {
    return `"${normalize(key)}" combines filters and is only allowed at the top of a filter or inside and, or and not; ${own}`
  }
  const likely = likelyOperator(key)
  if (likely) return `is not an operator (did you mean "${likely}"?); ${own}`
  if (key.startsWith('$')) return `is not an operator (they are ${OPERATOR_LIST}); ${own}`
  return null
}
