import Mustache from 'mustache'
import type { HookInfo } from '../dispatch/serialize.ts'
import { bodyProblem, type ContentType, type Envelope } from './content-type.ts'
import { formEncode, jsonStringContent, xmlEscape } from './escape.ts'
import { lineAndColumn } from './text-position.ts'

/**
 * Payload templates: Mustache syntax, parsed by the `mustache` package and rendered by the small
 * walker below, never by `Mustache.render`. `Mustache.render` looks names up through the
 * prototype chain (`{{data.constructor}}`) and calls the functions it finds (lambdas); this
 * walker reads own data properties only and never calls anything (an object written as JSON goes
 * through `JSON.stringify`, which honours `toJSON`, e.g. of a Date; event data, being JSON, has
 * none). Values are escaped for the subscription's content type, and the rendered body is
 * validated against it.
 *
 * See docs/templates.md.
 */

/** A template that cannot be used, or that rendered a body that cannot be sent. */
export class TemplateError extends Error {
  readonly code = 'template_error'
  override name = 'TemplateError'
}

/** The caps that keep one template from using unbounded memory or time. */
export const TEMPLATE_LIMITS = {
  /** UTF-8 bytes of a template's text. */
  maxTemplateBytes: 64 * 1024,
  /** Sections inside sections. */
  maxDepth: 16,
  /** Tags and text pieces rendered, each repetition of a section counted again. */
  maxSteps: 500_000,
  /** UTF-8 bytes of a rendered body when `renderTemplate` is given no `maxBytes`. */
  maxBytes: 256 * 1024,
  /** Parsed templates kept in memory (least recently used dropped first). */
  cacheSize: 500,
} as const

/**
 * What a template renders over: the envelope's fields, plus `event` (the event type, as
 * django-rest-hooks names it) and `instance` (the same value as `data`, as infi.django_http_hooks
 * names it).
 */
export interface TemplateContext {
  event: string
  type: string
  timestamp: string
  hook: HookInfo
  data: unknown
  instance: unknown
  ref?: string
}

/**
 * The context a delivery's template renders over, from its envelope: the JSON text
 * `renderEnvelope` returns (parsed with `JSON.parse`, which throws on invalid text) or that
 * text parsed.
 */
export function templateContext(envelope: string | Envelope): TemplateContext {
  const parsed = typeof envelope === 'string' ? (JSON.parse(envelope) as Envelope) : envelope
  const context: TemplateContext = {
    event: parsed.type,
    type: parsed.type,
    timestamp: parsed.timestamp,
    hook: parsed.hook,
    data: parsed.data,
    instance: parsed.data,
  }
  if (typeof parsed.ref === 'string') context.ref = parsed.ref
  return context
}

/**
 * Renders `template` over `context` for a body of `contentType`. `{{name}}` values are escaped
 * for the content type, `{{{name}}}` is a JSON value in JSON bodies (escaped like `{{name}}`
 * otherwise). A {@link TemplateError} when the template is invalid, when rendering takes more
 * than {@link TEMPLATE_LIMITS} allow, when the body is over `maxBytes` (UTF-8; default 256 KiB)
 * or when it is not valid for `contentType` (see `bodyProblem`).
 */
export function renderTemplate(
  template: string,
  contentType: ContentType,
  context: TemplateContext,
  options: { maxBytes?: number } = {},
): string {
  const compiled = compile(template)
  const body = render(compiled.nodes, contentType, context, {
    maxBytes: options.maxBytes ?? TEMPLATE_LIMITS.maxBytes,
    sample: false,
  })
  const problem = bodyProblem(body, contentType)
  if (problem !== null) throw new TemplateError(`the template rendered ${problem}`)
  return body
}

/**
 * Why `template` cannot be saved for `contentType`, or null when it can: a syntax error, an
 * unsupported tag (partials, set delimiters), a cap, or an invalid body when rendered over a
 * sample context in which every name the template uses is the number `1`. Values placed outside
 * quotes in a JSON template can still render invalid JSON at delivery (a string there), which is
 * then a {@link TemplateError} on that delivery.
 */
export function templateProblem(template: string, contentType: ContentType): string | null {
  try {
    const compiled = compile(template)
    const body = render(compiled.nodes, contentType, sampleContext(compiled.names), {
      maxBytes: TEMPLATE_LIMITS.maxBytes,
      sample: true,
    })
    const problem = bodyProblem(body, contentType)
    return problem === null ? null : `with every name set to 1, the template renders ${problem}`
  } catch (error) {
    if (error instanceof TemplateError) return error.message
    throw error
  }
}

// ---- parsing --------------------------------------------------------------------------------

/** A name split at its dots; `[]` is the implicit iterator `{{.}}`. */
type Path = readonly string[]

type Node =
  | { kind: 'text'; text: string; bytes: number }
  | { kind: 'variable'; path: Path; name: string; raw: boolean }
  | { kind: 'section'; path: Path; inverted: boolean; children: readonly Node[] }

interface Compiled {
  nodes: readonly Node[]
  /** every name the template uses, outside and inside sections */
  names: readonly Path[]
}

/** Mustache's token tuples: `[type, value, start, end, children?, closeStart?]`. */
type Token = [string, string, number, number, Token[]?, number?]

const TAGS: Mustache.OpeningAndClosingTags = ['{{', '}}']

// A writer of our own with its cache off: `Mustache.parse` keeps every template it ever parsed in
// a module-wide, unbounded cache. Ours below is bounded.
const writer = new Mustache.Writer()
;(writer as unknown as { templateCache: undefined }).templateCache = undefined

const cache = new Map<string, Compiled>()

function compile(template: string): Compiled {
  const cached = cache.get(template)
  if (cached !== undefined) {
    cache.delete(template)
    cache.set(template, cached)
    return cached
  }
  const bytes = Buffer.byteLength(template)
  if (bytes > TEMPLATE_LIMITS.maxTemplateBytes) {
    throw new TemplateError(
      `the template is ${bytes} bytes, over the maximum of ${TEMPLATE_LIMITS.maxTemplateBytes}`,
    )
  }
  let tokens: Token[]
  try {
    tokens = writer.parse(template, TAGS) as Token[]
  } catch (error) {
    throw new TemplateError(syntaxMessage(template, (error as Error).message))
  }
  const names = new Map<string, Path>()
  const compiled = { nodes: convert(tokens, template, 1, names), names: [...names.values()] }
  cache.set(template, compiled)
  if (cache.size > TEMPLATE_LIMITS.cacheSize) {
    const oldest = cache.keys().next()
    if (!oldest.done) cache.delete(oldest.value)
  }
  return compiled
}

/** Mustache's three parse errors (`… at <offset>`), reworded with a line and column. */
function syntaxMessage(template: string, message: string): string {
  if (message.startsWith('Invalid tags')) return SET_DELIMITER_MESSAGE
  const prefix = 'the template has a syntax error:'
  const match = /^(Unclosed tag|Unopened section|Unclosed section)(?: "(.*)")? at (\d+)$/.exec(
    message,
  )
  if (match === null) return `${prefix} ${message}`
  const [, kind, name, offset] = match
  const at = Number(offset)
  if (kind === 'Unclosed tag') {
    let start = template.lastIndexOf('{{')
    while (start > 0 && template.charAt(start - 1) === '{') start--
    return `${prefix} a tag is not closed with }} (${lineAndColumn(template, start === -1 ? at : start)})`
  }
  if (kind === 'Unopened section') {
    return `${prefix} {{/${name}}} closes a section that is not open (${lineAndColumn(template, at)})`
  }
  if (at >= template.length)
    return `${prefix} the section "${name}" is never closed with {{/${name}}}`
  const closer = /^\{\{\s*\/\s*(.*?)\s*\}\}/.exec(template.slice(at))?.[1] ?? '?'
  return `${prefix} the section "${name}" is closed by {{/${closer}}} (${lineAndColumn(template, at)})`
}

const SET_DELIMITER_MESSAGE =
  'the template changes its delimiters ({{=<% %>=}}), which is not supported'

function convert(
  tokens: readonly Token[],
  template: string,
  depth: number,
  names: Map<string, Path>,
): Node[] {
  const nodes: Node[] = []
  for (const [type, value, start, , children] of tokens) {
    const where = () => lineAndColumn(template, start)
    switch (type) {
      case 'text':
        nodes.push({ kind: 'text', text: value, bytes: Buffer.byteLength(value) })
        break
      case 'name':
      case '&': {
        const path = parseName(value, where)
        names.set(path.join('.'), path)
        nodes.push({ kind: 'variable', path, name: value, raw: type === '&' })
        break
      }
      case '#':
      case '^': {
        if (depth > TEMPLATE_LIMITS.maxDepth) {
          throw new TemplateError(
            `the template nests sections deeper than ${TEMPLATE_LIMITS.maxDepth} levels (${where()})`,
          )
        }
        const path = parseName(value, where)
        names.set(path.join('.'), path)
        nodes.push({
          kind: 'section',
          path,
          inverted: type === '^',
          children: convert(children ?? [], template, depth + 1, names),
        })
        break
      }
      case '!':
        break
      case '>':
        throw new TemplateError(
          `the template uses a partial ({{> ${value}}}), which is not supported (${where()})`,
        )
      case '=':
        throw new TemplateError(`${SET_DELIMITER_MESSAGE} (${where()})`)
      default:
        throw new TemplateError(`the template uses an unknown tag type "${type}" (${where()})`)
    }
  }
  return nodes
}

/** Segments that Mustache would read as names but that are other tag types elsewhere. */
const UNSUPPORTED_TAG = /^[$<%]/

function parseName(name: string, where: () => string): Path {
  if (name === '.') return []
  if (name === '') throw new TemplateError(`the template has an empty tag {{}} (${where()})`)
  if (name.includes('{{')) {
    throw new TemplateError(
      `the template has a syntax error: a tag is not closed with }} before the next {{ (${where()})`,
    )
  }
  if (UNSUPPORTED_TAG.test(name)) {
    throw new TemplateError(
      `the template uses {{${name}}}, a tag type that is not supported (${where()})`,
    )
  }
  const path = name.split('.')
  if (path.some((segment) => segment === '' || /[\s{}]/.test(segment))) {
    throw new TemplateError(`the template has an invalid name "${name}" (${where()})`)
  }
  return path
}

// ---- rendering ------------------------------------------------------------------------------

/**
 * `sample`: the save-time render, in which `{{{x}}}` in JSON stands for any JSON value and so is
 * written as a string (`"1"`): a `"{{{x}}}"` inside quotes is then refused.
 */
function render(
  nodes: readonly Node[],
  contentType: ContentType,
  context: unknown,
  { maxBytes, sample }: { maxBytes: number; sample: boolean },
): string {
  const pieces: string[] = []
  let bytes = 0
  let steps = 0
  const stack: unknown[] = [context]

  function emit(text: string, size = Buffer.byteLength(text)): void {
    bytes += size
    if (bytes > maxBytes) {
      throw new TemplateError(`the rendered body is over the maximum of ${maxBytes} bytes`)
    }
    pieces.push(text)
  }

  function step(): void {
    if (++steps > TEMPLATE_LIMITS.maxSteps) {
      throw new TemplateError(
        `rendering the template takes over ${TEMPLATE_LIMITS.maxSteps} steps (sections over large lists?)`,
      )
    }
  }

  function walk(list: readonly Node[]): void {
    for (const node of list) {
      step()
      if (node.kind === 'text') {
        emit(node.text, node.bytes)
      } else if (node.kind === 'variable') {
        const value = lookup(stack, node.path)
        const shown = sample && node.raw && typeof value === 'number' ? String(value) : value
        emit(variableText(shown, node.raw, contentType, node.name))
      } else {
        const value = lookup(stack, node.path)
        if (node.inverted) {
          if (!isTruthy(value)) walk(node.children)
        } else if (Array.isArray(value)) {
          for (let index = 0; index < value.length; index++) {
            step()
            stack.push(ownValue(value, String(index)))
            walk(node.children)
            stack.pop()
          }
        } else if (isTruthy(value)) {
          stack.push(value)
          walk(node.children)
          stack.pop()
        }
      }
    }
  }

  walk(nodes)
  return pieces.join('')
}

/**
 * The Mustache spec's lookup: the first segment in the innermost context that has it, the others
 * in that value only. Own data properties only (never inherited ones, never getters); arrays by
 * index only. Undefined when missing.
 */
function lookup(stack: readonly unknown[], path: Path): unknown {
  const [first, ...rest] = path
  if (first === undefined) return stack[stack.length - 1]
  let value: unknown
  for (let index = stack.length - 1; index >= 0; index--) {
    value = ownValue(stack[index], first)
    if (value !== undefined) break
  }
  for (const segment of rest) {
    if (value === undefined) break
    value = ownValue(value, segment)
  }
  return value
}

const ARRAY_INDEX = /^(?:0|[1-9][0-9]*)$/

function ownValue(container: unknown, key: string): unknown {
  if (container === null || typeof container !== 'object') return undefined
  if (Array.isArray(container) && !ARRAY_INDEX.test(key)) return undefined
  const descriptor = Object.getOwnPropertyDescriptor(container, key)
  if (descriptor === undefined || !('value' in descriptor)) return undefined
  const value: unknown = descriptor.value
  return typeof value === 'function' || typeof value === 'symbol' ? undefined : value
}

/** JavaScript truthiness, except that an empty list is false (as in Mustache). */
function isTruthy(value: unknown): boolean {
  return Array.isArray(value) ? value.length > 0 : Boolean(value)
}

function variableText(value: unknown, raw: boolean, contentType: ContentType, name: string) {
  if (contentType === 'application/json') {
    if (value === undefined) return raw ? 'null' : ''
    if (raw) return jsonText(value, name)
    if (typeof value === 'string') return jsonStringContent(value)
    if (value !== null && typeof value === 'object') {
      return jsonStringContent(jsonText(value, name))
    }
    return scalarText(value)
  }
  if (value === undefined || value === null) return ''
  const text =
    typeof value === 'string'
      ? value
      : typeof value === 'object'
        ? jsonText(value, name)
        : scalarText(value)
  return contentType === 'application/xml' ? xmlEscape(text) : formEncode(text)
}

/** A number, boolean, bigint or null as its JSON text (bigints as their digits). */
function scalarText(value: unknown): string {
  return typeof value === 'number' ? JSON.stringify(value) : String(value)
}

function jsonText(value: unknown, name: string): string {
  try {
    return (
      JSON.stringify(value, (_key, item: unknown) =>
        typeof item === 'bigint' ? item.toString() : item,
      ) ?? 'null'
    )
  } catch (error) {
    throw new TemplateError(
      `the value of {{${name}}} cannot be written as JSON: ${(error as Error).message}`,
    )
  }
}

// ---- the save-time sample -------------------------------------------------------------------

/**
 * A realistic envelope in which every name the template uses is `1`, except names that lead to
 * other names (`data` in `data.id`), which are objects. Null-prototype objects only: a name such
 * as `__proto__` or `constructor` is a plain key here.
 */
function sampleContext(names: readonly Path[]): Record<string, unknown> {
  const root = record({
    event: 'sample.event',
    type: 'sample.event',
    timestamp: '2026-01-01T00:00:00.000Z',
    hook: record({ id: 'hook_sample', event: 'sample.event', target: 'https://example.com/hook' }),
    data: record({}),
    instance: record({}),
    ref: 'https://example.com/things/1',
  })
  const prefixes = new Set<string>()
  for (const path of names) {
    for (let length = 1; length < path.length; length++) {
      prefixes.add(path.slice(0, length).join('.'))
    }
  }
  for (const path of names) {
    let node = root
    path.forEach((segment, index) => {
      if (!prefixes.has(path.slice(0, index + 1).join('.'))) {
        define(node, segment, 1)
        return
      }
      const existing = Object.hasOwn(node, segment) ? node[segment] : undefined
      if (existing === null || typeof existing !== 'object' || Array.isArray(existing)) {
        define(node, segment, record({}))
      }
      node = node[segment] as Record<string, unknown>
    })
  }
  return root
}

function record(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.assign(Object.create(null) as Record<string, unknown>, fields)
}

function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  })
}
