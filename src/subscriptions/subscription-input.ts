import { z } from 'zod'
import { type FieldError, ValidationError } from '../errors.ts'
import { hasControlCharacters } from '../events/owner.ts'
import { CONTENT_TYPES } from '../payloads/content-type.ts'
import { TEMPLATE_LIMITS } from '../payloads/template.ts'
import { filterProblems } from './filter.ts'

/** Headers that resthooks sets itself or that HTTP reserves; a subscription cannot set them. */
const RESERVED_HEADERS = new Set([
  'host',
  'content-length',
  'content-type',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'te',
  'trailer',
  'expect',
  'user-agent',
  'proxy-authorization',
  'proxy-connection',
])
const RESERVED_PREFIXES = ['webhook-', 'hook-', 'proxy-', 'sec-', ':']
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/
// Header values: visible characters, spaces, tabs and Latin-1 (RFC 9110 obs-text); never CR, LF
// or NUL, and nothing above U+00FF, which HTTP cannot carry (undici refuses to send it).
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/

const MAX_TARGET_LENGTH = 2048
const MAX_HEADERS = 32
const MAX_HEADER_VALUE_LENGTH = 4096
const MAX_METADATA_BYTES = 16 * 1024

const target = z
  .string()
  .max(MAX_TARGET_LENGTH)
  .superRefine((value, ctx) => {
    const problem = targetProblem(value)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })

const headers = z.record(z.string(), z.string()).superRefine((value, ctx) => {
  const names = Object.keys(value)
  if (names.length > MAX_HEADERS) {
    ctx.addIssue({ code: 'custom', message: `at most ${MAX_HEADERS} headers` })
  }
  const seen = new Set<string>()
  for (const name of names) {
    const problem = seen.has(name.toLowerCase())
      ? `header '${name}' is given twice (header names are case-insensitive)`
      : headerProblem(name, value[name] ?? '')
    seen.add(name.toLowerCase())
    if (problem) ctx.addIssue({ code: 'custom', message: problem, path: [name] })
  }
})

const metadata = z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_METADATA_BYTES) {
    ctx.addIssue({ code: 'custom', message: `must be at most ${MAX_METADATA_BYTES} bytes as JSON` })
  }
})

const filter = z
  .record(z.string(), z.unknown())
  .nullable()
  .superRefine((value, ctx) => {
    if (value === null) return
    for (const problem of filterProblems(value)) {
      // Problems name their place from `filter`; the issue's path is relative to it.
      const path = problem.field.split('.').slice(1)
      ctx.addIssue({ code: 'custom', message: problem.message, path })
    }
  })

const changeable = {
  event: z.string().min(1).max(64),
  target,
  active: z.boolean(),
  method: z.enum(['POST', 'PUT', 'PATCH']),
  headers,
  payload: z.enum(['full', 'thin']),
  hmacDigest: z.enum(['sha1', 'sha256', 'sha512']).nullable(),
  metadata,
  contentType: z.enum(CONTENT_TYPES),
  /** Checked against the content type by `templateProblem` once both are known. */
  template: z.string().min(1).max(TEMPLATE_LIMITS.maxTemplateBytes).nullable(),
  filter,
}

/** What `subscribe()` accepts. Unknown fields are refused, so a typo is never silently ignored. */
export const subscribeInput = z.strictObject({
  owner: z
    .string()
    .min(1)
    .max(255)
    .refine((owner) => !hasControlCharacters(owner), 'must not contain control characters'),
  ...changeable,
  active: changeable.active.optional(),
  method: changeable.method.optional(),
  headers: changeable.headers.optional(),
  payload: changeable.payload.optional(),
  hmacDigest: changeable.hmacDigest.optional(),
  metadata: changeable.metadata.optional(),
  contentType: changeable.contentType.optional(),
  template: changeable.template.optional(),
  filter: changeable.filter.optional(),
})

/** What `updateSubscription()` accepts: any of the changeable fields. */
export const updateInput = z.strictObject(changeable).partial()

export type SubscribeInput = z.infer<typeof subscribeInput>
export type UpdateInput = z.infer<typeof updateInput>

/** Parses `input` with `schema`, or throws a ValidationError listing every invalid field. */
export function parseInput<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input)
  if (result.success) return result.data
  throw new ValidationError(result.error.issues.map(toFieldError))
}

function toFieldError(issue: z.core.$ZodIssue): FieldError {
  if (issue.code === 'unrecognized_keys') {
    return { field: issue.keys.join(', '), message: 'unknown field' }
  }
  return { field: issue.path.map(String).join('.'), message: issue.message }
}

/** Why `value` cannot be a target URL, or null. */
export function targetProblem(value: string): string | null {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    return 'must be an absolute http:// or https:// URL'
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `scheme '${url.protocol.slice(0, -1)}' is not allowed; use http or https`
  }
  if (url.hostname === '') return 'must have a host'
  if (url.username !== '' || url.password !== '') {
    return 'must not hold credentials; send them in a header such as authorization instead'
  }
  return null
}

/** Why a custom header cannot be sent, or null. */
export function headerProblem(name: string, value: string): string | null {
  if (!TOKEN.test(name)) return `header name '${name}' is not a valid HTTP header name`
  const lower = name.toLowerCase()
  if (RESERVED_HEADERS.has(lower) || RESERVED_PREFIXES.some((p) => lower.startsWith(p))) {
    return `header '${name}' is reserved and cannot be set`
  }
  if (!HEADER_VALUE.test(value)) {
    return `header '${name}' has a value with characters HTTP cannot carry (CR, LF, NUL and other control characters, or characters above U+00FF)`
  }
  if (value.length > MAX_HEADER_VALUE_LENGTH) {
    return `header '${name}' is longer than ${MAX_HEADER_VALUE_LENGTH} characters`
  }
  return null
}
