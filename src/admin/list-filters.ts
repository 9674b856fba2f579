import type { FieldError } from '../errors.ts'
import { hasControlCharacters } from '../events/owner.ts'
import type { AdminDeliveryQuery, AdminSubscriptionQuery } from '../store/admin-queries.ts'
import { parseTimeInput } from './format.ts'

/** A list page's filters: the query for the store, the values as typed, and what is wrong. */
export interface ListFilters<Q> {
  query: Omit<Q, 'limit'>
  /** Every filter as given (to fill the form and build the next page's link). */
  values: Record<string, string>
  errors: FieldError[]
}

/** Rows per page of the dashboard's lists. */
export const PAGE_SIZE = 50

function read(url: URL, names: readonly string[], errors: FieldError[]): Record<string, string> {
  const values: Record<string, string> = {}
  for (const name of names) {
    const value = (url.searchParams.get(name) ?? '').trim()
    if (value.length > 2048) errors.push({ field: name, message: 'is too long' })
    else if (hasControlCharacters(value)) {
      errors.push({ field: name, message: 'must not contain control characters' })
    } else values[name] = value
  }
  return values
}

/** `?owner=&status=&event=&target=&before=` of the subscription list. */
export function subscriptionFilters(url: URL): ListFilters<AdminSubscriptionQuery> {
  const errors: FieldError[] = []
  const values = read(url, ['owner', 'status', 'event', 'target', 'before'], errors)
  const query: Omit<AdminSubscriptionQuery, 'limit'> = {}
  if (values.owner) query.owner = values.owner
  if (values.status) {
    if (values.status === 'active' || values.status === 'disabled') query.status = values.status
    else errors.push({ field: 'status', message: "must be 'active' or 'disabled'" })
  }
  if (values.event) query.event = values.event
  if (values.target) query.target = values.target
  if (values.before) query.before = values.before
  return { query, values, errors }
}

/** `?owner=&subscription=&status=&event=&from=&to=&before=` of the delivery log. */
export function deliveryFilters(url: URL): ListFilters<AdminDeliveryQuery> {
  const errors: FieldError[] = []
  const values = read(
    url,
    ['owner', 'subscription', 'status', 'event', 'from', 'to', 'before'],
    errors,
  )
  const query: Omit<AdminDeliveryQuery, 'limit'> = {}
  if (values.owner) query.owner = values.owner
  if (values.subscription) query.subscriptionId = values.subscription
  if (values.status) {
    const status = values.status
    if (status === 'pending' || status === 'succeeded' || status === 'failed') query.status = status
    else errors.push({ field: 'status', message: "must be 'pending', 'succeeded' or 'failed'" })
  }
  if (values.event) query.event = values.event
  for (const name of ['from', 'to'] as const) {
    const text = values[name]
    if (!text) continue
    const ms = parseTimeInput(text)
    if (ms === null) {
      errors.push({ field: name, message: 'must be a time such as 2026-11-22T10:00 (UTC)' })
    } else query[name] = ms
  }
  if (query.from !== undefined && query.to !== undefined && query.from >= query.to) {
    errors.push({ field: 'to', message: 'must be after From' })
  }
  if (values.before) query.before = values.before
  return { query, values, errors }
}

/** A list page's URL with these filters (empty ones left out) and `changes` applied. */
export function listUrl(
  path: string,
  values: Record<string, string>,
  changes: Record<string, string | null> = {},
): string {
  const params = new URLSearchParams()
  for (const [name, value] of Object.entries({ ...values, ...changes })) {
    if (value) params.set(name, value)
  }
  const query = params.toString()
  return query ? `${path}?${query}` : path
}
