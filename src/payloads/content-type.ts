import { XMLBuilder, XMLValidator } from 'fast-xml-parser'
import type { HookInfo } from '../dispatch/serialize.ts'
import { formEncode, XML_ILLEGAL, xmlLegal } from './escape.ts'
import { lineAndColumn } from './text-position.ts'

/**
 * The content types a subscription's deliveries can have. `application/json` is the default.
 * Each has a default body ({@link defaultBody}) and a validity check ({@link bodyProblem}).
 */
export const CONTENT_TYPES = [
  'application/json',
  'application/x-www-form-urlencoded',
  'application/xml',
] as const

/** One of {@link CONTENT_TYPES}. */
export type ContentType = (typeof CONTENT_TYPES)[number]

/** The content type of a subscription that does not choose one. */
export const DEFAULT_CONTENT_TYPE: ContentType = 'application/json'

/** Whether `value` is one of {@link CONTENT_TYPES} (exactly, without parameters). */
export function isContentType(value: unknown): value is ContentType {
  return (CONTENT_TYPES as readonly unknown[]).includes(value)
}

/**
 * The default delivery body as an object: the parsed text that `renderEnvelope` returns
 * (`src/dispatch/envelope.ts`).
 */
export interface Envelope {
  type: string
  timestamp: string
  hook: HookInfo
  data: unknown
  ref?: string
}

/** A body that cannot be built for its content type (see {@link defaultBody}). */
export class BodyError extends Error {
  readonly code = 'body_error'
  override name = 'BodyError'
}

/**
 * Values nested deeper than this cannot be written as the default XML body: a {@link BodyError}.
 * (JSON and form bodies have no such limit.)
 */
export const MAX_XML_DEPTH = 64

/**
 * The body of a delivery without a template, for `contentType`:
 *
 * - `application/json`: the envelope's JSON text, unchanged.
 * - `application/x-www-form-urlencoded`: `payload=<the envelope's JSON text, form-encoded>`, the
 *   convention GitHub uses for form-encoded webhooks.
 * - `application/xml`: `<?xml version="1.0" encoding="UTF-8"?><webhook>…</webhook>`, one element
 *   per field (see {@link xmlElementName} for keys, arrays as repeated `<item>` elements, `null`
 *   as an empty element, characters XML 1.0 forbids replaced by U+FFFD). Data nested deeper than
 *   {@link MAX_XML_DEPTH} levels is a {@link BodyError}.
 *
 * `envelope` is the JSON text `renderEnvelope` returns, or that text parsed.
 */
export function defaultBody(envelope: string | Envelope, contentType: ContentType): string {
  switch (contentType) {
    case 'application/json':
      return jsonText(envelope)
    case 'application/x-www-form-urlencoded':
      return `payload=${formEncode(jsonText(envelope))}`
    case 'application/xml':
      return xmlDocument(
        typeof envelope === 'string' ? (JSON.parse(envelope) as Envelope) : envelope,
      )
  }
}

function jsonText(envelope: string | Envelope): string {
  return typeof envelope === 'string' ? envelope : JSON.stringify(envelope)
}

const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>'

const builder = new XMLBuilder({ format: false, suppressEmptyNode: false, processEntities: true })

function xmlDocument(envelope: Envelope): string {
  return XML_DECLARATION + builder.build({ webhook: xmlValue(envelope, -1) })
}

/**
 * A JSON value as the input XMLBuilder expects: every key a valid name, arrays as `<item>`s.
 * `depth` counts from `data` (0); the envelope itself is -1.
 */
function xmlValue(value: unknown, depth: number): unknown {
  if (depth > MAX_XML_DEPTH) {
    throw new BodyError(
      `the data nests deeper than ${MAX_XML_DEPTH} levels, too deep for an XML body`,
    )
  }
  switch (typeof value) {
    case 'string':
      return xmlLegal(value)
    case 'number':
      return JSON.stringify(value)
    case 'boolean':
    case 'bigint':
      return String(value)
    case 'object': {
      if (value === null) return null
      if (Array.isArray(value)) {
        return value.length === 0 ? '' : { item: value.map((item) => xmlValue(item, depth + 1)) }
      }
      const element: Record<string, unknown> = Object.create(null)
      for (const [key, item] of Object.entries(value)) {
        addChild(element, xmlElementName(key), xmlValue(item, depth + 1))
      }
      return element
    }
    default:
      // undefined, functions, symbols: what JSON.stringify would not write either
      return null
  }
}

/** Two keys with the same XML name (`a b` and `a_b`) become repeated elements, in order. */
function addChild(element: Record<string, unknown>, name: string, child: unknown): void {
  if (!Object.hasOwn(element, name)) {
    element[name] = child
    return
  }
  // Converted values are never arrays (arrays become `{item: [...]}`), so an array here is a
  // list of colliding children.
  const existing = element[name]
  if (Array.isArray(existing)) existing.push(child)
  else element[name] = [existing, child]
}

// XML 1.0 NameStartChar and NameChar, without ':' (namespaces) and limited to the Basic
// Multilingual Plane, as fast-xml-parser's validator accepts them.
const NAME_START =
  'A-Za-z_\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD'
const NAME_CHAR = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`
const NOT_NAME_CHAR = new RegExp(`[^${NAME_CHAR}]`, 'gu')
const STARTS_AS_NAME = new RegExp(`^[${NAME_START}]`, 'u')

/**
 * The XML element name for a JSON key: every character that cannot be in an XML name (including
 * `:`, `@`, `#`, spaces, and characters outside the Basic Multilingual Plane) becomes `_`; a
 * name that then does not start with a letter or `_` (a digit, `-`, `.`, or an empty key), or
 * that starts with `xml` in any case (reserved), gets a `_` in front. `"2nd place"` becomes
 * `_2nd_place`, `"título"` stays `título`.
 */
export function xmlElementName(key: string): string {
  const name = key.replace(NOT_NAME_CHAR, '_')
  return STARTS_AS_NAME.test(name) && !/^xml/i.test(name) ? name : `_${name}`
}

/**
 * What makes `body` invalid for `contentType`, or null when it is valid:
 *
 * - `application/json`: it must parse as JSON.
 * - `application/xml`: fast-xml-parser's `XMLValidator` must accept it; it must have exactly one
 *   root element, no text outside it, no `<!DOCTYPE>`, and no character that XML 1.0 forbids.
 * - `application/x-www-form-urlencoded`: only `A-Z a-z 0-9 * - . _ ~ + % & =`, each `%`
 *   followed by two hex digits.
 *
 * The message names the problem and where it is, e.g.
 * `invalid JSON: Unexpected token '}', "{"id": }" is not valid JSON`.
 */
export function bodyProblem(body: string, contentType: ContentType): string | null {
  switch (contentType) {
    case 'application/json':
      return jsonProblem(body)
    case 'application/x-www-form-urlencoded':
      return formProblem(body)
    case 'application/xml':
      return xmlProblem(body)
  }
}

function jsonProblem(body: string): string | null {
  try {
    JSON.parse(body)
    return null
  } catch (error) {
    return `invalid JSON: ${(error as Error).message}`
  }
}

const FORM_PROBLEM = /[^A-Za-z0-9*\-._~+%&=]|%(?![0-9A-Fa-f]{2})/

function formProblem(body: string): string | null {
  const match = FORM_PROBLEM.exec(body)
  if (match === null) return null
  const at = `at position ${match.index}`
  if (match[0] === '%') {
    return `invalid form body: the % ${at} is not followed by two hex digits`
  }
  return `invalid form body: ${describeChar(body, match.index)} ${at} must be percent-encoded`
}

const FIRST_XML_ILLEGAL = new RegExp(XML_ILLEGAL.source)

function xmlProblem(body: string): string | null {
  const illegal = FIRST_XML_ILLEGAL.exec(body)
  if (illegal !== null) {
    return `invalid XML: ${describeChar(body, illegal.index)} (${lineAndColumn(body, illegal.index)}) is not allowed in XML 1.0`
  }
  const result = XMLValidator.validate(body)
  if (result !== true) {
    const { msg, line, col } = result.err
    const where = col === undefined ? `line ${line}` : `line ${line}, column ${col}`
    return `invalid XML: ${msg} (${where})`
  }
  return outsideRootProblem(body)
}

/**
 * What `XMLValidator` lets through outside the root element: a second root, text after a
 * self-closing root (`<a/>tail`), a `<!DOCTYPE>` (refused: a webhook body needs no DTD, and
 * receivers should not be handed entity declarations). Runs on a body the validator accepted,
 * so tags are well formed; one linear pass.
 */
function outsideRootProblem(body: string): string | null {
  const roots: string[] = []
  let depth = 0
  let at = 0
  while (at < body.length) {
    if (body.charAt(at) !== '<') {
      if (depth > 0) {
        const next = body.indexOf('<', at)
        at = next === -1 ? body.length : next
      } else if (' \t\r\n'.includes(body.charAt(at))) {
        at++
      } else {
        return `invalid XML: text outside the root element (${lineAndColumn(body, at)})`
      }
    } else if (body.startsWith('<?', at)) {
      at = after(body, '?>', at)
    } else if (body.startsWith('<!--', at)) {
      at = after(body, '-->', at)
    } else if (body.startsWith('<![CDATA[', at)) {
      at = after(body, ']]>', at)
    } else if (body.startsWith('<!', at)) {
      return 'invalid XML: a <!DOCTYPE> is not allowed in a webhook body'
    } else if (body.startsWith('</', at)) {
      depth--
      at = after(body, '>', at)
    } else {
      const end = tagEnd(body, at)
      if (depth === 0) roots.push(/^<([^\s/>]+)/.exec(body.slice(at, end + 1))?.[1] ?? '?')
      if (body.charAt(end - 1) !== '/') depth++
      at = end + 1
    }
  }
  if (roots.length > 1) {
    return `invalid XML: more than one root element (<${roots[0]}> and <${roots[1]}>)`
  }
  return null
}

function after(body: string, end: string, from: number): number {
  const index = body.indexOf(end, from)
  return index === -1 ? body.length : index + end.length
}

/** The index of the `>` that ends the start tag at `from`, skipping quoted attribute values. */
function tagEnd(body: string, from: number): number {
  let at = from + 1
  while (at < body.length) {
    const char = body.charAt(at)
    if (char === '>') return at
    if (char === '"' || char === "'") {
      const close = body.indexOf(char, at + 1)
      at = close === -1 ? body.length : close + 1
    } else {
      at++
    }
  }
  return body.length
}

function describeChar(text: string, index: number): string {
  const code = text.codePointAt(index) ?? 0
  const hex = `U+${code.toString(16).toUpperCase().padStart(4, '0')}`
  return code >= 0x20 && code < 0x7f
    ? `the character '${String.fromCodePoint(code)}'`
    : `the character ${hex}`
}
