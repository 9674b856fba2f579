import type { AdminDeliveryDetail } from '../../store/admin-queries.ts'
import type { AttemptTable } from '../../store/schema.ts'
import type { Operator } from '../context.ts'
import { html, type SafeHtml } from '../html.ts'
import { actionButton, layout } from '../layout.ts'
import { htmlResponse } from '../responses.ts'
import {
  clip,
  deliveryBadge,
  durationText,
  errorBeyondStatus,
  headersTable,
  outcomeBadge,
  prettyJson,
  timeText,
} from './parts.ts'

/** What a delivery's page shows. */
export interface DeliveryView {
  base: string
  operator: Operator
  delivery: AdminDeliveryDetail
  attempts: AttemptTable[]
  /** A worker holds it right now. */
  inFlight: boolean
  notice: string | null
  now: number
}

/** Event data shown on the page: the first 64 KiB of it. */
const DATA_SHOWN = 64 * 1024

function parseHeaders(text: string | null): Record<string, string> | null {
  if (text === null) return null
  try {
    const parsed = JSON.parse(text) as unknown
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, string>) : null
  } catch {
    return null
  }
}

function attemptSection(attempt: AttemptTable, open: boolean): SafeHtml {
  const request = html`<h4>Request</h4>
    ${
      attempt.request_url === null
        ? html`<p class="muted">Method and URL not recorded (an attempt from before this version).</p>`
        : html`<p class="mono wrap">${attempt.request_method ?? ''} ${attempt.request_url}</p>`
    }
    ${headersTable(parseHeaders(attempt.request_headers), 'Request headers')}
    ${
      attempt.request_body === null
        ? html`<p class="muted">No body recorded.</p>`
        : html`<p class="muted">Body (up to 4 KiB):</p><pre>${attempt.request_body}</pre>`
    }`
  const response =
    attempt.response_status === null
      ? html`<h4>Response</h4><p>No response.</p>`
      : html`<h4>Response</h4>
        <p>${outcomeBadge(attempt.response_status, null)}</p>
        ${headersTable(parseHeaders(attempt.response_headers), 'Response headers')}
        ${
          attempt.response_body === null || attempt.response_body === ''
            ? html`<p class="muted">Empty body.</p>`
            : html`<p class="muted">Body (up to 8 KiB):</p><pre>${attempt.response_body}</pre>`
        }`
  return html`<details class="attempt"${open ? html` open` : ''}>
    <summary><h3>Attempt ${attempt.number}
      ${outcomeBadge(attempt.response_status, attempt.error)}
      <span class="muted">${timeText(attempt.started_at)}, ${durationText(attempt.duration_ms)}</span></h3></summary>
    ${
      errorBeyondStatus(attempt.response_status, attempt.error) === null
        ? ''
        : html`<p class="error-text"><strong>Error:</strong> ${attempt.error}</p>`
    }
    <div class="attempt-columns"><div>${request}</div><div>${response}</div></div>
  </details>`
}

/** One delivery: its state, its event, and every attempt's request and response. */
export function deliveryPage(view: DeliveryView): Response {
  const { base, operator, delivery: d, now } = view
  const path = `${base}/deliveries/${encodeURIComponent(d.id)}`
  const retry = view.inFlight
    ? html`<p class="muted">A worker is attempting this delivery right now.</p>`
    : actionButton(
        `${path}/retry`,
        operator.csrf,
        d.status === 'succeeded' ? 'Send again' : 'Retry now',
        {
          style: d.status === 'failed' ? 'primary' : 'secondary',
        },
      )
  const body = html`<h1>Delivery <span class="mono">${d.id}</span></h1>
    <p>${deliveryBadge(d.status)}</p>
    <div class="actions">${retry}</div>
    <dl class="fields">
      <dt>Event</dt><dd><span class="mono">${d.event.name}</span> <span class="muted mono">${d.event.id}</span></dd>
      <dt>Subscription</dt><dd>${
        d.target === null
          ? html`<span class="mono">${d.subscription_id}</span> (removed)`
          : html`<a href="${base}/subscriptions/${encodeURIComponent(d.subscription_id)}">${d.target}</a>`
      }</dd>
      <dt>Owner</dt><dd>${d.owner}</dd>
      <dt>Created</dt><dd>${timeText(d.created_at, now)}</dd>
      <dt>Attempts</dt><dd>${d.attempts}</dd>
      ${d.status === 'pending' && !view.inFlight ? html`<dt>Next attempt</dt><dd>${timeText(d.next_attempt_at, now)}</dd>` : ''}
      <dt>Last result</dt><dd>${outcomeBadge(d.last_status, d.last_error)} ${errorBeyondStatus(d.last_status, d.last_error) ?? ''}</dd>
    </dl>
    <h2>Attempts</h2>
    ${
      view.attempts.length === 0
        ? html`<p>No attempt yet.</p>`
        : html`<p class="muted">Newest first; open an attempt to see its request and response.</p>
          ${[...view.attempts].reverse().map((attempt, i) => attemptSection(attempt, i === 0))}`
    }
    <h2>Event data</h2>
    ${d.event.ref === null ? '' : html`<p>Resource: <span class="mono wrap">${d.event.ref}</span></p>`}
    <pre>${clip(prettyJson(d.event.data), DATA_SHOWN)}</pre>`
  return htmlResponse(
    layout(
      { base, title: `Delivery ${d.id}`, section: 'deliveries', operator, notice: view.notice },
      body,
    ),
  )
}
