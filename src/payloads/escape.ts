/**
 * How text is written into a body of each content type: inside a JSON string, as XML character
 * data, as a form-encoded value. Every function accepts any JavaScript string, including lone
 * surrogates and control characters, and returns text that is valid in its position.
 */

/**
 * `text` as the content of a JSON string, without the surrounding quotes: `"`, `\`, control
 * characters and lone surrogates escaped (`JSON.stringify`'s rules), so that `"…"` around it is
 * always one valid JSON string.
 */
export function jsonStringContent(text: string): string {
  return JSON.stringify(text).slice(1, -1)
}

/**
 * The characters XML 1.0 does not allow anywhere in a document, even as character references:
 * C0 controls other than tab, line feed and carriage return; lone surrogates; U+FFFE and U+FFFF.
 */
export const XML_ILLEGAL =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g

/** `text` with each character XML 1.0 forbids replaced by U+FFFD (the replacement character). */
export function xmlLegal(text: string): string {
  return text.replace(XML_ILLEGAL, '\uFFFD')
}

const XML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&apos;',
}

/**
 * `text` escaped for XML, valid both as element text and inside a quoted attribute value:
 * `& < > " '` as entities, characters XML 1.0 forbids replaced by U+FFFD.
 */
export function xmlEscape(text: string): string {
  return xmlLegal(text).replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c)
}

/**
 * `text` encoded as an `application/x-www-form-urlencoded` value, exactly as `URLSearchParams`
 * encodes it: UTF-8 percent-encoding of everything but `A-Z a-z 0-9 * - . _`, a space as `+`,
 * lone surrogates as U+FFFD.
 */
export function formEncode(text: string): string {
  return new URLSearchParams([['', text]]).toString().slice(1)
}
