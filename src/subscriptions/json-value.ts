/**
 * How subscription filters read an event's JSON data: field paths that follow own properties
 * only, and strict deep equality. Both loop instead of recursing, so no nesting of the data can
 * overflow the stack, and neither ever throws on JSON (see `valueAt` for what else may).
 */

/** What `valueAt` gives when the data holds nothing at the path. */
export const ABSENT: unique symbol = Symbol('absent')

const ARRAY_INDEX = /^(?:0|[1-9]\d{0,15})$/

/**
 * The value at `path` in `data`, or ABSENT. A name reads an object's own property, never one
 * from its prototype (`constructor`, `__proto__`, `toString` are absent unless the data has
 * them), and a canonical index (`0`, `12`, not `01`) reads an array's element; anything else,
 * such as `length` or a name on a string, is absent. A property whose value is `undefined` is
 * absent too, as JSON.stringify would drop it.
 *
 * @example valueAt({ author: { name: 'Jo' }, tags: ['a'] }, ['tags', '0']) // 'a'
 */
export function valueAt(data: unknown, path: readonly string[]): unknown {
  let current = data
  for (const name of path) {
    if (typeof current !== 'object' || current === null) return ABSENT
    if (Array.isArray(current)) {
      if (!ARRAY_INDEX.test(name)) return ABSENT
      const index = Number(name)
      if (index >= current.length || !Object.hasOwn(current, index)) return ABSENT
      current = current[index]
    } else {
      if (!Object.hasOwn(current, name)) return ABSENT
      current = (current as Record<string, unknown>)[name]
    }
    if (current === undefined) return ABSENT
  }
  return current
}

/** Whether `value` is an object made by JSON.parse or an object literal (not an array, a Date…). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false
  const prototype = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/**
 * Strict deep equality of JSON values: no coercion (`1` is not `'1'`), arrays equal element by
 * element, objects equal key by key in any order, an array never equals an object. Cyclic
 * values (which JSON cannot hold) compare without looping forever.
 */
export function jsonEqual(left: unknown, right: unknown): boolean {
  const pending: unknown[] = [left, right]
  let compared: Map<object, Set<object>> | undefined
  while (pending.length > 0) {
    const b = pending.pop()
    const a = pending.pop()
    if (a === b) continue
    if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false
    if (Array.isArray(a) !== Array.isArray(b)) return false
    // A pair met again is already being compared: assuming it equal is right for cycles.
    compared ??= new Map()
    const partners = compared.get(a) ?? new Set<object>()
    if (partners.has(b)) continue
    compared.set(a, partners.add(b))
    if (Array.isArray(a)) {
      const other = b as unknown[]
      if (a.length !== other.length) return false
      for (let i = 0; i < a.length; i++) pending.push(a[i], other[i])
      continue
    }
    const aKeys = definedKeys(a)
    if (aKeys.length !== definedKeys(b).length) return false
    const other = b as Record<string, unknown>
    for (const key of aKeys) {
      if (!Object.hasOwn(other, key)) return false
      pending.push((a as Record<string, unknown>)[key], other[key])
    }
  }
  return true
}

function definedKeys(value: object): string[] {
  const record = value as Record<string, unknown>
  return Object.keys(record).filter((key) => record[key] !== undefined)
}

/**
 * Why `value` is not a JSON value nested at most `maxDepth` deep, or null. JSON values are
 * null, booleans, finite numbers, strings, arrays and plain objects of them.
 */
export function jsonValueProblem(value: unknown, maxDepth: number): string | null {
  const pending: [unknown, number][] = [[value, 1]]
  while (pending.length > 0) {
    const [item, depth] = pending.pop() as [unknown, number]
    if (item === null || typeof item === 'boolean' || typeof item === 'string') continue
    if (typeof item === 'number') {
      if (!Number.isFinite(item)) return 'must be a JSON value (a finite number)'
      continue
    }
    if (!Array.isArray(item) && !isPlainObject(item)) {
      return 'must be a JSON value: null, a boolean, a number, a string, an array or an object'
    }
    if (depth > maxDepth) return `nests deeper than ${maxDepth} levels`
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      pending.push([child, depth + 1])
    }
  }
  return null
}
