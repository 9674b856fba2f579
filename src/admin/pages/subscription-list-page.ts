import type { FieldError } from '../../errors.ts'
import type { SubscriptionHealth } from '../../store/admin-queries.ts'
import type { SubscriptionTable } from '../../store/schema.ts'
import type { Operator } from '../context.ts'
import { formatRate } from '../format.ts'
import { html } from '../html.ts'
import { layout } from '../layout.ts'
import { listUrl } from '../list-filters.ts'
import { htmlResponse } from '../responses.ts'
import {
  dataList,
  errorSummary,
  selectInput,
  subscriptionBadge,
  textInput,
  timeText,
} from './parts.ts'

/** What the subscription list shows. */
export interface SubscriptionListView {
  base: string
  operator: Operator
  values: Record<string, string>
  errors: FieldError[]
  rows: SubscriptionTable[]
  health: Map<string, SubscriptionHealth>
  /** The id to continue after, when there are more. */
  next: string | null
  owners: string[]
  events: string[]
  notice: string | null
  now: number
}

const LABELS = { owner: 'Owner', status: 'Status', event: 'Event', target: 'Target contains' }

/** Every owner's subscriptions, filtered, with status and success over the last 24 hours. */
export function subscriptionListPage(view: SubscriptionListView): Response {
  const { base, values, errors, now } = view
  const errorOf = (name: string) => errors.find((e) => e.field === name)?.message
  const filters = html`<form class="filters" method="get" action="${base}/subscriptions" role="search" aria-label="Filter subscriptions">
    ${textInput({ name: 'owner', label: LABELS.owner, value: values.owner ?? '', list: 'owners', error: errorOf('owner') })}
    ${selectInput({
      name: 'status',
      label: LABELS.status,
      value: values.status ?? '',
      error: errorOf('status'),
      options: [
        { value: '', label: 'any' },
        { value: 'active', label: 'active' },
        { value: 'disabled', label: 'disabled' },
      ],
    })}
    ${textInput({ name: 'event', label: LABELS.event, value: values.event ?? '', list: 'events', error: errorOf('event') })}
    ${textInput({ name: 'target', label: LABELS.target, value: values.target ?? '', type: 'search', error: errorOf('target') })}
    <div class="field"><button type="submit">Filter</button> <a href="${base}/subscriptions">Clear</a></div>
  </form>
  ${dataList('owners', view.owners)}${dataList('events', view.events)}`

  const table =
    view.rows.length === 0
      ? html`<p>${errors.length > 0 ? 'Fix the filters to see subscriptions.' : 'No subscriptions match.'}</p>`
      : html`<div class="table-scroll"><table>
      <caption class="visually-hidden">Subscriptions</caption>
      <thead><tr><th scope="col">Status</th><th scope="col">Target</th><th scope="col">Event</th><th scope="col">Owner</th><th scope="col">Success, 24 h</th><th scope="col">Created</th></tr></thead>
      <tbody>${view.rows.map((s) => {
        const health = view.health.get(s.id)
        const rate = health ? formatRate(health.succeeded, health.attempts) : null
        return html`<tr>
          <td>${subscriptionBadge(s.status, s.failing_since)}</td>
          <td class="wrap"><a href="${base}/subscriptions/${encodeURIComponent(s.id)}">${s.target}</a><br><span class="muted mono">${s.id}</span></td>
          <td class="mono">${s.event}</td>
          <td>${s.owner}</td>
          <td>${rate === null ? html`<span class="muted">no attempts</span>` : `${rate} of ${health?.attempts}`}</td>
          <td>${timeText(s.created_at)}</td>
        </tr>`
      })}</tbody>
    </table></div>`

  const pager = view.next
    ? html`<p class="pager"><a href="${listUrl(`${base}/subscriptions`, values, { before: view.next })}">Older subscriptions →</a></p>`
    : values.before
      ? html`<p class="pager"><a href="${listUrl(`${base}/subscriptions`, values, { before: null })}">← Newest</a></p>`
      : ''

  const body = html`<h1>Subscriptions</h1>
    <p class="actions"><a class="button" href="${base}/subscriptions/new">New subscription</a></p>
    ${errorSummary(errors, LABELS)}
    ${filters}
    ${table}
    ${pager}
    <p class="muted">Success: the share of attempts in the last 24 hours that got a 2xx. Times are UTC; now is ${timeText(now)}.</p>`
  return htmlResponse(
    layout(
      {
        base,
        title: 'Subscriptions',
        section: 'subscriptions',
        operator: view.operator,
        notice: view.notice,
      },
      body,
    ),
    errors.length > 0 ? 400 : 200,
  )
}
