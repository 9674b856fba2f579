import type { FieldError } from '../../errors.ts'
import { ownerProblem } from '../../events/owner.ts'
import { type AdminContext, noticeOf } from '../context.ts'
import { field } from '../form-body.ts'
import { parseTimeInput } from '../format.ts'
import { html } from '../html.ts'
import { deliveryFilters, PAGE_SIZE } from '../list-filters.ts'
import { deliveryListPage } from '../pages/delivery-list-page.ts'
import { deliveryPage } from '../pages/delivery-page.ts'
import { messagePage } from '../pages/message-page.ts'
import { redirect } from '../responses.ts'

const OWNERS_LISTED = 500

function notFound(context: AdminContext, what: string): Response {
  return messagePage(
    { base: context.base, title: 'Not found', operator: context.operator },
    404,
    `There is no ${what} ${context.params.id ?? ''}.`,
  )
}

/** GET /deliveries: the log of every owner, filtered. */
export async function listDeliveries(context: AdminContext): Promise<Response> {
  const { hooks, url, base, now } = context
  const { query, values, errors } = deliveryFilters(url)
  const rows =
    errors.length > 0
      ? []
      : await hooks.store.admin.listDeliveries({ ...query, limit: PAGE_SIZE + 1 })
  const next = rows.length > PAGE_SIZE ? (rows[PAGE_SIZE - 1]?.id ?? null) : null
  return deliveryListPage({
    base,
    operator: context.operator,
    values,
    errors,
    rows: rows.slice(0, PAGE_SIZE),
    next,
    owners: await hooks.store.admin.listOwners(OWNERS_LISTED),
    events: hooks.events.names(),
    notice: noticeOf(url),
    now,
  })
}

/** GET /deliveries/{id}: one delivery with its attempts. */
export async function showDelivery(context: AdminContext): Promise<Response> {
  const { hooks, params, now } = context
  const delivery = await hooks.store.admin.findDelivery(params.id ?? '')
  if (!delivery) return notFound(context, 'delivery')
  const attempts = await hooks.store.admin.listAttempts(delivery.id)
  const inFlight =
    delivery.status === 'pending' && delivery.lease_token !== null && delivery.next_attempt_at > now
  return deliveryPage({
    base: context.base,
    operator: context.operator,
    delivery,
    attempts,
    inFlight,
    notice: noticeOf(context.url),
    now,
  })
}

/** POST /deliveries/{id}/retry: due now (one a worker holds is left to it). */
export async function retryDelivery(context: AdminContext): Promise<Response> {
  const { hooks, params, base, now } = context
  const id = params.id ?? ''
  const before = await hooks.store.admin.findDelivery(id)
  if (!before) return notFound(context, 'delivery')
  const inFlight =
    before.status === 'pending' && before.lease_token !== null && before.next_attempt_at > now
  await hooks.retryDelivery(id)
  return redirect(
    `${base}/deliveries/${encodeURIComponent(id)}?done=${inFlight ? 'in-flight' : 'retried'}`,
  )
}

/** POST /deliveries/replay: failed deliveries created since a time, of one subscription, owner or all. */
export async function replayDeliveries(context: AdminContext): Promise<Response> {
  const { hooks, form, base, now } = context
  const errors: FieldError[] = []
  const sinceText = field(form, 'since')
  const since = parseTimeInput(sinceText)
  if (since === null) {
    errors.push({ field: 'since', message: 'must be a time such as 2026-11-22T10:00 (UTC)' })
  }
  const subscriptionId = field(form, 'subscription')
  const owner = field(form, 'owner')
  if (owner !== '' && ownerProblem(owner)) {
    errors.push({ field: 'owner', message: ownerProblem(owner) ?? '' })
  }
  if (subscriptionId !== '' && !(await hooks.store.findSubscription(subscriptionId))) {
    errors.push({ field: 'subscription', message: `there is no subscription ${subscriptionId}` })
  }
  if (errors.length > 0 || since === null) {
    return messagePage(
      { base, title: 'Nothing replayed', operator: context.operator },
      400,
      'Nothing was replayed:',
      html`<ul>${errors.map((e) => html`<li>${e.field}: ${e.message}</li>`)}</ul><p><a href="${base}/deliveries">Back to the deliveries</a></p>`,
    )
  }
  const count = await hooks.store.admin.replayFailed(
    {
      since,
      ...(subscriptionId !== '' ? { subscriptionId } : {}),
      ...(subscriptionId === '' && owner !== '' ? { owner } : {}),
    },
    now,
  )
  const params = new URLSearchParams({ status: 'pending', done: 'replayed', count: String(count) })
  if (subscriptionId !== '') params.set('subscription', subscriptionId)
  else if (owner !== '') params.set('owner', owner)
  return redirect(`${base}/deliveries?${params}`)
}
