import { EventError } from '../errors.ts'

/**
 * Shapes a model instance into the `data` of its events (drf-hooks' `HOOK_SERIALIZERS`).
 *
 * @example serializers: { Book: (book) => ({ id: book.id, title: book.title }) }
 */
export type Serializer = (
  // biome-ignore lint/suspicious/noExplicitAny: serializers receive the application's own model types
  instance: any,
  context: { model: string; action: string; event: string },
) => unknown

/** The subscription fields a `toHookPayload(hook)` method receives (django-rest-hooks' `serialize_hook`). */
export interface HookInfo {
  id: string
  event: string
  target: string
}

/** An instance that shapes its own delivery body: the return value is the whole body. */
export interface HookPayloadSource {
  toHookPayload(hook: HookInfo): unknown
}

export function hasHookPayload(instance: unknown): instance is HookPayloadSource {
  return (
    instance !== null &&
    typeof instance === 'object' &&
    typeof (instance as HookPayloadSource).toHookPayload === 'function'
  )
}

/**
 * JSON text of `value`: dates as ISO strings (their `toJSON`), bigints as strings, functions and
 * undefined fields left out. A value that JSON cannot represent (a cycle) is an EventError
 * naming `what`.
 */
export function toJsonText(value: unknown, what: string): string {
  let text: string | undefined
  try {
    text = JSON.stringify(value, (_key, v) => (typeof v === 'bigint' ? v.toString() : v))
  } catch (error) {
    throw new EventError(`${what} cannot be serialized to JSON: ${(error as Error).message}`)
  }
  return text ?? 'null'
}
