/**
 * Subscription patterns (thorn's semantics): a subscription's `event` is an exact event name,
 * `*` (every event), `prefix.*` (every event that starts with `prefix.`) or `*.suffix` (every
 * event that ends with `.suffix`).
 */

const WORD = '[a-z0-9_]+'
const EVENT_NAME = new RegExp(`^${WORD}(\\.${WORD})+$`)
const PREFIX_PATTERN = new RegExp(`^(${WORD}(\\.${WORD})*)\\.\\*$`)
const SUFFIX_PATTERN = new RegExp(`^\\*\\.(${WORD}(\\.${WORD})*)$`)

/** Event names are at most this many characters. */
export const MAX_EVENT_NAME_LENGTH = 64

/** Why `name` is not a valid event name (`noun.verb`, `[a-z0-9_]` per word), or null. */
export function eventNameProblem(name: string): string | null {
  if (name.length > MAX_EVENT_NAME_LENGTH) {
    return `must be at most ${MAX_EVENT_NAME_LENGTH} characters`
  }
  if (!EVENT_NAME.test(name)) {
    return 'must be dot-separated words of [a-z0-9_], such as "book.added"'
  }
  return null
}

/** Whether `pattern` has the shape of an exact name, `*`, `prefix.*` or `*.suffix`. */
export function isPatternShape(pattern: string): boolean {
  return (
    pattern.length <= MAX_EVENT_NAME_LENGTH &&
    (pattern === '*' ||
      EVENT_NAME.test(pattern) ||
      PREFIX_PATTERN.test(pattern) ||
      SUFFIX_PATTERN.test(pattern))
  )
}

/** Whether a subscription with `pattern` receives the event `name`. */
export function patternMatches(pattern: string, name: string): boolean {
  if (pattern === '*') return true
  if (pattern.endsWith('.*')) return name.startsWith(pattern.slice(0, -1))
  if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1))
  return pattern === name
}

/**
 * Every pattern that matches `name`: the name itself, `*`, and each `prefix.*` and `*.suffix`
 * built from its words. Dispatch looks these up in the subscriptions' index on `event`, so the
 * cost of finding the matching subscriptions does not grow with the number stored.
 *
 * @example patternsMatching('foo.created') // ['foo.created', '*', 'foo.*', '*.created']
 */
export function patternsMatching(name: string): string[] {
  const words = name.split('.')
  const patterns = [name, '*']
  for (let i = 1; i < words.length; i++) {
    patterns.push(`${words.slice(0, i).join('.')}.*`, `*.${words.slice(i).join('.')}`)
  }
  return patterns
}
