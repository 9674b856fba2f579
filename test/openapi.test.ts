import { Validator } from '@seriousme/openapi-schema-validator'
import { afterEach, describe, expect, it } from 'vitest'
import { createRoutes } from '../src/http/routes.ts'
import { apiEnv } from './support/api-client.ts'
import { bookstoreHooks } from './support/bookstore.ts'

const opened: { close(): Promise<void> }[] = []

afterEach(async () => {
  await Promise.all(opened.splice(0).map((thing) => thing.close()))
})

// biome-ignore lint/suspicious/noExplicitAny: the document is walked as plain JSON
type Doc = any

/** The document as `GET /api/openapi.json` serves it, with the env it came from. */
async function served() {
  const env = await apiEnv()
  opened.push(env)
  const response = await env.call('GET', '/api/openapi.json', { as: null })
  expect(response.status).toBe(200)
  expect(response.headers.get('content-type')).toBe('application/json')
  return { env, doc: response.json as Doc }
}

/** Every `$ref` in `value`, with where it was found. */
function refsIn(value: unknown, at = '#'): { ref: string; at: string }[] {
  if (value === null || typeof value !== 'object') return []
  return Object.entries(value).flatMap(([key, child]) =>
    key === '$ref' && typeof child === 'string'
      ? [{ ref: child, at }]
      : refsIn(child, `${at}/${key}`),
  )
}

/** What a local JSON pointer (`#/components/schemas/X`) names in `doc`, or undefined. */
function resolve(doc: Doc, ref: string): unknown {
  if (!ref.startsWith('#/')) return undefined
  return ref
    .slice(2)
    .split('/')
    .map((part) => part.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>(
      (node, part) =>
        node !== null && typeof node === 'object' && Object.hasOwn(node, part)
          ? (node as Record<string, unknown>)[part]
          : undefined,
      doc,
    )
}

describe('GET /openapi.json', () => {
  it('is valid OpenAPI 3.1 according to @seriousme/openapi-schema-validator', async () => {
    const { doc } = await served()
    expect(doc.openapi).toBe('3.1.0')
    const validator = new Validator()
    const result = await validator.validate(doc)
    expect(result.errors, JSON.stringify(result.errors, null, 2)).toBeUndefined()
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
  })

  it('the validator does refuse a broken document (so that the check above means something)', async () => {
    const { doc } = await served()
    const broken = structuredClone(doc)
    broken.paths['/hooks'].post.responses = { '201': { content: {} } } // no description
    const result = await new Validator().validate(broken)
    expect(result.valid).toBe(false)
  })

  it('lists every route under its method with its operationId, and nothing else', async () => {
    const { env, doc } = await served()
    const routes = createRoutes(env.hooks)
    const documented: string[] = []
    for (const [path, operations] of Object.entries(doc.paths as Record<string, Doc>)) {
      for (const [method, operation] of Object.entries(operations as Record<string, Doc>)) {
        documented.push(`${method.toUpperCase()} ${path} ${operation.operationId}`)
      }
    }
    expect(documented.sort()).toEqual(
      routes.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort(),
    )
    const ids = routes.map((r) => r.operationId)
    expect(new Set(ids).size).toBe(ids.length)
  })

  it('documents each route’s success status, its parameters, and its errors as problem+json', async () => {
    const { env, doc } = await served()
    for (const route of createRoutes(env.hooks)) {
      const operation = doc.paths[route.path][route.method.toLowerCase()]
      const name = `${route.method} ${route.path}`
      expect(Object.keys(operation.responses), name).toContain(String(route.success.status))
      const pathParameters = (operation.parameters ?? [])
        .filter((p: { in: string }) => p.in === 'path')
        .map((p: { name: string }) => p.name)
      expect(pathParameters, name).toEqual([...route.path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]))
      for (const [status, response] of Object.entries(operation.responses as Record<string, Doc>)) {
        if (Number(status) < 400) continue
        expect(Object.keys(response.content), `${name} ${status}`).toEqual([
          'application/problem+json',
        ])
      }
      // 400 where there is input to refuse, and only there.
      expect(Object.hasOwn(operation.responses, '400'), name).toBe(
        Boolean(route.query || route.body),
      )
      if (route.auth === 'public') {
        expect(operation.security, name).toEqual([])
      } else {
        expect(operation.responses, name).toHaveProperty('401')
      }
      if (route.body) {
        expect(operation.requestBody.content, name).toHaveProperty('application/json')
        expect(operation.responses, name).toHaveProperty('413')
        expect(operation.responses, name).toHaveProperty('415')
      }
    }
  })

  it('resolves every $ref within the document', async () => {
    const { doc } = await served()
    const refs = refsIn(doc)
    expect(refs.length).toBeGreaterThan(0)
    const unresolved = refs.filter(({ ref }) => resolve(doc, ref) === undefined)
    expect(unresolved).toEqual([])
    const validator = new Validator()
    await validator.validate(doc)
    expect(() => validator.resolveRefs()).not.toThrow()
  })

  it.each([
    { basePath: '/api', server: '/api' },
    { basePath: '/hooks/v1/', server: '/hooks/v1' },
    { basePath: '', server: '/' },
  ])(
    'is served under basePath "$basePath" with servers [{url: "$server"}]',
    async ({ basePath, server }) => {
      const env = await bookstoreHooks()
      opened.push(env)
      const api = env.hooks.api({ authenticate: () => null, basePath })
      const response = await api(new Request(`http://x${server.replace(/\/$/, '')}/openapi.json`))
      expect(response.status).toBe(200)
      const doc = (await response.json()) as Doc
      expect(doc.servers).toEqual([{ url: server }])
      expect(Object.keys(doc.paths)).toContain('/hooks/{id}')
      const validation = await new Validator().validate(doc)
      expect(validation.valid).toBe(true)
    },
  )
})
