import { problem } from './problem.ts'

/** Thrown to answer at once with a problem response. */
export class ProblemResponse extends Error {
  readonly response: Response
  constructor(response: Response) {
    super('problem response')
    this.response = response
  }
}

/**
 * How deeply a request body may nest arrays and objects. Deeper JSON is refused with a 400:
 * the engine serializes payloads recursively, and `[[[[…]]]]` within the size limit would
 * otherwise overflow the stack.
 */
export const MAX_JSON_DEPTH = 100

/**
 * Reads a request body of at most `maxBytes`, counted as it streams in whatever Content-Length
 * says; a larger one (or one that declares itself larger) is refused with `tooLarge()` without
 * being read to its end.
 */
export async function readBodyBytes(
  request: Request,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (Number.isFinite(declared) && declared > maxBytes) {
    await request.body?.cancel().catch(() => {})
    throw tooLarge()
  }
  const chunks: Uint8Array[] = []
  let size = 0
  if (request.body) {
    const reader = request.body.getReader()
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      size += value.byteLength
      if (size > maxBytes) {
        await reader.cancel().catch(() => {})
        throw tooLarge()
      }
      chunks.push(value)
    }
  }
  return Buffer.concat(chunks)
}

/**
 * Reads a JSON request body of at most `maxBytes`: 415 for another content type, 413 when too
 * large (counted as it streams in, whatever Content-Length says), 400 for invalid JSON or JSON
 * nested deeper than MAX_JSON_DEPTH. An empty body reads as `undefined`.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = await readBodyBytes(request, maxBytes, () => tooLarge(maxBytes))
  if (bytes.byteLength === 0) return undefined
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    throw new ProblemResponse(
      problem(
        'unsupported-media-type',
        `send the body as application/json (got ${type ? `'${type}'` : 'no content type'})`,
      ),
    )
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(bytes)
  let value: unknown
  try {
    value = JSON.parse(text) as unknown
  } catch (error) {
    throw new ProblemResponse(problem('invalid-json', (error as Error).message))
  }
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) {
    const message = `JSON nested deeper than ${MAX_JSON_DEPTH} levels is not accepted`
    throw new ProblemResponse(problem('validation', message, { errors: [{ field: '', message }] }))
  }
  return value
}

/** Whether the arrays and objects of valid JSON `text` nest deeper than `max`. */
function nestsDeeperThan(text: string, max: number): boolean {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c)
        i++ // a backslash escapes the next character
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      depth++
      if (depth > max) return true
    } else if (c === 0x5d || c === 0x7d) depth--
  }
  return false
}

function tooLarge(maxBytes: number): ProblemResponse {
  return new ProblemResponse(
    problem('payload-too-large', `the body must be at most ${maxBytes} bytes`),
  )
}
