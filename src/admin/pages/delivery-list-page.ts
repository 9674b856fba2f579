import type { FieldError } from '../../errors.ts'
import type { AdminDeliveryRow } from '../../store/admin-queries.ts'
import type { Operator } from '../context.ts'
import { toTimeInput } from '../format.ts'
import { html, type SafeHtml } from '../html.ts'
import { csrfField, layout } from '../layout.ts'
import { listUrl } from '../list-filters.ts'
import { htmlResponse } from '../responses.ts'
import {
  clip,
  dataList,
  deliveryBadge,
  errorBeyondStatus,
  errorSummary,
  outcomeBadge,
  selectInput,
  textInput,
  timeText,
} from './parts.ts'

/** Deliveries as a table, newest first; `withSubscription` adds the target and owner columns. */
export function deliveriesTable(
  base: string,
  rows: readonly AdminDeliveryRow[],
  now: number,
  withSubscription = true,
): SafeHtml {
  if (rows.length === 0) return html`<p>No deliveries.</p>`
  return html`<div class="table-scroll"><table>
    <caption class="visually-hidden">Deliveries</caption>
    <thead><tr><th scope="col">Created</th><th scope="col">Status</th><th scope="col">Event</th>${
      withSubscription ? html`<th scope="col">Target</th><th scope="col">Owner</th>` : ''
    }<th scope="col" class="num">Attempts</th><th scope="col">Last result</th><th scope="col">Error</th></tr></thead>
    <tbody>${rows.map(
      (d) => html`<tr>
        <td><a href="${base}/deliveries/${encodeURIComponent(d.id)}">${timeText(d.created_at)}</a></td>
        <td>${deliveryBadge(d.status)}${d.status === 'pending' && d.attempts > 0 ? html`<br><span class="muted">next ${timeText(d.next_attempt_at, now)}</span>` : ''}</td>
        <td class="mono">${d.event_name}</td>
        ${
          withSubscription
            ? html`<td class="wrap">${d.target === null ? html`<span class="muted">removed</span>` : html`<a href="${base}/subscriptions/${encodeURIComponent(d.subscription_id)}">${d.target}</a>`}</td><td>${d.owner}</td>`
            : ''
        }
        <td class="num">${d.attempts}</td>
        <td>${outcomeBadge(d.last_status, d.last_error)}</td>
        <td class="error-text">${clip(errorBeyondStatus(d.last_status, d.last_error) ?? '', 200)}</td>
      </tr>`,
    )}</tbody>
  </table></div>`
}

/** What the delivery log shows. */
export interface DeliveryListView {
  base: string
  operator: Operator
  values: Record<string, string>
  errors: FieldError[]
  rows: AdminDeliveryRow[]
  next: string | null
  owners: string[]
  events: string[]
  notice: string | null
  now: number
}

const LABELS = {
  owner: 'Owner',
  subscription: 'Subscription id',
  status: 'Status',
  event: 'Event',
  from: 'Created from (UTC)',
  to: 'Created before (UTC)',
}

/** The delivery log of every owner, filtered, with replay of the failed ones since a time. */
export function deliveryListPage(view: DeliveryListView): Response {
  const { base, values, errors, now } = view
  const errorOf = (name: string) => errors.find((e) => e.field === name)?.message
  const filters = html`<form class="filters" method="get" action="${base}/deliveries" role="search" aria-label="Filter deliveries">
    ${textInput({ name: 'owner', label: LABELS.owner, value: values.owner ?? '', list: 'owners', error: errorOf('owner') })}
    ${textInput({ name: 'subscription', label: LABELS.subscription, value: values.subscription ?? '', error: errorOf('subscription') })}
    ${selectInput({
      name: 'status',
      label: LABELS.status,
      value: values.status ?? '',
      error: errorOf('status'),
      options: [
        { value: '', label: 'any' },
        { value: 'pending', label: 'pending' },
        { value: 'succeeded', label: 'succeeded' },
        { value: 'failed', label: 'failed' },
      ],
    })}
    ${textInput({ name: 'event', label: LABELS.event, value: values.event ?? '', list: 'events', error: errorOf('event') })}
    ${textInput({ name: 'from', label: LABELS.from, value: values.from ?? '', type: 'datetime-local', error: errorOf('from') })}
    ${textInput({ name: 'to', label: LABELS.to, value: values.to ?? '', type: 'datetime-local', error: errorOf('to') })}
    <div class="field"><button type="submit">Filter</button> <a href="${base}/deliveries">Clear</a></div>
  </form>
  ${dataList('owners', view.owners)}${dataList('events', view.events)}`

  const pager = view.next
    ? html`<p class="pager"><a href="${listUrl(`${base}/deliveries`, values, { before: view.next })}">Older deliveries →</a></p>`
    : values.before
      ? html`<p class="pager"><a href="${listUrl(`${base}/deliveries`, values, { before: null })}">← Newest</a></p>`
      : ''

  const scope = values.subscription
    ? html`of subscription <span class="mono">${values.subscription}</span>`
    : values.owner
      ? html`of owner <strong>${values.owner}</strong>`
      : 'of every subscription'
  const replay = html`<h2>Replay failed deliveries</h2>
    <form method="post" action="${base}/deliveries/replay" class="filters">
      ${csrfField(view.operator.csrf)}
      ${values.subscription ? html`<input type="hidden" name="subscription" value="${values.subscription}">` : ''}
      ${!values.subscription && values.owner ? html`<input type="hidden" name="owner" value="${values.owner}">` : ''}
      <p>Queue again the failed deliveries ${scope} created since:</p>
      ${textInput({ name: 'since', label: 'Created since (UTC)', value: toTimeInput(now - 24 * 60 * 60_000), type: 'datetime-local', required: true })}
      <div class="field"><button type="submit">Replay failed deliveries</button></div>
    </form>`

  const body = html`<h1>Deliveries</h1>
    ${errorSummary(errors, LABELS)}
    ${filters}
    ${errors.length > 0 ? html`<p>Fix the filters to see deliveries.</p>` : deliveriesTable(base, view.rows, now)}
    ${pager}
    ${replay}`
  return htmlResponse(
    layout(
      {
        base,
        title: 'Deliveries',
        section: 'deliveries',
        operator: view.operator,
        notice: view.notice,
      },
      body,
    ),
    errors.length > 0 ? 400 : 200,
  )
}
