import fc from 'fast-check'
import { XMLParser } from 'fast-xml-parser'
import { describe, expect, it } from 'vitest'
import { bodyProblem, CONTENT_TYPES, type ContentType, type Envelope } from './content-type.ts'
import { xmlLegal } from './escape.ts'
import {
  renderTemplate,
  TEMPLATE_LIMITS,
  type TemplateContext,
  TemplateError,
  templateContext,
  templateProblem,
} from './template.ts'

const JSON_TYPE = 'application/json'
const XML_TYPE = 'application/xml'
const FORM_TYPE = 'application/x-www-form-urlencoded'

const envelope: Envelope = {
  type: 'book.added',
  timestamp: '2026-11-22T10:00:00.000Z',
  hook: { id: 'hook_1', event: 'book.added', target: 'https://example.com/hooks' },
  data: { id: 7, title: 'Tom & Jerry', tags: ['cartoon', 'cat'] },
}

/** The context of `envelope` with `data` replaced. */
function withData(data: unknown): TemplateContext {
  return templateContext({ ...envelope, data })
}

/** What `renderTemplate` throws, as a message. */
function renderError(
  template: string,
  contentType: ContentType,
  context: TemplateContext,
  options: { maxBytes?: number } = {},
): string {
  try {
    renderTemplate(template, contentType, context, options)
  } catch (error) {
    expect(error).toBeInstanceOf(TemplateError)
    expect((error as TemplateError).code).toBe('template_error')
    return (error as TemplateError).message
  }
  throw new Error('renderTemplate did not throw')
}

const xmlReader = new XMLParser({
  trimValues: false,
  parseTagValue: false,
  ignoreAttributes: false,
  parseAttributeValue: false,
  attributeNamePrefix: '@',
})

const tricky = 'He said "hi" <b>bold</b> & left\nnext line\ttab \\ back\u0000nul é 😀'

describe("infi.django_http_hooks' cases", () => {
  const infi = '{"id": {{data.id}}, "event": "{{event}}", "title": "{{data.title}}"}'

  it('renders a JSON template as valid JSON, whatever the title holds', () => {
    const body = renderTemplate(infi, JSON_TYPE, withData({ id: 7, title: tricky }))
    expect(JSON.parse(body)).toEqual({ id: 7, event: 'book.added', title: tricky })
  })

  it('renders an XML template as valid XML', () => {
    const template =
      '<?xml version="1.0"?><book id="{{data.id}}" title="{{data.title}}"><event>{{event}}</event><title>{{data.title}}</title></book>'
    const body = renderTemplate(template, XML_TYPE, withData({ id: 7, title: tricky }))
    expect(bodyProblem(body, XML_TYPE)).toBeNull()
    const book = (xmlReader.parse(body) as { book: Record<string, string> }).book
    expect(book.event).toBe('book.added')
    expect(book.title).toBe(xmlLegal(tricky))
    expect(book['@title']).toBe(xmlLegal(tricky))
    expect(book['@id']).toBe('7')
  })

  it('refuses an invalid template with a clear message', () => {
    expect(templateProblem('{"id": {{data.id}}, "event": "{{event}}"}', JSON_TYPE)).toBeNull()
    expect(templateProblem('{"id": {{data.id}, "event": "{{event}}"}', JSON_TYPE)).toBe(
      'the template has a syntax error: a tag is not closed with }} before the next {{ (line 1, column 8)',
    )
    expect(templateProblem('{"id": {{data.id}}, "event": "{{event}}"', JSON_TYPE)).toBe(
      "with every name set to 1, the template renders invalid JSON: Expected ',' or '}' after property value in JSON at position 22 (line 1 column 23)",
    )
    expect(templateProblem('<book><id>{{data.id}}</book>', XML_TYPE)).toBe(
      "with every name set to 1, the template renders invalid XML: Expected closing tag 'id' (opened in line 1, col 7) instead of closing tag 'book'. (line 1, column 12)",
    )
  })
})

describe('templateContext', () => {
  it('offers the envelope with event = type and instance = data', () => {
    const context = templateContext(JSON.stringify({ ...envelope, ref: 'https://x.test/b/7' }))
    expect(context).toEqual({
      event: 'book.added',
      type: 'book.added',
      timestamp: '2026-11-22T10:00:00.000Z',
      hook: envelope.hook,
      data: envelope.data,
      instance: envelope.data,
      ref: 'https://x.test/b/7',
    })
    expect('ref' in templateContext(envelope)).toBe(false)
  })

  it('lets templates use every field', () => {
    const template =
      '{{event}} {{type}} {{timestamp}} {{hook.id}} {{hook.event}} {{hook.target}} {{instance.id}} {{data.id}} [{{ref}}]'
    expect(renderTemplate(`"${template}"`, JSON_TYPE, templateContext(envelope))).toBe(
      '"book.added book.added 2026-11-22T10:00:00.000Z hook_1 book.added https://example.com/hooks 7 7 []"',
    )
  })
})

describe('escaping in JSON', () => {
  const context = withData({
    text: tricky,
    number: -1.5e-7,
    yes: true,
    none: null,
    list: [1, 'two', null],
    object: { a: '"x"' },
    lone: '\uD800',
  })

  it.each([
    ['{{data.text}}', JSON.stringify(tricky).slice(1, -1)],
    ['{{data.number}}', '-1.5e-7'],
    ['{{data.yes}}', 'true'],
    ['{{data.none}}', 'null'],
    ['{{data.missing}}', ''],
    ['{{data.list}}', '[1,\\"two\\",null]'],
    ['{{data.object}}', '{\\"a\\":\\"\\\\\\"x\\\\\\"\\"}'],
    ['{{data.lone}}', '\\ud800'],
  ])('"%s" renders "%s"', (tag, text) => {
    expect(renderTemplate(`"${tag}"`, JSON_TYPE, context)).toBe(`"${text}"`)
  })

  it.each([
    ['{{{data.text}}}', JSON.stringify(tricky)],
    ['{{& data.text}}', JSON.stringify(tricky)],
    ['{{{data.number}}}', '-1.5e-7'],
    ['{{{data.none}}}', 'null'],
    ['{{{data.missing}}}', 'null'],
    ['{{{data.list}}}', '[1,"two",null]'],
    ['{{{data.object}}}', '{"a":"\\"x\\""}'],
  ])('%s renders %s', (tag, text) => {
    expect(renderTemplate(`[${tag}]`, JSON_TYPE, context)).toBe(`[${text}]`)
  })

  it('makes "{{x}}" a valid string for every value', () => {
    const body = renderTemplate(
      '{"text": "{{data.text}}", "list": "{{data.list}}", "object": "{{data.object}}", "none": "{{data.none}}", "missing": "{{data.missing}}", "lone": "{{data.lone}}"}',
      JSON_TYPE,
      context,
    )
    expect(JSON.parse(body)).toEqual({
      text: tricky,
      list: '[1,"two",null]',
      object: '{"a":"\\"x\\""}',
      none: 'null',
      missing: '',
      lone: '\uD800',
    })
  })

  it('makes {{{x}}} a JSON value: "data": {{{data}}} embeds the data', () => {
    const body = renderTemplate(
      '{"data": {{{data}}}, "text": {{{data.text}}}, "missing": {{{data.missing}}}}',
      JSON_TYPE,
      context,
    )
    expect(JSON.parse(body)).toEqual({
      data: context.data as object,
      text: tricky,
      missing: null,
    })
  })

  it('writes bigints as digits, dates as their JSON', () => {
    const body = renderTemplate(
      '[{{data.big}}, {{{data.big}}}, "{{data.when}}", {{{data.when}}}]',
      JSON_TYPE,
      withData({ big: 12345678901234567890n, when: new Date(0) }),
    )
    expect(body).toBe(
      '[12345678901234567890, "12345678901234567890", "\\"1970-01-01T00:00:00.000Z\\"", "1970-01-01T00:00:00.000Z"]',
    )
  })
})

describe('escaping in XML', () => {
  it.each([
    ['{{data.text}}', '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;'],
    ['{{{data.text}}}', '&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&apos;s&lt;/a&gt;'],
    ['{{data.number}}', '42'],
    ['{{data.yes}}', 'false'],
    ['{{data.none}}', ''],
    ['{{data.missing}}', ''],
    ['{{data.object}}', '{&quot;a&quot;:[1,&quot;&lt;&quot;]}'],
    ['{{data.controls}}', 'a\uFFFDb\uFFFDc\tok'],
    ['{{data.emoji}}', 'é😀'],
  ])('%s renders %s', (tag, text) => {
    const context = withData({
      text: `<a href="x">Tom & Jerry's</a>`,
      number: 42,
      yes: false,
      none: null,
      object: { a: [1, '<'] },
      controls: 'a\u0000b\uDC00c\tok',
      emoji: 'é😀',
    })
    expect(renderTemplate(`<v>${tag}</v>`, XML_TYPE, context)).toBe(`<v>${text}</v>`)
  })

  it('keeps values in attributes valid', () => {
    const body = renderTemplate(
      `<v a="{{data.text}}" b='{{data.text}}'/>`,
      XML_TYPE,
      withData({ text: `"'<&>` }),
    )
    expect(body).toBe(`<v a="&quot;&apos;&lt;&amp;&gt;" b='&quot;&apos;&lt;&amp;&gt;'/>`)
    expect(bodyProblem(body, XML_TYPE)).toBeNull()
  })
})

describe('escaping in forms', () => {
  it.each([
    ['{{data.text}}', 'Tom+%26+Jerry%3D%22best%22%0A%2B1'],
    ['{{{data.text}}}', 'Tom+%26+Jerry%3D%22best%22%0A%2B1'],
    ['{{data.number}}', '-3.25'],
    ['{{data.yes}}', 'true'],
    ['{{data.none}}', ''],
    ['{{data.missing}}', ''],
    ['{{data.object}}', '%7B%22a%22%3A%5B1%2C%22%26%22%5D%7D'],
    ['{{data.unicode}}', '%C3%A9%F0%9F%98%80%00%EF%BF%BD'],
  ])('%s renders %s', (tag, text) => {
    const context = withData({
      text: 'Tom & Jerry="best"\n+1',
      number: -3.25,
      yes: true,
      none: null,
      object: { a: [1, '&'] },
      unicode: 'é😀\u0000\uD800',
    })
    expect(renderTemplate(`v=${tag}`, FORM_TYPE, context)).toBe(`v=${text}`)
  })

  it('round-trips values through URLSearchParams', () => {
    const body = renderTemplate(
      'id={{data.id}}&title={{data.title}}&event={{event}}',
      FORM_TYPE,
      withData({ id: 7, title: tricky }),
    )
    expect(Object.fromEntries(new URLSearchParams(body))).toEqual({
      id: '7',
      title: tricky,
      event: 'book.added',
    })
  })
})

describe('sections', () => {
  const context = withData({
    tags: ['a', 'b', 'c'],
    empty: [],
    author: { name: 'Ann', id: 3 },
    flag: true,
    count: 2,
    zero: 0,
    blank: '',
    off: false,
    none: null,
    name: 'Book',
    rows: [{ name: 'r1' }, { other: 1 }],
    matrix: [
      [1, 2],
      [3, 4],
    ],
  })
  const render = (template: string) => renderTemplate(`"${template}"`, JSON_TYPE, context)

  it.each([
    ['{{#data.tags}}[{{.}}]{{/data.tags}}', '[a][b][c]'],
    ['{{#data.empty}}x{{/data.empty}}', ''],
    ['{{#data.author}}{{name}}#{{id}}{{/data.author}}', 'Ann#3'],
    ['{{#data.flag}}yes {{.}}{{/data.flag}}', 'yes true'],
    ['{{#data.count}}n={{.}}{{/data.count}}', 'n=2'],
    ['{{#data.name}}{{.}}!{{/data.name}}', 'Book!'],
    ['{{#data.zero}}x{{/data.zero}}{{#data.blank}}x{{/data.blank}}', ''],
    [
      '{{#data.off}}x{{/data.off}}{{#data.none}}x{{/data.none}}{{#data.missing}}x{{/data.missing}}',
      '',
    ],
    ['{{^data.empty}}none{{/data.empty}}{{^data.tags}}none{{/data.tags}}', 'none'],
    ['{{^data.off}}off{{/data.off}}{{^data.missing}}, missing{{/data.missing}}', 'off, missing'],
    ['{{^data.zero}}zero{{/data.zero}}{{^data.flag}}x{{/data.flag}}', 'zero'],
    ['{{! a comment }}{{#data.tags}}{{! another }}{{.}}{{/data.tags}}', 'abc'],
    ['{{#data.rows}}{{name}},{{/data.rows}}', 'r1,,'],
    ['{{#data.rows}}{{data.name}}{{event}};{{/data.rows}}', 'Bookbook.added;Bookbook.added;'],
    ['{{#data.matrix}}({{#.}}{{.}}{{/.}}){{/data.matrix}}', '(12)(34)'],
    ['{{data.tags.1}}{{data.matrix.1.0}}', 'b3'],
    [
      '{{#data.author}}{{#data.tags}}{{name}}:{{.}} {{/data.tags}}{{/data.author}}',
      'Ann:a Ann:b Ann:c ',
    ],
  ])('%s renders %s', (template, text) => {
    expect(render(template)).toBe(`"${text}"`)
  })

  it('looks up dotted names as the Mustache spec does (no broken-chain fallback)', () => {
    const body = renderTemplate('"{{#a}}{{b.c}}{{/a}}"', JSON_TYPE, {
      ...templateContext(envelope),
      a: { b: {} },
      b: { c: 'ERROR' },
    } as TemplateContext)
    expect(body).toBe('""')
  })

  it('strips lines that hold only a section tag, as Mustache does', () => {
    const template = '[\n  {{#data.tags}}\n  "{{.}}",\n  {{/data.tags}}\n  null\n]'
    expect(renderTemplate(template, JSON_TYPE, context)).toBe(
      '[\n  "a",\n  "b",\n  "c",\n  null\n]',
    )
  })
})

describe('prototype safety', () => {
  const context = withData({ title: 'Dune', tags: ['a'], nested: { x: 1 } })

  it.each([
    '{{data.constructor}}',
    '{{data.constructor.name}}',
    '{{data.__proto__}}',
    '{{data.__proto__.constructor}}',
    '{{data.tags.map}}',
    '{{data.tags.length}}',
    '{{data.title.length}}',
    '{{data.hasOwnProperty}}',
    '{{data.toString}}',
    '{{#data.toString}}x{{/data.toString}}',
    '{{#data.tags.map}}x{{/data.tags.map}}',
    '{{#data.constructor}}{{name}}{{/data.constructor}}',
    '{{{data.valueOf}}}',
    '{{constructor}}{{toString}}{{__defineGetter__}}',
  ])('%s renders nothing', (tag) => {
    for (const contentType of [XML_TYPE, FORM_TYPE] as const) {
      const wrapped = contentType === XML_TYPE ? `<v>${tag}</v>` : `v=${tag}`
      const empty = contentType === XML_TYPE ? '<v></v>' : 'v='
      expect(renderTemplate(wrapped, contentType, context)).toBe(empty)
    }
    // a missing value: empty, or null for {{{…}}} in JSON
    expect(renderTemplate(`["${tag}"]`, JSON_TYPE, context)).toBe(
      tag.startsWith('{{{') ? '["null"]' : '[""]',
    )
  })

  it('renders a __proto__ key that JSON data really has (an own property)', () => {
    const data = JSON.parse('{"__proto__": {"x": "own"}}')
    expect(renderTemplate('"{{data.__proto__.x}}"', JSON_TYPE, withData(data))).toBe('"own"')
  })

  it('never calls functions or getters in the context', () => {
    let calls = 0
    const data = {
      lambda: () => {
        calls++
        return 'called'
      },
      get getter() {
        calls++
        return 'called'
      },
    }
    const body = renderTemplate(
      '"{{data.lambda}}{{#data.lambda}}x{{/data.lambda}}{{data.getter}}{{#data.getter}}x{{/data.getter}}{{^data.lambda}}none{{/data.lambda}}"',
      JSON_TYPE,
      withData(data),
    )
    expect(body).toBe('"none"')
    expect(calls).toBe(0)
  })

  it('does not pollute prototypes when checking a template', () => {
    const template =
      '"{{data.__proto__.polluted}}{{#__proto__.polluted}}{{/__proto__.polluted}}{{constructor.prototype.polluted}}"'
    expect(templateProblem(template, JSON_TYPE)).toBeNull()
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.prototype).not.toHaveProperty('polluted')
  })
})

describe('refused templates', () => {
  it.each([
    [
      '{{> header}}',
      'the template uses a partial ({{> header}}), which is not supported (line 1, column 1)',
    ],
    [
      'x\n  {{>header}}',
      'the template uses a partial ({{> header}}), which is not supported (line 2, column 3)',
    ],
    [
      '{{=<% %>=}}<% x %>',
      'the template changes its delimiters ({{=<% %>=}}), which is not supported (line 1, column 1)',
    ],
    ['{{=<%=}}', 'the template changes its delimiters ({{=<% %>=}}), which is not supported'],
    [
      '{{$block}}x',
      'the template uses {{$block}}, a tag type that is not supported (line 1, column 1)',
    ],
    [
      '{{<parent}}',
      'the template uses {{<parent}}, a tag type that is not supported (line 1, column 1)',
    ],
    [
      '{{%pragma}}',
      'the template uses {{%pragma}}, a tag type that is not supported (line 1, column 1)',
    ],
    ['{{data..id}}', 'the template has an invalid name "data..id" (line 1, column 1)'],
    ['{{.id}}', 'the template has an invalid name ".id" (line 1, column 1)'],
    ['{{#data.}}{{/data.}}', 'the template has an invalid name "data." (line 1, column 1)'],
    ['{{data id}}', 'the template has an invalid name "data id" (line 1, column 1)'],
    ['{{ }}', 'the template has an empty tag {{}} (line 1, column 1)'],
    ['{{#a}}x', 'the template has a syntax error: the section "a" is never closed with {{/a}}'],
    [
      '{{#a}}{{/b}}',
      'the template has a syntax error: the section "a" is closed by {{/b}} (line 1, column 7)',
    ],
    [
      'x\n{{/a}}',
      'the template has a syntax error: {{/a}} closes a section that is not open (line 2, column 1)',
    ],
    [
      '"{{data.id"',
      'the template has a syntax error: a tag is not closed with }} (line 1, column 2)',
    ],
    [
      '"{{{data.id}}"',
      'the template has a syntax error: a tag is not closed with }} (line 1, column 2)',
    ],
  ])('%j: %s', (template, message) => {
    expect(templateProblem(template, JSON_TYPE)).toBe(message)
    expect(renderError(template, JSON_TYPE, templateContext(envelope))).toBe(message)
  })

  it('refuses templates whose sample body is invalid for the content type', () => {
    expect(templateProblem('<a>{{x}}</a><b/>', XML_TYPE)).toBe(
      'with every name set to 1, the template renders invalid XML: more than one root element (<a> and <b>)',
    )
    expect(templateProblem('id={{data.id}}\n', FORM_TYPE)).toBe(
      'with every name set to 1, the template renders invalid form body: the character U+000A at position 4 must be percent-encoded',
    )
    expect(templateProblem('title: {{data.title}}', JSON_TYPE)).toMatch(
      /^with every name set to 1, the template renders invalid JSON: /,
    )
    expect(templateProblem('', JSON_TYPE)).toBe(
      'with every name set to 1, the template renders invalid JSON: Unexpected end of JSON input',
    )
  })

  it('accepts templates that are valid with numbers, including sections and nested names', () => {
    expect(
      templateProblem(
        '{"id": {{data.id}}, "data": {{{data}}}, "tags": [{{#data.tags}}"{{.}}", {{/data.tags}}null], "deleted": {{#data.deleted}}true{{/data.deleted}}{{^data.deleted}}false{{/data.deleted}}}',
        JSON_TYPE,
      ),
    ).toBeNull()
    expect(
      templateProblem(
        '<book id="{{data.id}}">{{#data.tags}}<tag>{{.}}</tag>{{/data.tags}}{{#data.author}}<author>{{name}}</author>{{/data.author}}</book>',
        XML_TYPE,
      ),
    ).toBeNull()
    expect(templateProblem('payload={{{data}}}&event={{event}}', FORM_TYPE)).toBeNull()
  })

  it('refuses {{{x}}} inside quotes in JSON: it writes a JSON value, quotes included', () => {
    expect(templateProblem('{"title": "{{{data.title}}}"}', JSON_TYPE)).toMatch(
      /^with every name set to 1, the template renders invalid JSON: /,
    )
    expect(
      templateProblem('{"title": {{{data.title}}}, "id": {{{data.id}}}}', JSON_TYPE),
    ).toBeNull()
  })

  it('cannot foresee a string value outside quotes: that fails at delivery instead', () => {
    const template = '{"title": {{data.title}}}'
    expect(templateProblem(template, JSON_TYPE)).toBeNull()
    expect(renderTemplate(template, JSON_TYPE, withData({ title: 12 }))).toBe('{"title": 12}')
    expect(renderError(template, JSON_TYPE, withData({ title: 'Dune' }))).toMatch(
      /^the template rendered invalid JSON: Unexpected token 'D'/,
    )
    // {{{…}}} writes a JSON value, which is valid whatever the title is
    expect(
      renderTemplate('{"title": {{{data.title}}}}', JSON_TYPE, withData({ title: 'Dune' })),
    ).toBe('{"title": "Dune"}')
  })

  it('reports values that JSON cannot write as TemplateErrors', () => {
    const cycle: Record<string, unknown> = {}
    cycle.self = cycle
    expect(renderError('{{{data}}}', JSON_TYPE, withData(cycle))).toMatch(
      /^the value of \{\{data\}\} cannot be written as JSON: /,
    )
    expect(renderError('<v>{{data}}</v>', XML_TYPE, withData(cycle))).toMatch(
      /^the value of \{\{data\}\} cannot be written as JSON: /,
    )
  })
})

describe('caps', () => {
  it(`refuses a template over ${TEMPLATE_LIMITS.maxTemplateBytes} bytes`, () => {
    const fits = `"${'x'.repeat(TEMPLATE_LIMITS.maxTemplateBytes - 2)}"`
    expect(templateProblem(fits, JSON_TYPE)).toBeNull()
    expect(templateProblem(`${fits} `, JSON_TYPE)).toBe(
      `the template is ${TEMPLATE_LIMITS.maxTemplateBytes + 1} bytes, over the maximum of ${TEMPLATE_LIMITS.maxTemplateBytes}`,
    )
    // counted in UTF-8: é is two bytes
    const wide = `"${'é'.repeat(TEMPLATE_LIMITS.maxTemplateBytes / 2)}"`
    expect(templateProblem(wide, JSON_TYPE)).toMatch(/^the template is 65538 bytes/)
  })

  it(`refuses sections nested deeper than ${TEMPLATE_LIMITS.maxDepth} levels`, () => {
    const nest = (levels: number) => `"${'{{#data}}'.repeat(levels)}x${'{{/data}}'.repeat(levels)}"`
    expect(templateProblem(nest(TEMPLATE_LIMITS.maxDepth), JSON_TYPE)).toBeNull()
    expect(templateProblem(nest(TEMPLATE_LIMITS.maxDepth + 1), JSON_TYPE)).toBe(
      `the template nests sections deeper than ${TEMPLATE_LIMITS.maxDepth} levels (line 1, column ${2 + 9 * TEMPLATE_LIMITS.maxDepth})`,
    )
    // thousands of levels do not overflow the stack either
    expect(templateProblem(nest(3_000), JSON_TYPE)).toMatch(/nests sections deeper/)
  })

  it('refuses a rendered body over maxBytes (UTF-8)', () => {
    const context = withData({ items: Array.from({ length: 100 }, () => 'é'.repeat(50)) })
    const template = '[{{#data.items}}"{{.}}",{{/data.items}}0]'
    // 1 + 100 × (1 + 50 × 2 + 2) + 2 bytes
    expect(renderTemplate(template, JSON_TYPE, context, { maxBytes: 10_303 })).toHaveLength(5303)
    expect(renderError(template, JSON_TYPE, context, { maxBytes: 10_302 })).toBe(
      'the rendered body is over the maximum of 10302 bytes',
    )
    const big = withData({ items: Array.from({ length: 10_000 }, () => 'x'.repeat(100)) })
    expect(renderError(template, JSON_TYPE, big)).toBe(
      `the rendered body is over the maximum of ${TEMPLATE_LIMITS.maxBytes} bytes`,
    )
  })

  it('stops sections over large lists that render little, after maxSteps', () => {
    const context = withData({ list: Array.from({ length: 1000 }, () => 0) })
    const template = `"${'{{#data.list}}'.repeat(4)}{{/data.list}}{{/data.list}}{{/data.list}}{{/data.list}}"`
    const started = performance.now()
    expect(renderError(template, JSON_TYPE, context)).toBe(
      `rendering the template takes over ${TEMPLATE_LIMITS.maxSteps} steps (sections over large lists?)`,
    )
    expect(performance.now() - started).toBeLessThan(2_000)
  })

  it('renders the same template many times and many templates (bounded cache)', () => {
    for (let index = 0; index < TEMPLATE_LIMITS.cacheSize + 50; index++) {
      expect(renderTemplate(`[${index}, {{data.id}}]`, JSON_TYPE, templateContext(envelope))).toBe(
        `[${index}, 7]`,
      )
    }
    expect(renderTemplate('[0, {{data.id}}]', JSON_TYPE, withData({ id: 8 }))).toBe('[0, 8]')
  })
})

// ---- fuzz ------------------------------------------------------------------------------------

/** Any UTF-16 code unit: lone surrogates and control characters included. */
const anyUnit = fc.integer({ min: 0, max: 0xffff }).map((code) => String.fromCharCode(code))
const anyString = fc.oneof(fc.string({ unit: anyUnit }), fc.string({ unit: 'binary' }), fc.string())
const anyJson = fc.oneof(
  fc.jsonValue({ stringUnit: anyUnit, maxDepth: 3 }),
  fc.jsonValue({ stringUnit: 'binary', maxDepth: 3 }),
)
const anyData = fc.oneof(
  fc.record({ id: anyJson, title: anyString, tags: anyJson, author: anyJson }),
  anyJson,
)

const STRING_POSITION_TEMPLATES: Record<ContentType, string> = {
  'application/json':
    '{"id": {{{data.id}}}, "title": "{{data.title}}", "raw": {{{data.title}}}, "all": "{{data}}", "data": {{{data}}}, "event": "{{event}}", "tags": [{{#data.tags}}"{{.}}", {{{.}}}, {{/data.tags}}null], "author": "{{#data.author}}{{name}}{{.}}{{/data.author}}{{^data.author}}none{{/data.author}}"}',
  'application/xml':
    '<?xml version="1.0" encoding="UTF-8"?>\n<book id="{{data.id}}" title=\'{{data.title}}\'><title>{{data.title}}</title><raw>{{{data.title}}}</raw><all>{{data}}</all>{{#data.tags}}<tag n="{{.}}">{{.}}</tag>{{/data.tags}}{{#data.author}}<author>{{name}}{{.}}</author>{{/data.author}}</book>',
  'application/x-www-form-urlencoded':
    'id={{data.id}}&title={{data.title}}&raw={{{data.title}}}&all={{data}}&event={{event}}{{#data.tags}}&tag={{.}}{{/data.tags}}{{#data.author}}&author={{name}}{{.}}{{/data.author}}',
}

describe('renderTemplate (fuzz)', () => {
  it.each(CONTENT_TYPES)(
    'renders valid %s whatever the data, for values in string positions',
    (contentType) => {
      const template = STRING_POSITION_TEMPLATES[contentType]
      expect(templateProblem(template, contentType)).toBeNull()
      fc.assert(
        fc.property(anyData, anyString, (data, type) => {
          const context = templateContext({ ...envelope, type, data })
          const body = renderTemplate(template, contentType, context, { maxBytes: 10_000_000 })
          expect(bodyProblem(body, contentType)).toBeNull()
        }),
        { numRuns: 150 },
      )
    },
  )

  it('keeps string values intact', () => {
    fc.assert(
      fc.property(anyString, (title) => {
        const context = withData({ title })
        const json = renderTemplate(
          '{"t": "{{data.title}}", "r": {{{data.title}}}}',
          JSON_TYPE,
          context,
        )
        expect(JSON.parse(json)).toEqual({ t: title, r: title })
        const form = renderTemplate('t={{data.title}}', FORM_TYPE, context)
        expect(new URLSearchParams(form).get('t')).toBe(
          new URLSearchParams([['t', title]]).get('t'),
        )
        const xml = renderTemplate('<t>{{data.title}}</t>', XML_TYPE, context)
        expect((xmlReader.parse(xml) as { t: string }).t).toBe(
          xmlLegal(title).replace(/\r\n?/g, '\n'),
        )
      }),
      { numRuns: 150 },
    )
  })

  it('never crashes on any JavaScript data: at worst a TemplateError', () => {
    const anything = fc.anything({
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withNullPrototype: true,
      withSparseArray: true,
      withBoxedValues: true,
      withTypedArray: true,
      withObjectString: true,
    })
    fc.assert(
      fc.property(anything, fc.constantFrom(...CONTENT_TYPES), (data, contentType) => {
        try {
          renderTemplate(
            STRING_POSITION_TEMPLATES[contentType],
            contentType,
            withData({ title: data, tags: data, author: data, id: data }),
          )
        } catch (error) {
          expect(error).toBeInstanceOf(TemplateError)
        }
      }),
      { numRuns: 200 },
    )
  })

  it('never crashes on any template text: a problem or a usable template', () => {
    const piece = fc.constantFrom(
      '{{',
      '}}',
      '{{{',
      '}}}',
      '{{#',
      '{{^',
      '{{/',
      '{{>',
      '{{=',
      '{{!',
      '{{&',
      '{{$',
      'data',
      'data.id',
      'data.tags',
      '.',
      '..',
      ' ',
      '\n',
      '"',
      '<',
      '>',
      '&',
      '=',
      'a',
      '1',
      '[',
      ']',
      '{',
      '}',
      ':',
      ',',
      '<a>',
      '</a>',
      '%',
      '%2',
      '\u0000',
    )
    const template = fc
      .array(fc.oneof(piece, anyString), { maxLength: 30 })
      .map((pieces) => pieces.join(''))
    fc.assert(
      fc.property(
        template,
        fc.constantFrom(...CONTENT_TYPES),
        anyData,
        (text, contentType, data) => {
          const problem = templateProblem(text, contentType)
          try {
            renderTemplate(text, contentType, withData(data))
          } catch (error) {
            expect(error).toBeInstanceOf(TemplateError)
          }
          if (problem !== null)
            expect(() => renderTemplate(text, contentType, withData(data))).toThrow(TemplateError)
        },
      ),
      { numRuns: 300 },
    )
  })
})
