import type { FieldError } from '../../errors.ts'
import { formatDuration, formatRelative, formatTime } from '../format.ts'
import { type HtmlValue, html, type SafeHtml } from '../html.ts'

/** A `<time>` with the UTC time, and how long ago it was. */
export function timeText(ms: number | null, now?: number): SafeHtml | string {
  if (ms === null) return '—'
  const iso = new Date(ms).toISOString()
  const relative = now === undefined ? '' : ` (${formatRelative(ms, now)})`
  return html`<time datetime="${iso}">${formatTime(ms)}</time>${relative}`
}

/** A subscription's status as a badge that says it in words. */
export function subscriptionBadge(status: string, failingSince: number | null): SafeHtml {
  if (status === 'disabled') return html`<span class="badge badge-bad">disabled</span>`
  if (failingSince !== null) return html`<span class="badge badge-warn">failing</span>`
  return html`<span class="badge badge-ok">active</span>`
}

/** A delivery's status as a badge. */
export function deliveryBadge(status: string): SafeHtml {
  const style = status === 'succeeded' ? 'ok' : status === 'failed' ? 'bad' : 'neutral'
  return html`<span class="badge badge-${style}">${status}</span>`
}

/** An HTTP status or an error, as a badge. */
export function outcomeBadge(status: number | null, error: string | null): SafeHtml {
  if (status !== null) {
    const ok = status >= 200 && status < 300
    return html`<span class="badge badge-${ok ? 'ok' : 'bad'}">HTTP ${status}</span>`
  }
  return error === null ? html`—` : html`<span class="badge badge-bad">no response</span>`
}

/** Headers as a two-column table; `—` for none. */
export function headersTable(headers: Record<string, string> | null, caption: string): SafeHtml {
  const entries = Object.entries(headers ?? {})
  if (entries.length === 0) return html`<p class="muted">No ${caption.toLowerCase()}.</p>`
  return html`<div class="table-scroll"><table>
    <caption class="visually-hidden">${caption}</caption>
    <thead><tr><th scope="col">Name</th><th scope="col">Value</th></tr></thead>
    <tbody>${entries.map(
      ([name, value]) =>
        html`<tr><td class="mono">${name}</td><td class="mono wrap">${value}</td></tr>`,
    )}</tbody>
  </table></div>`
}

/** JSON text indented for reading (as it is when it does not parse). */
export function prettyJson(text: string | null): string {
  if (text === null) return ''
  try {
    return JSON.stringify(JSON.parse(text), null, 2)
  } catch {
    return text
  }
}

/** At most `max` characters of `text`, saying when some were left out. */
export function clip(text: string, max: number): string {
  return text.length <= max
    ? text
    : `${text.slice(0, max)}\n… (${text.length - max} more characters)`
}

/** The box that lists a form's errors, each linking to its field. */
export function errorSummary(
  errors: readonly FieldError[],
  labels: Record<string, string> = {},
): SafeHtml | '' {
  if (errors.length === 0) return ''
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary">
    <h2>${errors.length === 1 ? 'There is a problem' : `There are ${errors.length} problems`}</h2>
    <ul>${errors.map((error) => {
      const label = labels[error.field]
      if (label === undefined) {
        const text = error.field === '' ? error.message : `${error.field}: ${error.message}`
        return html`<li>${text}</li>`
      }
      return html`<li><a href="#field-${error.field}">${label}: ${error.message}</a></li>`
    })}</ul>
  </div>`
}

/** The attributes and messages of one form field. */
export interface FieldView {
  name: string
  label: string
  value: string
  hint?: HtmlValue
  error?: string | undefined
  required?: boolean
}

function described(field: FieldView): {
  attrs: SafeHtml
  hint: SafeHtml | ''
  error: SafeHtml | ''
} {
  const id = `field-${field.name}`
  const ids = [field.hint ? `${id}-hint` : '', field.error ? `${id}-error` : ''].filter(Boolean)
  return {
    attrs: html` id="${id}" name="${field.name}"${ids.length ? html` aria-describedby="${ids.join(' ')}"` : ''}${field.error ? html` aria-invalid="true"` : ''}${field.required ? html` required` : ''}`,
    hint: field.hint ? html`<p class="hint" id="${id}-hint">${field.hint}</p>` : '',
    error: field.error ? html`<p class="field-error" id="${id}-error">${field.error}</p>` : '',
  }
}

/** A labelled text input. */
export function textInput(
  field: FieldView & {
    type?: 'text' | 'url' | 'password' | 'datetime-local' | 'search'
    list?: string
    autocomplete?: string
  },
): SafeHtml {
  const { attrs, hint, error } = described(field)
  return html`<div class="field">
    <label for="field-${field.name}">${field.label}</label>${hint}${error}
    <input type="${field.type ?? 'text'}"${attrs} value="${field.value}"${field.list ? html` list="${field.list}"` : ''} autocomplete="${field.autocomplete ?? 'off'}" spellcheck="false">
  </div>`
}

/** A labelled textarea (monospace). */
export function textArea(field: FieldView & { rows?: number }): SafeHtml {
  const { attrs, hint, error } = described(field)
  return html`<div class="field">
    <label for="field-${field.name}">${field.label}</label>${hint}${error}
    <textarea${attrs} rows="${field.rows ?? 5}" spellcheck="false">${field.value}</textarea>
  </div>`
}

/** A labelled select. */
export function selectInput(
  field: FieldView & { options: readonly { value: string; label: string }[] },
): SafeHtml {
  const { attrs, hint, error } = described(field)
  return html`<div class="field">
    <label for="field-${field.name}">${field.label}</label>${hint}${error}
    <select${attrs}>${field.options.map(
      (option) =>
        html`<option value="${option.value}"${option.value === field.value ? html` selected` : ''}>${option.label}</option>`,
    )}</select>
  </div>`
}

/** A `<datalist>` of suggestions. */
export function dataList(id: string, values: readonly string[]): SafeHtml {
  return html`<datalist id="${id}">${values.map((v) => html`<option value="${v}"></option>`)}</datalist>`
}

/** `12 ms` for a duration. */
export const durationText = formatDuration

/**
 * An error that says more than the status beside it: `connect ECONNREFUSED…`, a template error;
 * null for the plain `HTTP 500` that the status badge already shows.
 */
export function errorBeyondStatus(status: number | null, error: string | null): string | null {
  return error === null || (status !== null && error === `HTTP ${status}`) ? null : error
}

/** Why an attempt failed, in one line: its error, else what the receiver answered. */
export function failureReason(
  status: number | null,
  error: string | null,
  responseBody: string | null,
): string {
  const beyond = errorBeyondStatus(status, error)
  if (beyond !== null) return beyond
  const body = (responseBody ?? '').replace(/\s+/g, ' ').trim()
  if (status === null) return '—'
  return body === ''
    ? `answered HTTP ${status} with an empty body`
    : `answered HTTP ${status}: ${clip(body, 160)}`
}
