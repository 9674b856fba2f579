import type { HookInfo } from './serialize.ts'

/** The stored event an envelope is rendered from. */
export interface EnvelopeEvent {
  name: string
  /** unix ms of the occurrence */
  created_at: number
  /** the event's `data` as JSON text */
  data: string
  ref: string | null
}

/**
 * The default delivery body, compatible with django-rest-hooks receivers (`hook`, `data`) and
 * Standard Webhooks (`type`, `timestamp`, `data`):
 * `{"type", "timestamp", "hook": {id, event, target}, "data", "ref"?}`.
 * `thin` carries only `data.id`, for subscribers that fetch the resource (`ref`) themselves.
 *
 * Built as text around the stored `data` so that a delivery never re-parses its payload.
 */
export function renderEnvelope(
  event: EnvelopeEvent,
  hook: HookInfo,
  payload: 'full' | 'thin',
): string {
  const data = payload === 'thin' ? thinData(event.data) : event.data
  const ref = event.ref === null ? '' : `,"ref":${JSON.stringify(event.ref)}`
  return `{"type":${JSON.stringify(event.name)},"timestamp":"${new Date(event.created_at).toISOString()}","hook":${JSON.stringify({ id: hook.id, event: hook.event, target: hook.target })},"data":${data}${ref}}`
}

function thinData(data: string): string {
  const parsed = JSON.parse(data) as unknown
  const id =
    parsed !== null && typeof parsed === 'object' && 'id' in parsed
      ? (parsed as { id: unknown }).id
      : null
  return JSON.stringify({ id: id ?? null })
}
