/**
 * HTML built by construction-safe templates: every value interpolated into `html` is escaped
 * unless it is itself the result of `html`. Owner-controlled strings (targets, headers, response
 * bodies) can only ever reach a page as text.
 */

/** Markup that is safe to insert as it is. */
export class SafeHtml {
  readonly value: string
  constructor(value: string) {
    this.value = value
  }
  toString(): string {
    return this.value
  }
}

/** What may be interpolated: text is escaped; arrays are joined; null, undefined and false vanish. */
export type HtmlValue =
  | SafeHtml
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly HtmlValue[]

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

/**
 * Escapes text for HTML content and for double- or single-quoted attribute values. NUL, which
 * HTML does not allow, becomes U+FFFD as a browser would show it.
 */
export function escapeHtml(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is replaced on purpose
  return text.replace(/[&<>"'\u0000]/g, (char) => ESCAPES[char] ?? '\ufffd')
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined || value === false) return ''
  if (value instanceof SafeHtml) return value.value
  if (Array.isArray(value)) return value.map(render).join('')
  return escapeHtml(String(value))
}

/**
 * A template tag: `html\`<td>${target}</td>\`` escapes `target`.
 *
 * @example html`<a href="${url}">${label}</a>`
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? ''
  for (let i = 0; i < values.length; i++) {
    out += render(values[i] as HtmlValue) + (strings[i + 1] ?? '')
  }
  return new SafeHtml(out)
}

/**
 * JSON for a `<script type="application/json">` data block: `<`, `>`, `&` and the line
 * separators are escaped so that no string inside can close the element.
 */
export function jsonScriptContent(value: unknown): SafeHtml {
  const text = JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
  return new SafeHtml(text)
}
