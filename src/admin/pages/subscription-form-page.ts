import type { FieldError } from '../../errors.ts'
import type { Operator } from '../context.ts'
import { html, type SafeHtml } from '../html.ts'
import { csrfField, layout } from '../layout.ts'
import type { Preview } from '../preview.ts'
import { htmlResponse } from '../responses.ts'
import {
  CONTENT_TYPE_OPTIONS,
  FIELD_LABELS,
  type SubscriptionFormValues,
} from '../subscription-form.ts'
import { dataList, errorSummary, selectInput, textArea, textInput } from './parts.ts'

/** What the create and edit forms show. */
export interface SubscriptionFormView {
  base: string
  operator: Operator
  mode: 'create' | 'edit'
  /** The subscription's id (edit). */
  id?: string
  values: SubscriptionFormValues
  errors: FieldError[]
  preview: Preview
  events: string[]
  owners: string[]
  status?: number
}

function previewPanel(preview: Preview): SafeHtml {
  const source =
    preview.sampleSource === 'stored event'
      ? 'the latest stored event of this type'
      : preview.sampleSource === 'none'
        ? 'empty data: no event of this type is stored yet'
        : 'the sample data below'
  return html`<section class="preview" aria-labelledby="preview-title">
    <h2 id="preview-title">Preview</h2>
    <p class="muted">The body a delivery of <code id="preview-event">${preview.event}</code> would carry, from <span id="preview-source">${source}</span>.</p>
    <div aria-live="polite">
      <p id="preview-status" class="muted"></p>
      <p id="preview-problem" class="preview-problem"${preview.problem ? '' : html` hidden`}>${preview.problem ?? ''}</p>
      <p id="preview-filter"${preview.filter ? '' : html` hidden`}>${preview.filter ?? ''}</p>
      <pre id="preview-body"${preview.body ? '' : html` hidden`}>${preview.body ?? ''}</pre>
    </div>
    ${textArea({
      name: 'sample',
      label: 'Sample data (JSON)',
      value: preview.sample,
      rows: 8,
      hint: 'The event’s data for this preview only; not saved. Empty: the latest stored event of this type.',
    })}
  </section>`
}

/** The subscription form: every field the API takes, with a live preview of the body. */
export function subscriptionFormPage(view: SubscriptionFormView): Response {
  const { base, values, errors, mode } = view
  const errorOf = (name: string) =>
    errors
      .filter((e) => e.field === name)
      .map((e) => e.message)
      .join('; ') || undefined
  const action =
    mode === 'create'
      ? `${base}/subscriptions`
      : `${base}/subscriptions/${encodeURIComponent(view.id ?? '')}`
  const cancel =
    mode === 'create'
      ? `${base}/subscriptions`
      : `${base}/subscriptions/${encodeURIComponent(view.id ?? '')}`
  const title = mode === 'create' ? 'New subscription' : 'Edit subscription'

  const fields = html`
    ${
      mode === 'create'
        ? textInput({
            name: 'owner',
            label: FIELD_LABELS.owner as string,
            value: values.owner,
            list: 'owners',
            required: true,
            hint: 'The user or tenant id the subscription belongs to.',
            error: errorOf('owner'),
          })
        : html`<p><strong>Owner:</strong> ${values.owner}</p>`
    }
    ${textInput({
      name: 'event',
      label: 'Event',
      value: values.event,
      list: 'event-names',
      required: true,
      hint: html`A registered event, or a pattern: <code>*</code>, <code>book.*</code>, <code>*.added</code>.`,
      error: errorOf('event'),
    })}
    ${dataList('event-names', view.events)}
    ${dataList('owners', view.owners)}
    ${textInput({
      name: 'target',
      label: 'Target URL',
      value: values.target,
      type: 'url',
      required: true,
      hint: 'Where deliveries are sent: http:// or https://.',
      error: errorOf('target'),
    })}
    <div class="inline-fields">
      ${selectInput({
        name: 'method',
        label: 'Method',
        value: values.method,
        error: errorOf('method'),
        options: ['POST', 'PUT', 'PATCH'].map((m) => ({ value: m, label: m })),
      })}
      ${selectInput({
        name: 'contentType',
        label: 'Content type',
        value: values.contentType,
        error: errorOf('contentType'),
        options: CONTENT_TYPE_OPTIONS,
      })}
      ${selectInput({
        name: 'payload',
        label: 'Payload',
        value: values.payload,
        error: errorOf('payload'),
        options: [
          { value: 'full', label: 'full: the event’s data' },
          { value: 'thin', label: 'thin: only data.id' },
        ],
      })}
      ${selectInput({
        name: 'hmacDigest',
        label: 'Hook-HMAC header',
        value: values.hmacDigest,
        error: errorOf('hmacDigest'),
        options: [
          { value: '', label: 'none' },
          { value: 'sha1', label: 'sha1' },
          { value: 'sha256', label: 'sha256' },
          { value: 'sha512', label: 'sha512' },
        ],
      })}
    </div>
    ${textArea({
      name: 'headers',
      label: 'Headers',
      value: values.headers,
      rows: 3,
      hint: html`One <code>Name: value</code> a line, sent with every delivery.`,
      error: errorOf('headers'),
    })}
    ${textArea({
      name: 'filter',
      label: 'Filter (JSON)',
      value: values.filter,
      rows: 4,
      hint: html`Conditions on the event’s data, e.g. <code>{"pages": {"gt": 100}}</code>. Empty: every event.`,
      error: errorOf('filter'),
    })}
    ${textArea({
      name: 'template',
      label: 'Template',
      value: values.template,
      rows: 6,
      hint: html`A Mustache template for the body, e.g. <code>{"title": "{{data.title}}"}</code>. Empty: the content type’s default body.`,
      error: errorOf('template'),
    })}
    ${textArea({
      name: 'metadata',
      label: 'Metadata (JSON object)',
      value: values.metadata,
      rows: 3,
      hint: 'The application’s own fields on the subscription.',
      error: errorOf('metadata'),
    })}
    ${
      mode === 'create'
        ? html`<div class="field"><input type="checkbox" id="field-active" name="active"${values.active ? html` checked` : ''}> <label for="field-active" class="inline">Active: deliver events to it from now on</label></div>`
        : ''
    }`

  const body = html`<h1>${title}</h1>
    ${errorSummary(errors, FIELD_LABELS)}
    <form method="post" action="${action}" data-preview-url="${base}/preview" novalidate>
      ${csrfField(view.operator.csrf)}
      ${view.id ? html`<input type="hidden" name="id" value="${view.id}">` : ''}
      <div class="form-grid">
        <div>${fields}
          <div class="actions">
            <button type="submit" name="intent" value="save">${mode === 'create' ? 'Create subscription' : 'Save changes'}</button>
            <button type="submit" name="intent" value="preview" class="secondary">Update preview</button>
            <a href="${cancel}">Cancel</a>
          </div>
        </div>
        ${previewPanel(view.preview)}
      </div>
    </form>`
  return htmlResponse(
    layout({ base, title, section: 'subscriptions', operator: view.operator }, body),
    view.status ?? 200,
  )
}
