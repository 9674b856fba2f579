import type { AdminDeliveryRow, SubscriptionHealth } from '../../store/admin-queries.ts'
import type { SubscriptionTable } from '../../store/schema.ts'
import { toSubscription } from '../../subscriptions/subscription.ts'
import type { Operator } from '../context.ts'
import { formatRate, toTimeInput } from '../format.ts'
import { html, type SafeHtml } from '../html.ts'
import { actionButton, csrfField, layout } from '../layout.ts'
import { htmlResponse } from '../responses.ts'
import { deliveriesTable } from './delivery-list-page.ts'
import { headersTable, prettyJson, subscriptionBadge, textInput, timeText } from './parts.ts'

/** What a subscription's page shows. */
export interface SubscriptionView {
  base: string
  operator: Operator
  row: SubscriptionTable
  health: SubscriptionHealth | undefined
  deliveries: AdminDeliveryRow[]
  notice: string | null
  now: number
}

function pre(text: string | null, empty: string): SafeHtml {
  return text === null || text === ''
    ? html`<span class="muted">${empty}</span>`
    : html`<pre>${text}</pre>`
}

/** One subscription: its fields, health, actions, recent deliveries and replay. */
export function subscriptionPage(view: SubscriptionView): Response {
  const { base, operator, row, now } = view
  const s = toSubscription(row)
  const path = `${base}/subscriptions/${encodeURIComponent(s.id)}`
  const rate = view.health ? formatRate(view.health.succeeded, view.health.attempts) : null
  const previousUntil =
    row.previous_secret !== null &&
    row.previous_secret_expires_at !== null &&
    row.previous_secret_expires_at > now
      ? row.previous_secret_expires_at
      : null

  const actions = html`<div class="actions">
    <a class="button" href="${path}/edit">Edit</a>
    ${actionButton(`${path}/test`, operator.csrf, 'Send test event')}
    ${actionButton(`${path}/rotate-secret`, operator.csrf, 'Rotate secret')}
    ${
      s.active
        ? actionButton(`${path}/disable`, operator.csrf, 'Disable')
        : actionButton(`${path}/enable`, operator.csrf, 'Enable', { style: 'primary' })
    }
    <a class="button secondary" href="${path}/delete">Delete…</a>
  </div>`

  const body = html`<h1>Subscription <span class="mono">${s.id}</span></h1>
    <p>${subscriptionBadge(row.status, row.failing_since)}
      ${row.status === 'disabled' ? html` <span class="error-text">${row.disabled_reason ?? ''}</span>` : ''}
      ${row.status === 'active' && row.failing_since !== null ? html` failing since ${timeText(row.failing_since, now)}` : ''}</p>
    ${actions}
    <dl class="fields">
      <dt>Target</dt><dd class="mono">${s.method} ${s.target}</dd>
      <dt>Event</dt><dd class="mono">${s.event}</dd>
      <dt>Owner</dt><dd>${s.owner}</dd>
      <dt>Content type</dt><dd class="mono">${s.contentType}</dd>
      <dt>Payload</dt><dd>${s.payload}</dd>
      <dt>Hook-HMAC</dt><dd>${s.hmacDigest ?? 'none'}</dd>
      <dt>Success, 24 h</dt><dd>${rate === null ? 'no attempts' : `${rate} of ${view.health?.attempts} attempts got a 2xx`}</dd>
      <dt>Secret</dt><dd>${previousUntil === null ? 'one secret signs' : html`rotated: the previous secret also signs until ${timeText(previousUntil, now)}`}</dd>
      <dt>Created</dt><dd>${timeText(row.created_at, now)}</dd>
      <dt>Updated</dt><dd>${timeText(row.updated_at, now)}</dd>
    </dl>
    <h2>Headers</h2>
    ${headersTable(s.headers, 'Custom headers')}
    <h2>Filter</h2>
    ${pre(s.filter === null ? null : JSON.stringify(s.filter, null, 2), 'None: every event is delivered.')}
    <h2>Template</h2>
    ${pre(s.template, 'None: the content type’s default body.')}
    <h2>Metadata</h2>
    ${pre(Object.keys(s.metadata).length === 0 ? null : prettyJson(JSON.stringify(s.metadata)), 'None.')}
    <h2>Recent deliveries</h2>
    ${deliveriesTable(base, view.deliveries, now, false)}
    <p><a href="${base}/deliveries?subscription=${encodeURIComponent(s.id)}">Every delivery of this subscription →</a></p>
    <h2>Replay failed deliveries</h2>
    <form method="post" action="${base}/deliveries/replay" class="filters">
      ${csrfField(operator.csrf)}
      <input type="hidden" name="subscription" value="${s.id}">
      ${textInput({
        name: 'since',
        label: 'Created since (UTC)',
        value: toTimeInput(now - 24 * 60 * 60_000),
        type: 'datetime-local',
        required: true,
      })}
      <div class="field"><button type="submit">Replay failed deliveries</button></div>
    </form>
    ${s.active ? '' : html`<p class="muted">This subscription is disabled: enable it first, or replayed deliveries fail again at once.</p>`}`
  return htmlResponse(
    layout(
      {
        base,
        title: `Subscription ${s.id}`,
        section: 'subscriptions',
        operator,
        notice: view.notice,
      },
      body,
    ),
  )
}

/** The secret, shown this once: after creating a subscription or rotating its secret. */
export function secretPage(
  base: string,
  operator: Operator,
  subscription: { id: string; target: string; secret: string },
  what: 'created' | 'rotated',
): Response {
  const path = `${base}/subscriptions/${encodeURIComponent(subscription.id)}`
  const body = html`<h1>${what === 'created' ? 'Subscription created' : 'Secret rotated'}</h1>
    <div class="secret-box">
      <p><strong>Copy the signing secret now: it is not shown again.</strong></p>
      <code id="secret">${subscription.secret}</code>
      <button type="button" class="secondary" data-copy="secret" hidden>Copy</button>
      ${what === 'rotated' ? html`<p>The previous secret keeps signing beside this one for 24 hours, so the receiver can switch without missing a delivery.</p>` : ''}
    </div>
    <p>Deliveries to <span class="mono">${subscription.target}</span> are signed with it (Standard Webhooks).</p>
    <p><a class="button" href="${path}">Go to the subscription</a></p>`
  return htmlResponse(
    layout(
      {
        base,
        title: what === 'created' ? 'Subscription created' : 'Secret rotated',
        section: 'subscriptions',
        operator,
      },
      body,
    ),
    what === 'created' ? 201 : 200,
  )
}

/** Asks before deleting a subscription, saying what goes with it. */
export function deletePage(base: string, operator: Operator, row: SubscriptionTable): Response {
  const path = `${base}/subscriptions/${encodeURIComponent(row.id)}`
  const body = html`<h1>Delete this subscription?</h1>
    <p>The subscription of <strong>${row.owner}</strong> to <span class="mono">${row.event}</span> at <span class="mono">${row.target}</span> is removed with its whole delivery log. Pending deliveries are not sent. This cannot be undone.</p>
    <div class="actions">
      ${actionButton(`${path}/delete`, operator.csrf, 'Delete subscription', { style: 'danger' })}
      <a href="${path}">Cancel</a>
    </div>`
  return htmlResponse(
    layout({ base, title: 'Delete subscription', section: 'subscriptions', operator }, body),
  )
}
