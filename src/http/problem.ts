import type { FieldError } from '../errors.ts'

/**
 * The kinds of error the API answers with, each with a stable `type` URI (RFC 9457), its status
 * and title.
 */
export const PROBLEMS = {
  'invalid-json': { status: 400, title: 'The request body is not valid JSON' },
  validation: { status: 400, title: 'The request has invalid fields' },
  'invalid-event': { status: 400, title: 'The event cannot be dispatched' },
  unauthenticated: { status: 401, title: 'Missing or invalid credentials' },
  forbidden: { status: 403, title: 'These credentials cannot do this' },
  'not-found': { status: 404, title: 'Not found' },
  'method-not-allowed': { status: 405, title: 'Method not allowed' },
  'payload-too-large': { status: 413, title: 'The request body is too large' },
  'unsupported-media-type': { status: 415, title: 'The request body must be JSON' },
  internal: { status: 500, title: 'Internal error' },
} as const

export type ProblemKind = keyof typeof PROBLEMS

/** A problem type's URI. */
export function problemType(kind: ProblemKind): string {
  return `urn:resthooks:problem:${kind}`
}

/** An `application/problem+json` response. */
export function problem(
  kind: ProblemKind,
  detail: string,
  extra: { errors?: readonly FieldError[]; headers?: Record<string, string> } = {},
): Response {
  const { status, title } = PROBLEMS[kind]
  const body = {
    type: problemType(kind),
    title,
    status,
    detail,
    ...(extra.errors ? { errors: extra.errors } : {}),
  }
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/problem+json', ...extra.headers },
  })
}

/** A JSON response. */
export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  })
}
