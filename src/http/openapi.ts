import { z } from 'zod'
import { VERSION } from '../version.ts'
import { PROBLEMS } from './problem.ts'
import type { Route } from './route.ts'
import { problemSchema } from './schemas.ts'

type JsonSchema = Record<string, unknown>

/**
 * The OpenAPI 3.1 document of the API, generated from the routes and their zod schemas (the
 * same ones that validate requests), so that it cannot drift from what the handler does.
 */
export function createOpenApiDocument(routes: readonly Route[], basePath: string) {
  const components: Record<string, JsonSchema> = {}
  // zod puts named schemas under $defs; in OpenAPI they are components.
  const convert = (schema: z.ZodType, io: 'input' | 'output'): JsonSchema => {
    const {
      $defs,
      $schema: _dialect,
      ...json
    } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      unrepresentable: 'any',
      io,
    }) as JsonSchema & { $defs?: Record<string, JsonSchema> }
    for (const [name, def] of Object.entries($defs ?? {})) components[name] = relink(def)
    return relink(json)
  }
  const problemRef = convert(problemSchema, 'output')

  const paths: Record<string, Record<string, unknown>> = {}
  for (const route of routes) {
    const parameters: unknown[] = [...route.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => ({
      name,
      in: 'path',
      required: true,
      schema: { type: 'string' },
    }))
    if (route.query) {
      const query = convert(route.query, 'input') as { properties?: Record<string, JsonSchema> }
      for (const [name, schema] of Object.entries(query.properties ?? {})) {
        const { description, ...rest } = schema
        parameters.push({ name, in: 'query', required: false, schema: rest, description })
      }
    }
    const errors = [
      ...(route.query || route.body ? [400] : []),
      ...(route.auth === 'public' ? [] : [401]),
      ...(route.body ? [413, 415] : []),
      ...(route.errors ?? []),
    ]
    const responses: Record<string, unknown> = {
      [route.success.status]: {
        description: route.success.description,
        ...(route.success.schema
          ? { content: { 'application/json': { schema: convert(route.success.schema, 'output') } } }
          : {}),
      },
    }
    for (const status of errors.sort((a, b) => a - b)) {
      const kind = Object.values(PROBLEMS).find((p) => p.status === status)
      responses[status] = {
        description:
          status === 400
            ? 'The request is invalid: bad JSON, fields or query parameters'
            : (kind?.title ?? 'Error'),
        content: { 'application/problem+json': { schema: problemRef } },
      }
    }
    paths[route.path] ??= {}
    const operations = paths[route.path] as Record<string, unknown>
    operations[route.method.toLowerCase()] = {
      operationId: route.operationId,
      summary: route.summary,
      security: route.auth === 'public' ? [] : [{ bearer: [] }],
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(route.body
        ? {
            requestBody: {
              required: true,
              content: { 'application/json': { schema: convert(route.body, 'input') } },
            },
          }
        : {}),
      responses,
    }
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'resthooks',
      version: VERSION,
      description:
        'REST Hooks: subscribe URLs to events, and read the delivery log. Every route acts for the owner the credentials name.',
    },
    servers: [{ url: basePath === '' ? '/' : basePath }],
    security: [{ bearer: [] }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      schemas: components,
    },
  }
}

function relink(schema: JsonSchema): JsonSchema {
  return JSON.parse(
    JSON.stringify(schema).replaceAll('"#/$defs/', '"#/components/schemas/'),
  ) as JsonSchema
}
