import fc from 'fast-check'
import { XMLParser } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import {
  BodyError,
  bodyProblem,
  CONTENT_TYPES,
  type ContentType,
  DEFAULT_CONTENT_TYPE,
  defaultBody,
  type Envelope,
  isContentType,
  MAX_XML_DEPTH,
  xmlElementName,
} from './content-type.ts'
import { formEncode, jsonStringContent, xmlEscape, xmlLegal } from './escape.ts'

const envelope: Envelope = {
  type: 'book.added',
  timestamp: '2026-11-22T10:00:00.000Z',
  hook: { id: 'hook_1', event: 'book.added', target: 'https://example.com/hooks' },
  data: { id: 7, title: 'Tom & "Jerry" <3', tags: ['cartoon', 'cat'], price: null },
  ref: 'https://example.com/books/7',
}
const envelopeText = JSON.stringify(envelope)

const xmlReader = new XMLParser({
  trimValues: false,
  parseTagValue: false,
  ignoreAttributes: false,
  parseAttributeValue: false,
})

describe('CONTENT_TYPES', () => {
  it('lists JSON first, as the default', () => {
    expect(CONTENT_TYPES).toEqual([
      'application/json',
      'application/x-www-form-urlencoded',
      'application/xml',
    ])
    expect(DEFAULT_CONTENT_TYPE).toBe('application/json')
  })

  it('recognises exactly its members', () => {
    expect(isContentType('application/xml')).toBe(true)
    expect(isContentType('application/json; charset=utf-8')).toBe(false)
    expect(isContentType('text/xml')).toBe(false)
    expect(isContentType(undefined)).toBe(false)
  })
})

describe('defaultBody', () => {
  it('is the envelope text itself for JSON', () => {
    expect(defaultBody(envelopeText, 'application/json')).toBe(envelopeText)
    expect(JSON.parse(defaultBody(envelope, 'application/json'))).toEqual(envelope)
  })

  it('is payload=<the envelope JSON> for a form', () => {
    const body = defaultBody(envelopeText, 'application/x-www-form-urlencoded')
    expect(body.startsWith('payload=%7B%22type%22%3A%22book.added%22')).toBe(true)
    expect(new URLSearchParams(body).get('payload')).toBe(envelopeText)
    expect([...new URLSearchParams(body).keys()]).toEqual(['payload'])
  })

  it('is a <webhook> document for XML', () => {
    expect(defaultBody(envelopeText, 'application/xml')).toBe(
      '<?xml version="1.0" encoding="UTF-8"?><webhook>' +
        '<type>book.added</type><timestamp>2026-11-22T10:00:00.000Z</timestamp>' +
        '<hook><id>hook_1</id><event>book.added</event><target>https://example.com/hooks</target></hook>' +
        '<data><id>7</id><title>Tom &amp; &quot;Jerry&quot; &lt;3</title>' +
        '<tags><item>cartoon</item><item>cat</item></tags><price/></data>' +
        '<ref>https://example.com/books/7</ref></webhook>',
    )
  })

  it('leaves out a missing ref', () => {
    const { ref: _ref, ...withoutRef } = envelope
    expect(defaultBody(withoutRef, 'application/xml')).not.toContain('<ref>')
  })

  it('writes JSON values as XML: scalars as text, arrays as <item>s, empty values as empty elements', () => {
    const body = defaultBody(
      {
        ...envelope,
        data: {
          yes: true,
          no: false,
          zero: 0,
          big: 1e21,
          empty: '',
          none: null,
          list: [],
          object: {},
          matrix: [[1, 2], [3], []],
          mixed: [null, 'a', { b: 1 }],
        },
      },
      'application/xml',
    )
    expect(body).toContain(
      '<data><yes>true</yes><no>false</no><zero>0</zero><big>1e+21</big><empty></empty><none/>' +
        '<list></list><object></object>' +
        '<matrix><item><item>1</item><item>2</item></item><item><item>3</item></item><item></item></matrix>' +
        '<mixed><item/><item>a</item><item><b>1</b></item></mixed></data>',
    )
    expect(bodyProblem(body, 'application/xml')).toBeNull()
  })

  it('writes a scalar or list data as the text or items of <data>', () => {
    expect(defaultBody({ ...envelope, data: 'a<b' }, 'application/xml')).toContain(
      '<data>a&lt;b</data>',
    )
    expect(defaultBody({ ...envelope, data: [1, 2] }, 'application/xml')).toContain(
      '<data><item>1</item><item>2</item></data>',
    )
  })

  it('makes keys valid XML names', () => {
    const data = JSON.parse(
      '{"2nd place": 1, "a:b": 2, "@id": 3, "#text": 4, "": 5, "xmlns": 6, "XMLish": 7, "título": 8, "-x": 9, ".y": 10, "__proto__": 11, "😀": 12, "a.b-c_d": 13}',
    )
    const body = defaultBody({ ...envelope, data }, 'application/xml')
    expect(body).toContain(
      '<data><_2nd_place>1</_2nd_place><a_b>2</a_b><_id>3</_id><_text>4</_text><_>5</_><_>12</_>' +
        '<_xmlns>6</_xmlns><_XMLish>7</_XMLish><título>8</título><_-x>9</_-x><_.y>10</_.y>' +
        '<__proto__>11</__proto__><a.b-c_d>13</a.b-c_d></data>',
    )
    expect(bodyProblem(body, 'application/xml')).toBeNull()
  })

  it('writes keys that become the same name as repeated elements, where the first was', () => {
    const body = defaultBody(
      { ...envelope, data: { 'a b': 1, a_b: 2, 'a-b': 3, 'a?b': [4] } },
      'application/xml',
    )
    expect(body).toContain(
      '<data><a_b>1</a_b><a_b>2</a_b><a_b><item>4</item></a_b><a-b>3</a-b></data>',
    )
  })

  it('replaces characters XML 1.0 forbids with U+FFFD', () => {
    const body = defaultBody(
      { ...envelope, data: { text: 'a\u0000b\u0008c\uFFFEd\uD800e\uDC00f\tg\r\nh😀' } },
      'application/xml',
    )
    expect(body).toContain('<text>a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\tg\r\nh😀</text>')
    expect(bodyProblem(body, 'application/xml')).toBeNull()
  })

  it(`refuses data nested deeper than ${MAX_XML_DEPTH} levels for XML, with a BodyError`, () => {
    let deep: unknown = 'bottom'
    for (let level = 0; level < MAX_XML_DEPTH; level++) deep = [deep]
    const fits = defaultBody({ ...envelope, data: deep }, 'application/xml')
    expect(bodyProblem(fits, 'application/xml')).toBeNull()
    expect(() => defaultBody({ ...envelope, data: [deep] }, 'application/xml')).toThrow(BodyError)
    expect(() => defaultBody({ ...envelope, data: [deep] }, 'application/xml')).toThrow(
      /nests deeper than 64 levels/,
    )
    expect(defaultBody({ ...envelope, data: [deep] }, 'application/json')).toContain('bottom')
  })
})

describe('xmlElementName', () => {
  it.each([
    ['title', 'title'],
    ['first name', 'first_name'],
    ['2nd', '_2nd'],
    ['xml', '_xml'],
    ['Xml-thing', '_Xml-thing'],
    ['', '_'],
    ['ns:tag', 'ns_tag'],
    ['niño', 'niño'],
    ['a<b>', 'a_b_'],
  ])('%j → %j', (key, name) => {
    expect(xmlElementName(key)).toBe(name)
  })
})

describe('bodyProblem', () => {
  it('accepts valid bodies of each content type', () => {
    expect(bodyProblem('{"a": [1, "x"]}', 'application/json')).toBeNull()
    expect(bodyProblem('"just a string"', 'application/json')).toBeNull()
    expect(bodyProblem('a=1&b=x+y%20z&c=&d~=*-._', 'application/x-www-form-urlencoded')).toBeNull()
    expect(bodyProblem('', 'application/x-www-form-urlencoded')).toBeNull()
    expect(
      bodyProblem(
        '<?xml version="1.0" encoding="UTF-8"?>\n<!-- note --><a x="1"><b>&amp;&#38;</b><![CDATA[<&>]]></a>\n',
        'application/xml',
      ),
    ).toBeNull()
  })

  it('names what is wrong with invalid JSON', () => {
    expect(bodyProblem('{"id": }', 'application/json')).toMatch(/^invalid JSON: .*Unexpected/)
    expect(bodyProblem('', 'application/json')).toBe('invalid JSON: Unexpected end of JSON input')
  })

  it.each([
    ['a=b c', "the character ' ' at position 3 must be percent-encoded"],
    ['a=1\n', 'the character U+000A at position 3 must be percent-encoded'],
    ['a=é', 'the character U+00E9 at position 2 must be percent-encoded'],
    ['a=%zz', 'the % at position 2 is not followed by two hex digits'],
    ['a=%4', 'the % at position 2 is not followed by two hex digits'],
    ['a="x"', `the character '"' at position 2 must be percent-encoded`],
  ])('refuses the form body %j', (body, message) => {
    expect(bodyProblem(body, 'application/x-www-form-urlencoded')).toBe(
      `invalid form body: ${message}`,
    )
  })

  it.each([
    ['', 'Start tag expected'],
    ['hello', "char 'h' is not expected. (line 1, column 1)"],
    ['<a>', "Unclosed tag 'a'"],
    ['<a></b>', "Expected closing tag 'a'"],
    ['<a>x & y</a>', "char '&' is not expected"],
    ['<a/><b/>', 'more than one root element (<a> and <b>)'],
    ['<a/>\n<a/>', 'more than one root element (<a> and <a>)'],
    ['<a>x</a>tail', 'Extra text at the end'],
    ['<a/>tail', 'text outside the root element (line 1, column 5)'],
    ['<a/>\n&amp;', 'text outside the root element (line 2, column 1)'],
    ['<a/>tail<b/>', 'text outside the root element'],
    ['<a x="/>"/><b/>', 'more than one root element (<a> and <b>)'],
    ['<a>\u0000</a>', 'the character U+0000 (line 1, column 4) is not allowed in XML 1.0'],
    ['<a>\n\uD800</a>', 'the character U+D800 (line 2, column 1) is not allowed in XML 1.0'],
    ['<!DOCTYPE a><a/>', 'a <!DOCTYPE> is not allowed in a webhook body'],
    [
      '<?xml version="1.0"?><!-- x --><!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
      'a <!DOCTYPE> is not allowed in a webhook body',
    ],
    [' <?xml version="1.0"?><a/>', 'XML declaration allowed only at the start'],
  ])('refuses the XML body %j', (body, message) => {
    const problem = bodyProblem(body, 'application/xml')
    expect(problem).toMatch(/^invalid XML: /)
    expect(problem).toContain(message)
  })
})

/** Any UTF-16 code unit: lone surrogates and control characters included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))
const anyString = fc.oneof(fc.string({ unit: anyUnit }), fc.string({ unit: 'binary' }), fc.string())
const anyData = fc.oneof(
  fc.jsonValue({ stringUnit: anyUnit, maxDepth: 4 }),
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 4 }),
)
const anyEnvelope: fc.Arbitrary<Envelope> = fc.record(
  {
    type: anyString,
    timestamp: anyString,
    hook: fc.record({ id: anyString, event: anyString, target: anyString }),
    data: anyData,
    ref: anyString,
  },
  { requiredKeys: ['type', 'timestamp', 'hook', 'data'] },
)

describe('defaultBody (fuzz)', () => {
  it.each(CONTENT_TYPES)('is always a valid %s body', (contentType: ContentType) => {
    fc.assert(
      fc.property(anyEnvelope, (value) => {
        const text = JSON.stringify(value)
        const body = defaultBody(text, contentType)
        expect(bodyProblem(body, contentType)).toBeNull()
        expect(defaultBody(value, contentType)).toBe(body)
      }),
      { numRuns: 150 },
    )
  })

  it('round-trips the envelope through JSON and form bodies', () => {
    fc.assert(
      fc.property(anyEnvelope, (value) => {
        const text = JSON.stringify(value)
        const form = defaultBody(text, 'application/x-www-form-urlencoded')
        // JSON.stringify escapes lone surrogates, so the text survives UTF-8 unchanged
        expect(new URLSearchParams(form).get('payload')).toBe(text)
        expect(defaultBody(text, 'application/json')).toBe(text)
      }),
      { numRuns: 150 },
    )
  })

  it('keeps string data as the text of <data>, forbidden characters replaced', () => {
    fc.assert(
      fc.property(anyString, (data) => {
        const body = defaultBody({ ...envelope, data }, 'application/xml')
        const parsed = xmlReader.parse(body) as { webhook: { data: string } }
        expect(parsed.webhook.data).toBe(xmlLegal(data).replace(/\r\n?/g, '\n'))
      }),
      { numRuns: 150 },
    )
  })
})

describe('escaping helpers', () => {
  it('escape for JSON strings without the quotes', () => {
    expect(jsonStringContent('a"b\\c\n\u0000\uD800')).toBe('a\\"b\\\\c\\n\\u0000\\ud800')
  })

  it('escape for XML, valid in text and in attribute values', () => {
    expect(xmlEscape(`<a href="x" title='y'>&</a>\u0001`)).toBe(
      '&lt;a href=&quot;x&quot; title=&apos;y&apos;&gt;&amp;&lt;/a&gt;\uFFFD',
    )
  })

  it('form-encode as URLSearchParams does', () => {
    expect(formEncode("a b&c=d+e/é~*-._!'()\uD800")).toBe(
      'a+b%26c%3Dd%2Be%2F%C3%A9%7E*-._%21%27%28%29%EF%BF%BD',
    )
  })
})
