/**
 * The regular expressions of the filter operator `matches`, run in time linear in the length of
 * the text. RegExp backtracks, and patterns that safe-regex2 accepts can still take exponential
 * (`^(a|a)*$`) or polynomial (`a*a*a*b`) time; so a pattern is checked by RegExp for its syntax
 * and then compiled by Thompson's construction into a small program that tracks every possible
 * position at once: O(text length × program size), whatever the pattern.
 *
 * Syntax and meaning are RegExp's with the `u` flag always on (the text is read as code points),
 * flags `i`, `m` and `s`. Backreferences (which no linear-time matcher can run), lookaround
 * and inline modifiers (not implemented here) are refused.
 */

/** A compiled `matches` pattern. */
export interface TextPattern {
  /** Whether the pattern matches anywhere in `text`, as `RegExp.prototype.test` would. */
  test(text: string): boolean
}

/**
 * A compiled program has at most this many steps: one per character read, about two per `|`,
 * `*` or `?` (`a{256}` alone has 256). A test costs at most text length × steps.
 */
export const MAX_PATTERN_PROGRAM = 256

/**
 * Compiles `source` with `flags` (a subset of `imsu`, already checked) or says why it can't,
 * e.g. `{problem: 'is not a valid regular expression: Unterminated group'}`.
 */
export function compileTextPattern(
  source: string,
  flags: string,
): { pattern: TextPattern } | { problem: string } {
  try {
    new RegExp(source, `${flags.replace('u', '')}u`)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    return {
      problem: `is not a valid regular expression: ${reason.slice(reason.lastIndexOf(': ') + 2)}`,
    }
  }
  const options = { ignoreCase: flags.includes('i'), multiline: flags.includes('m') }
  try {
    const parser = new Parser(source, { ...options, dotAll: flags.includes('s') })
    const tree = parser.parse()
    if (programSize(tree) > MAX_PATTERN_PROGRAM) {
      return {
        problem: `is too complex: it compiles to more than ${MAX_PATTERN_PROGRAM} steps (large {n,m} counts add up)`,
      }
    }
    return { pattern: new Program(tree, options) }
  } catch (error) {
    // Only Unsupported is expected; anything else is a bug here, and still refuses the pattern.
    return { problem: error instanceof Unsupported ? error.message : 'could not be compiled' }
  }
}

// --- The parse tree -------------------------------------------------------------------------

type CharTest = (codePoint: number) => boolean
type Assertion = 'start' | 'end' | 'boundary' | 'notBoundary'

type Node =
  | { kind: 'empty' }
  | { kind: 'char'; test: CharTest }
  | { kind: 'seq'; items: Node[] }
  | { kind: 'alt'; options: Node[] }
  | { kind: 'repeat'; item: Node; min: number; max: number }
  | { kind: 'assert'; assertion: Assertion }

class Unsupported extends Error {}

const LINE_TERMINATORS = [0x0a, 0x0d, 0x2028, 0x2029]
const DIGITS: Range[] = [[0x30, 0x39]]
const WORD: Range[] = [
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]
// With `iu`, \w also holds the two characters that case-fold into it: ſ (to s) and K (to k).
const WORD_IGNORING_CASE: Range[] = [...WORD, [0x17f, 0x17f], [0x212a, 0x212a]]
const SPACE: Range[] = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]
const CONTROL_ESCAPES: Record<string, number> = { t: 9, n: 10, v: 11, f: 12, r: 13 }

type Range = [number, number]

function inRanges(ranges: readonly Range[], codePoint: number): boolean {
  for (const [low, high] of ranges) if (codePoint >= low && codePoint <= high) return true
  return false
}

const foldCache = new Map<number, number>()

/** Simple case folding, close to RegExp's `iu` Canonicalize: ς → σ, ſ → s, K (Kelvin) → k. */
function fold(codePoint: number): number {
  if (codePoint < 0x80) return codePoint >= 0x41 && codePoint <= 0x5a ? codePoint + 32 : codePoint
  // Turkish dotted and dotless i have no simple folding.
  if (codePoint === 0x130 || codePoint === 0x131) return codePoint
  let folded = foldCache.get(codePoint)
  if (folded === undefined) {
    const upper = single(String.fromCodePoint(codePoint).toUpperCase()) ?? codePoint
    folded =
      single(String.fromCodePoint(upper).toLowerCase()) ??
      single(String.fromCodePoint(codePoint).toLowerCase()) ??
      codePoint
    if (foldCache.size < 10_000) foldCache.set(codePoint, folded)
  }
  return folded
}

function single(text: string): number | undefined {
  const codePoint = text.codePointAt(0)
  return codePoint !== undefined && text.length === (codePoint > 0xffff ? 2 : 1)
    ? codePoint
    : undefined
}

/** The characters a class must be tried with under `i`: the one given and its case forms. */
function caseForms(codePoint: number): number[] {
  const forms = [codePoint, fold(codePoint)]
  const text = String.fromCodePoint(codePoint)
  for (const other of [single(text.toUpperCase()), single(text.toLowerCase())]) {
    if (other !== undefined && !forms.includes(other)) forms.push(other)
  }
  return forms
}

/** Character classes whose explicit characters number at most this are folded in advance. */
const FOLDED_CLASS_SIZE = 1_024

class Parser {
  private readonly chars: number[]
  private readonly flags: { ignoreCase: boolean; multiline: boolean; dotAll: boolean }
  private at = 0

  constructor(source: string, flags: { ignoreCase: boolean; multiline: boolean; dotAll: boolean }) {
    this.chars = Array.from(source, (char) => char.codePointAt(0) ?? 0)
    this.flags = flags
  }

  parse(): Node {
    const tree = this.disjunction()
    // RegExp has already accepted the pattern, so a stray ')' cannot be left over.
    return tree
  }

  private peek(offset = 0): string {
    const codePoint = this.chars[this.at + offset]
    return codePoint === undefined ? '' : String.fromCodePoint(codePoint)
  }

  private next(): number {
    const codePoint = this.chars[this.at++]
    if (codePoint === undefined) throw new Unsupported('ends unexpectedly')
    return codePoint
  }

  private disjunction(): Node {
    const options = [this.alternative()]
    while (this.peek() === '|') {
      this.at++
      options.push(this.alternative())
    }
    return options.length === 1 ? (options[0] as Node) : { kind: 'alt', options }
  }

  private alternative(): Node {
    const items: Node[] = []
    while (this.at < this.chars.length && this.peek() !== '|' && this.peek() !== ')') {
      items.push(this.term())
    }
    if (items.length === 0) return { kind: 'empty' }
    return items.length === 1 ? (items[0] as Node) : { kind: 'seq', items }
  }

  private term(): Node {
    const char = this.peek()
    if (char === '^' || char === '$') {
      this.at++
      return { kind: 'assert', assertion: char === '^' ? 'start' : 'end' }
    }
    if (char === '\\' && (this.peek(1) === 'b' || this.peek(1) === 'B')) {
      this.at += 2
      return { kind: 'assert', assertion: this.peek(-1) === 'b' ? 'boundary' : 'notBoundary' }
    }
    return this.quantified(this.atom())
  }

  private quantified(item: Node): Node {
    let min: number
    let max: number
    const char = this.peek()
    if (char === '*') [min, max] = [0, Infinity]
    else if (char === '+') [min, max] = [1, Infinity]
    else if (char === '?') [min, max] = [0, 1]
    else if (char === '{') {
      const end = this.chars.indexOf(0x7d /* } */, this.at)
      const match = /^\{(\d+)(,(\d*))?\}$/.exec(this.peekText(end + 1 - this.at))
      if (!match) return item
      min = Number(match[1])
      max = match[2] === undefined ? min : match[3] ? Number(match[3]) : Infinity
      this.at += match[0].length - 1
    } else return item
    this.at++
    if (this.peek() === '?') this.at++ // lazy or greedy: the same for a yes/no answer
    return { kind: 'repeat', item, min, max }
  }

  private atom(): Node {
    const codePoint = this.next()
    switch (String.fromCodePoint(codePoint)) {
      case '.':
        return {
          kind: 'char',
          test: this.flags.dotAll ? () => true : (c) => !LINE_TERMINATORS.includes(c),
        }
      case '[':
        return this.characterClass()
      case '(':
        return this.group()
      case '\\':
        return this.atomEscape()
      default:
        return this.literal(codePoint)
    }
  }

  private group(): Node {
    if (this.peek() === '?') {
      const kind = this.peek(1)
      if (kind === ':') this.at += 2
      else if (kind === '<' && this.peek(2) !== '=' && this.peek(2) !== '!') {
        this.at = this.chars.indexOf(0x3e /* > */, this.at) + 1 // a name is only a label here
      } else if (kind === '=' || kind === '!' || kind === '<') {
        throw new Unsupported(
          'uses lookaround ((?=…), (?!…), (?<=…), (?<!…)), which matches does not support',
        )
      } else {
        throw new Unsupported(
          'uses inline modifiers such as (?i:…), which matches does not support; use flags instead',
        )
      }
    }
    const inner = this.disjunction()
    this.at++ // ')'
    return inner
  }

  private atomEscape(): Node {
    const char = this.peek()
    if (/^[dDwWsSpP]$/.test(char)) {
      return this.set({ negated: false, ranges: [], sets: [this.escapeSet()] })
    }
    if (/^[1-9]$/.test(char) || char === 'k') {
      throw new Unsupported('uses a backreference (\\1, \\k<name>), which matches does not support')
    }
    return this.literal(this.characterEscape())
  }

  /** After a backslash: the character that a character escape stands for. */
  private characterEscape(): number {
    const char = String.fromCodePoint(this.next())
    const control = CONTROL_ESCAPES[char]
    if (control !== undefined) return control
    if (char === '0') return 0
    if (char === 'c') return this.next() % 32
    if (char === 'x') return this.hex(2)
    if (char === 'u') {
      if (this.peek() === '{') {
        const end = this.chars.indexOf(0x7d /* } */, this.at)
        const digits = String.fromCodePoint(...this.chars.slice(this.at + 1, end))
        this.at = end + 1
        return Number.parseInt(digits, 16)
      }
      const unit = this.hex(4)
      // In Unicode mode \uD83D\uDE00 is one character.
      if (unit >= 0xd800 && unit <= 0xdbff && this.peek() === '\\' && this.peek(1) === 'u') {
        const saved = this.at
        this.at += 2
        const low = /^[0-9a-fA-F]{4}$/.test(this.peekText(4)) ? this.hex(4) : -1
        if (low >= 0xdc00 && low <= 0xdfff)
          return (unit - 0xd800) * 0x400 + (low - 0xdc00) + 0x10000
        this.at = saved
      }
      return unit
    }
    return char.codePointAt(0) ?? 0 // an escaped syntax character, such as \. or \/
  }

  private peekText(length: number): string {
    return String.fromCodePoint(...this.chars.slice(this.at, this.at + length))
  }

  private hex(length: number): number {
    const digits = this.peekText(length)
    this.at += length
    return Number.parseInt(digits, 16)
  }

  /** After a backslash: \\d \\D \\w \\W \\s \\S, or \\p{…} \\P{…}. */
  private escapeSet(): CharTest {
    const char = String.fromCodePoint(this.next())
    if (char === 'p' || char === 'P') {
      const end = this.chars.indexOf(0x7d /* } */, this.at)
      const property = this.peekText(end + 1 - this.at)
      this.at = end + 1
      // RegExp on one character cannot backtrack; it knows every Unicode property.
      const single = new RegExp(`^\\${char}${property}$`, 'u')
      return (c) => single.test(String.fromCodePoint(c))
    }
    const word = this.flags.ignoreCase ? WORD_IGNORING_CASE : WORD
    const ranges = { d: DIGITS, w: word, s: SPACE }[char.toLowerCase() as 'd' | 'w' | 's']
    return char === char.toLowerCase() ? (c) => inRanges(ranges, c) : (c) => !inRanges(ranges, c)
  }

  private characterClass(): Node {
    const negated = this.peek() === '^'
    if (negated) this.at++
    const ranges: Range[] = []
    const sets: CharTest[] = []
    while (this.peek() !== ']') {
      const low = this.classAtom()
      if (typeof low === 'function') {
        sets.push(low)
        continue
      }
      if (this.peek() === '-' && this.peek(1) !== ']' && this.peek(1) !== '') {
        this.at++
        const high = this.classAtom()
        // RegExp refuses a class escape at either end of a range in Unicode mode.
        ranges.push([low, typeof high === 'number' ? high : low])
      } else ranges.push([low, low])
    }
    this.at++ // ']'
    return this.set({ negated, ranges, sets })
  }

  private classAtom(): number | CharTest {
    const codePoint = this.next()
    if (codePoint !== 0x5c /* \ */) return codePoint
    const char = this.peek()
    if (/^[dDwWsSpP]$/.test(char)) return this.escapeSet()
    if (char === 'b') {
      this.at++
      return 8
    }
    return this.characterEscape()
  }

  private literal(codePoint: number): Node {
    if (!this.flags.ignoreCase) return { kind: 'char', test: (c) => c === codePoint }
    const folded = fold(codePoint)
    return { kind: 'char', test: (c) => c === codePoint || fold(c) === folded }
  }

  /**
   * A class matches a character when one of its members does; with `i`, when one of its members
   * folds to the same character (then a negated class is the complement of that).
   */
  private set(spec: { negated: boolean; ranges: Range[]; sets: CharTest[] }): Node {
    const { negated, ranges, sets } = spec
    const member = (c: number) => inRanges(ranges, c) || sets.some((test) => test(c))
    if (!this.flags.ignoreCase) return { kind: 'char', test: (c) => member(c) !== negated }
    const size = ranges.reduce((total, [low, high]) => total + high - low + 1, 0)
    const foldedMembers = new Set<number>()
    if (size <= FOLDED_CLASS_SIZE) {
      for (const [low, high] of ranges) for (let c = low; c <= high; c++) foldedMembers.add(fold(c))
    }
    const found = (c: number) =>
      foldedMembers.has(fold(c)) || caseForms(c).some((form) => member(form))
    return { kind: 'char', test: (c) => found(c) !== negated }
  }
}

// --- The program ----------------------------------------------------------------------------

/** Steps a node compiles to, saturating above the cap so that `a{99999}{99999}` stays cheap. */
function programSize(node: Node): number {
  const cap = MAX_PATTERN_PROGRAM + 1
  switch (node.kind) {
    case 'empty':
      return 0
    case 'char':
    case 'assert':
      return 1
    case 'seq':
      return Math.min(
        cap,
        node.items.reduce((total, item) => total + programSize(item), 0),
      )
    case 'alt':
      return Math.min(
        cap,
        node.options.reduce((total, item) => total + programSize(item) + 2, 0),
      )
    case 'repeat': {
      const item = programSize(node.item)
      const optional = node.max === Infinity ? item + 2 : (node.max - node.min) * (item + 1)
      // Every copy costs at least one step, so that `(){99999999}` is not a long empty loop.
      return Math.min(cap, node.min * Math.max(item, 1) + optional)
    }
  }
}

// Steps of the program, in typed arrays: `op`, then `arg` and `alt` by op. CHAR reads one
// character with tests[arg]; SPLIT continues at both arg and alt; JUMP at arg; ASSERT checks
// ASSERTIONS[arg] without reading; MATCH ends the search.
const CHAR = 0
const SPLIT = 1
const JUMP = 2
const ASSERT = 3
const MATCH = 4
const ASSERTIONS: readonly Assertion[] = ['start', 'end', 'boundary', 'notBoundary']

class Program implements TextPattern {
  private readonly op: Int32Array
  private readonly arg: Int32Array
  private readonly alt: Int32Array
  private readonly tests: CharTest[] = []
  private readonly multiline: boolean
  private readonly isWord: CharTest
  /** `^…` without `m`: a match can only start at 0, so the search ends when no step is alive. */
  private readonly anchored: boolean

  constructor(tree: Node, flags: { ignoreCase: boolean; multiline: boolean }) {
    const steps: [number, number, number][] = []
    this.emit(tree, steps)
    steps.push([MATCH, 0, 0])
    this.op = Int32Array.from(steps, (step) => step[0])
    this.arg = Int32Array.from(steps, (step) => step[1])
    this.alt = Int32Array.from(steps, (step) => step[2])
    this.multiline = flags.multiline
    const word = flags.ignoreCase ? WORD_IGNORING_CASE : WORD
    this.isWord = (c) => c >= 0 && inRanges(word, c)
    this.anchored = this.op[0] === ASSERT && this.arg[0] === 0 && !flags.multiline
  }

  private emit(node: Node, steps: [number, number, number][]): void {
    switch (node.kind) {
      case 'empty':
        return
      case 'char': {
        // Copies made by {n,m} share one test, so that each is run once per position.
        let index = this.tests.indexOf(node.test)
        if (index < 0) index = this.tests.push(node.test) - 1
        steps.push([CHAR, index, 0])
        return
      }
      case 'assert':
        steps.push([ASSERT, ASSERTIONS.indexOf(node.assertion), 0])
        return
      case 'seq':
        for (const item of node.items) this.emit(item, steps)
        return
      case 'alt': {
        const jumps: [number, number, number][] = []
        node.options.forEach((option, index) => {
          if (index === node.options.length - 1) {
            this.emit(option, steps)
            return
          }
          const split: [number, number, number] = [SPLIT, steps.length + 1, -1]
          steps.push(split)
          this.emit(option, steps)
          const jump: [number, number, number] = [JUMP, -1, 0]
          steps.push(jump)
          jumps.push(jump)
          split[2] = steps.length
        })
        for (const jump of jumps) jump[1] = steps.length
        return
      }
      case 'repeat': {
        for (let i = 0; i < node.min; i++) this.emit(node.item, steps)
        if (node.max === Infinity) {
          const loop = steps.length
          const split: [number, number, number] = [SPLIT, loop + 1, -1]
          steps.push(split)
          this.emit(node.item, steps)
          steps.push([JUMP, loop, 0])
          split[2] = steps.length
          return
        }
        const splits: [number, number, number][] = []
        for (let i = node.min; i < node.max; i++) {
          const split: [number, number, number] = [SPLIT, steps.length + 1, -1]
          steps.push(split)
          splits.push(split)
          this.emit(node.item, steps)
        }
        for (const split of splits) split[2] = steps.length
        return
      }
    }
  }

  private holds(assertion: number, before: number, after: number): boolean {
    switch (ASSERTIONS[assertion]) {
      case 'start':
        return before < 0 || (this.multiline && LINE_TERMINATORS.includes(before))
      case 'end':
        return after < 0 || (this.multiline && LINE_TERMINATORS.includes(after))
      case 'boundary':
        return this.isWord(before) !== this.isWord(after)
      default:
        return this.isWord(before) === this.isWord(after)
    }
  }

  // Work space, kept between calls (a test never runs inside another: it calls no user code).
  // The steps alive at one position form a generation, numbered on from call to call: `seen`
  // holds each step once per generation, `testedAt` runs each distinct test once per position.
  private space?: {
    seen: Int32Array
    pending: Int32Array
    lists: [Int32Array, Int32Array]
    testedAt: Int32Array
    passed: Uint8Array
  }
  private generation = 0

  test(text: string): boolean {
    const { op, arg, alt, tests, anchored } = this
    const size = op.length
    this.space ??= {
      seen: new Int32Array(size).fill(-1),
      pending: new Int32Array(2 * size + 1),
      lists: [new Int32Array(size), new Int32Array(size)],
      testedAt: new Int32Array(tests.length).fill(-1),
      passed: new Uint8Array(tests.length),
    }
    const { seen, pending, testedAt, passed } = this.space
    let [current, following] = this.space.lists
    if (this.generation > 0x3fffffff - text.length) {
      seen.fill(-1)
      testedAt.fill(-1)
      this.generation = 0
    }
    let generation = this.generation + 1
    let alive = 0

    /** Adds `start` and every step reachable from it without reading; true on a match. */
    const add = (into: Int32Array, start: number, before: number, after: number): boolean => {
      let top = 0
      pending[top++] = start
      while (top > 0) {
        const index = pending[--top] as number
        if (seen[index] === generation) continue
        seen[index] = generation
        switch (op[index]) {
          case CHAR:
            into[alive++] = index
            break
          case SPLIT:
            pending[top++] = alt[index] as number
            pending[top++] = arg[index] as number
            break
          case JUMP:
            pending[top++] = arg[index] as number
            break
          case ASSERT:
            if (this.holds(arg[index] as number, before, after)) pending[top++] = index + 1
            break
          default:
            return true
        }
      }
      return false
    }

    try {
      let at = 0
      let here = text.length > 0 ? (text.codePointAt(0) as number) : -1
      if (add(current, 0, -1, here)) return true
      while (at < text.length) {
        if (anchored && alive === 0) return false
        const width = here > 0xffff ? 2 : 1
        const after = at + width < text.length ? (text.codePointAt(at + width) as number) : -1
        const count = alive
        alive = 0
        generation++
        for (let i = 0; i < count; i++) {
          const index = current[i] as number
          const test = arg[index] as number
          if (testedAt[test] !== generation) {
            passed[test] = (tests[test] as CharTest)(here) ? 1 : 0
            testedAt[test] = generation
          }
          if (passed[test] === 0 || seen[index + 1] === generation) continue
          if (add(following, index + 1, here, after)) return true
        }
        // Unless anchored, a match may also start at the next position.
        if (!anchored && add(following, 0, here, after)) return true
        ;[current, following] = [following, current]
        at += width
        here = after
      }
      return false
    } finally {
      this.generation = generation
    }
  }
}
