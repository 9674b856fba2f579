import type { FieldError } from '../errors.ts'
import { CONTENT_TYPES } from '../payloads/content-type.ts'
import type { Subscription } from '../subscriptions/subscription.ts'
import { field } from './form-body.ts'

/** The subscription form's fields, as the operator typed them. */
export interface SubscriptionFormValues {
  owner: string
  event: string
  target: string
  method: string
  contentType: string
  payload: string
  hmacDigest: string
  /** `Name: value`, one a line. */
  headers: string
  /** JSON, or empty for none. */
  filter: string
  /** Mustache, or empty for the content type's default body. */
  template: string
  /** JSON object, or empty for `{}`. */
  metadata: string
  active: boolean
  /** Sample event data for the preview (JSON); not saved. */
  sample: string
}

/** The form's labels, by field, for the error summary. */
export const FIELD_LABELS: Record<string, string> = {
  owner: 'Owner',
  event: 'Event',
  target: 'Target URL',
  method: 'Method',
  contentType: 'Content type',
  payload: 'Payload',
  hmacDigest: 'Hook-HMAC',
  headers: 'Headers',
  filter: 'Filter',
  template: 'Template',
  metadata: 'Metadata',
  active: 'Active',
  sample: 'Sample data',
}

/** The values of a blank form. */
export function blankForm(): SubscriptionFormValues {
  return {
    owner: '',
    event: '',
    target: '',
    method: 'POST',
    contentType: 'application/json',
    payload: 'full',
    hmacDigest: '',
    headers: '',
    filter: '',
    template: '',
    metadata: '',
    active: true,
    sample: '',
  }
}

/** The form's values for an existing subscription. */
export function formOf(subscription: Subscription): SubscriptionFormValues {
  const metadata = subscription.metadata
  return {
    owner: subscription.owner,
    event: subscription.event,
    target: subscription.target,
    method: subscription.method,
    contentType: subscription.contentType,
    payload: subscription.payload,
    hmacDigest: subscription.hmacDigest ?? '',
    headers: Object.entries(subscription.headers)
      .map(([name, value]) => `${name}: ${value}`)
      .join('\n'),
    filter: subscription.filter === null ? '' : JSON.stringify(subscription.filter, null, 2),
    template: subscription.template ?? '',
    metadata: Object.keys(metadata).length === 0 ? '' : JSON.stringify(metadata, null, 2),
    active: subscription.active,
    sample: '',
  }
}

/** The form's values from a posted form. */
export function readSubscriptionForm(form: URLSearchParams): SubscriptionFormValues {
  return {
    owner: field(form, 'owner'),
    event: field(form, 'event').trim(),
    target: field(form, 'target').trim(),
    method: field(form, 'method'),
    contentType: field(form, 'contentType'),
    payload: field(form, 'payload'),
    hmacDigest: field(form, 'hmacDigest'),
    headers: field(form, 'headers'),
    filter: field(form, 'filter'),
    template: field(form, 'template'),
    metadata: field(form, 'metadata'),
    active: form.get('active') === 'on',
    sample: field(form, 'sample'),
  }
}

/**
 * The input of `hooks.subscribe()` (with `owner` and `active`) or `hooks.updateSubscription()`
 * that the form stands for, with the problems only the form can have (a header line without a
 * colon, JSON that does not parse). Everything else is checked by the same validation as the
 * API's, when the input is saved.
 */
export function toSubscriptionInput(
  values: SubscriptionFormValues,
  mode: 'create' | 'edit',
): { input: Record<string, unknown>; errors: FieldError[] } {
  const errors: FieldError[] = []
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === 'string' && value.includes('\u0000')) {
      errors.push({ field: name, message: 'must not contain NUL (\\u0000) characters' })
    }
  }
  const headers = parseHeaderLines(values.headers, errors)
  const filter = parseJsonField(values.filter, 'filter', errors)
  const metadata = parseJsonField(values.metadata, 'metadata', errors)
  const metadataIsObject =
    metadata !== null && typeof metadata === 'object' && !Array.isArray(metadata)
  if (metadata !== null && !metadataIsObject) {
    errors.push({ field: 'metadata', message: 'must be a JSON object, e.g. {"plan": "pro"}' })
  }
  const input: Record<string, unknown> = {
    event: values.event,
    target: values.target,
    method: values.method,
    contentType: values.contentType,
    payload: values.payload,
    hmacDigest: values.hmacDigest === '' ? null : values.hmacDigest,
    headers,
    filter,
    template: values.template.trim() === '' ? null : values.template,
    metadata: metadataIsObject ? metadata : {},
  }
  if (mode === 'create') {
    input.owner = values.owner
    input.active = values.active
  }
  return { input, errors }
}

function parseHeaderLines(text: string, errors: FieldError[]): Record<string, string> {
  const headers: Record<string, string> = {}
  const lines = text.split(/\r?\n/)
  lines.forEach((line, index) => {
    if (line.trim() === '') return
    const colon = line.indexOf(':')
    if (colon <= 0) {
      errors.push({
        field: 'headers',
        message: `line ${index + 1} is not 'Name: value'`,
      })
      return
    }
    const name = line.slice(0, colon).trim()
    const value = line.slice(colon + 1).trim()
    if (Object.hasOwn(headers, name)) {
      errors.push({ field: 'headers', message: `header '${name}' is given twice` })
      return
    }
    headers[name] = value
  })
  return headers
}

function parseJsonField(text: string, name: string, errors: FieldError[]): unknown {
  if (text.trim() === '') return null
  try {
    return JSON.parse(text) as unknown
  } catch (error) {
    errors.push({ field: name, message: `is not valid JSON (${(error as Error).message})` })
    return null
  }
}

/**
 * A validation error's field as a form field: `headers.X-Token` is the headers field,
 * `filter.pages.gt` the filter's.
 */
export function formFieldOf(error: FieldError): FieldError {
  const [first, ...rest] = error.field.split('.')
  const name = first ?? ''
  if (!Object.hasOwn(FIELD_LABELS, name)) return error
  const where = rest.length > 0 ? `${rest.join('.')}: ` : ''
  return { field: name, message: `${where}${error.message}` }
}

/** The content types offered by the form. */
export const CONTENT_TYPE_OPTIONS = CONTENT_TYPES.map((value) => ({ value, label: value }))
