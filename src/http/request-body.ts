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
 * Reads a JSON request body of at most `maxBytes`: 415 for another content type, 413 when too
 * large (counted as it streams in, whatever Content-Length says), 400 for invalid JSON. An empty
 * body reads as `undefined`.
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > maxBytes) throw tooLarge(maxBytes)
  if (!request.body) return undefined
  const chunks: Uint8Array[] = []
  let size = 0
  const reader = request.body.getReader()
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel().catch(() => {})
      throw tooLarge(maxBytes)
    }
    chunks.push(value)
  }
  if (size === 0) return undefined
  const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase()
  if (type !== 'application/json' && !type?.endsWith('+json')) {
    throw new ProblemResponse(
      problem(
        'unsupported-media-type',
        `send the body as application/json (got ${type ? `'${type}'` : 'no content type'})`,
      ),
    )
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks))
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    throw new ProblemResponse(problem('invalid-json', (error as Error).message))
  }
}

function tooLarge(maxBytes: number): ProblemResponse {
  return new ProblemResponse(
    problem('payload-too-large', `the body must be at most ${maxBytes} bytes`),
  )
}
