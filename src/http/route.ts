import type { z } from 'zod'

export type HttpVerb = 'GET' | 'POST' | 'PATCH' | 'DELETE'

/** Who may call a route: an owner (the `authenticate` option) or the event producer. */
export type RouteAuth = 'owner' | 'producer' | 'public'

/** What a route handler gets: the authenticated owner, path parameters, validated input. */
export interface RouteContext<Q, B> {
  owner: string
  params: Record<string, string>
  query: Q
  body: B
  /** The path the API is mounted under, for Location headers. */
  basePath: string
}

/** One route: its handler, and what the OpenAPI document says of it. */
export interface Route<Q = unknown, B = unknown> {
  method: HttpVerb
  /** With `{name}` parameters, e.g. `/hooks/{id}`. */
  path: string
  operationId: string
  summary: string
  auth: RouteAuth
  query?: z.ZodType<Q>
  body?: z.ZodType<B>
  /** The status of success and its body schema (none for 204). */
  success: { status: number; description: string; schema?: z.ZodType }
  /** Statuses of errors this route may answer with besides 400/401/413/415. */
  errors?: number[]
  handle(context: RouteContext<Q, B>): Promise<Response>
}

/** Declares a route with its input types inferred from its schemas. */
export function route<Q = undefined, B = undefined>(definition: Route<Q, B>): Route {
  return definition as unknown as Route
}

/** A matcher for a route path: the parameters of a matching pathname, or null. */
export function compilePath(path: string): (pathname: string) => Record<string, string> | null {
  const names: string[] = []
  const pattern = path.replace(/\{(\w+)\}/g, (_all, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  const regex = new RegExp(`^${pattern}/?$`)
  return (pathname) => {
    const match = regex.exec(pathname)
    if (!match) return null
    const params: Record<string, string> = {}
    names.forEach((name, i) => {
      params[name] = safeDecode(match[i + 1] ?? '')
    })
    return params
  }
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    return value
  }
}
