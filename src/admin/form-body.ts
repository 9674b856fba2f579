import { readBodyBytes } from '../http/request-body.ts'

/** A form body that cannot be read; `status` is the page's status (413, 415). */
export class FormBodyError extends Error {
  readonly status: number
  constructor(status: number, message: string) {
    super(message)
    this.status = status
  }
}

/** The largest form the dashboard reads: a template (64 KiB) and sample data, with room. */
export const MAX_FORM_BYTES = 640 * 1024

/**
 * Reads an `application/x-www-form-urlencoded` body (what the dashboard's forms and its script
 * send), at most `maxBytes`: a larger one is refused without being read to its end.
 */
export async function readForm(
  request: Request,
  maxBytes = MAX_FORM_BYTES,
): Promise<URLSearchParams> {
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/x-www-form-urlencoded') {
    await request.body?.cancel().catch(() => {})
    throw new FormBodyError(415, 'send the form as application/x-www-form-urlencoded')
  }
  const bytes = await readBodyBytes(
    request,
    maxBytes,
    () => new FormBodyError(413, `the form is larger than ${maxBytes} bytes`),
  )
  return parseForm(bytes.toString('utf8'))
}

/**
 * The fields of a form body. A browser percent-encodes `{`, so a body that starts with one is
 * what the Express adapter rebuilds when a body parser (`express.urlencoded()`) read the form
 * first: its JSON object is taken as the fields.
 */
function parseForm(text: string): URLSearchParams {
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as unknown
      if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
        const form = new URLSearchParams()
        for (const [name, value] of Object.entries(parsed)) {
          for (const item of Array.isArray(value) ? value : [value]) {
            if (typeof item === 'string') form.append(name, item)
          }
        }
        return form
      }
    } catch {
      // Not JSON: read it as the form it claims to be.
    }
  }
  return new URLSearchParams(text)
}

/** A form field's value, '' when absent. */
export function field(form: URLSearchParams, name: string): string {
  return form.get(name) ?? ''
}

/** The names of the fields whose values hold NUL, which no stored text may contain. */
export function fieldsWithNul(form: URLSearchParams): string[] {
  const names: string[] = []
  for (const [name, value] of form) {
    if ((value.includes('\u0000') || name.includes('\u0000')) && !names.includes(name)) {
      names.push(name)
    }
  }
  return names
}
