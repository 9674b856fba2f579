import { ValidationError } from '../../errors.ts'
import type { SubscriptionTable } from '../../store/schema.ts'
import { toSubscription } from '../../subscriptions/subscription.ts'
import { type AdminContext, noticeOf } from '../context.ts'
import { PAGE_SIZE, subscriptionFilters } from '../list-filters.ts'
import { messagePage } from '../pages/message-page.ts'
import { subscriptionFormPage } from '../pages/subscription-form-page.ts'
import { subscriptionListPage } from '../pages/subscription-list-page.ts'
import { deletePage, secretPage, subscriptionPage } from '../pages/subscription-page.ts'
import { previewOf } from '../preview.ts'
import { jsonResponse, redirect } from '../responses.ts'
import {
  blankForm,
  formFieldOf,
  formOf,
  readSubscriptionForm,
  type SubscriptionFormValues,
  toSubscriptionInput,
} from '../subscription-form.ts'

const DAY_MS = 24 * 60 * 60_000
const OWNERS_LISTED = 500
const PREVIEW_HOOK_ID = 'hook_preview'

function notFound(context: AdminContext): Response {
  return messagePage(
    { base: context.base, title: 'Not found', operator: context.operator },
    404,
    `There is no subscription ${context.params.id ?? ''}.`,
  )
}

async function find(context: AdminContext): Promise<SubscriptionTable | undefined> {
  return context.hooks.store.findSubscription(context.params.id ?? '')
}

const subscriptionPath = (context: AdminContext, id: string) =>
  `${context.base}/subscriptions/${encodeURIComponent(id)}`

/** GET /subscriptions: every owner's subscriptions, filtered, with recent success rates. */
export async function listSubscriptions(context: AdminContext): Promise<Response> {
  const { hooks, url, now } = context
  const { query, values, errors } = subscriptionFilters(url)
  const rows =
    errors.length > 0
      ? []
      : await hooks.store.admin.listSubscriptions({ ...query, limit: PAGE_SIZE + 1 })
  const page = rows.slice(0, PAGE_SIZE)
  const health = await hooks.store.admin.subscriptionHealth(
    page.map((row) => row.id),
    now - DAY_MS,
  )
  return subscriptionListPage({
    base: context.base,
    operator: context.operator,
    values,
    errors,
    rows: page,
    health,
    next: rows.length > PAGE_SIZE ? (page.at(-1)?.id ?? null) : null,
    owners: await hooks.store.admin.listOwners(OWNERS_LISTED),
    events: hooks.events.names(),
    notice: noticeOf(url),
    now,
  })
}

async function formPage(
  context: AdminContext,
  mode: 'create' | 'edit',
  values: SubscriptionFormValues,
  errors: { field: string; message: string }[],
  id?: string,
): Promise<Response> {
  const { hooks, now } = context
  const preview = await previewOf(hooks, values, id ?? PREVIEW_HOOK_ID, now)
  return subscriptionFormPage({
    base: context.base,
    operator: context.operator,
    mode,
    ...(id !== undefined ? { id } : {}),
    values: { ...values, sample: preview.sample },
    errors,
    preview,
    events: hooks.events.names(),
    owners: await hooks.store.admin.listOwners(OWNERS_LISTED),
    status: errors.length > 0 ? 400 : 200,
  })
}

/** GET /subscriptions/new */
export async function newSubscription(context: AdminContext): Promise<Response> {
  const values = blankForm()
  values.owner = context.url.searchParams.get('owner') ?? ''
  values.event = context.hooks.events.names()[0] ?? ''
  return formPage(context, 'create', values, [])
}

/** POST /subscriptions: creates it (the same validation as the API's), or shows the preview. */
export async function createSubscription(context: AdminContext): Promise<Response> {
  const values = readSubscriptionForm(context.form)
  if (context.form.get('intent') === 'preview') return formPage(context, 'create', values, [])
  const { input, errors } = toSubscriptionInput(values, 'create')
  if (errors.length > 0) return formPage(context, 'create', values, errors)
  try {
    // biome-ignore lint/suspicious/noExplicitAny: validated by subscribe() itself, as the API's input is
    const created = await context.hooks.subscribe(input as any)
    return secretPage(context.base, context.operator, created, 'created')
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    return formPage(context, 'create', values, error.errors.map(formFieldOf))
  }
}

/** GET /subscriptions/{id} */
export async function showSubscription(context: AdminContext): Promise<Response> {
  const { hooks, now } = context
  const row = await find(context)
  if (!row) return notFound(context)
  const [health, deliveries] = await Promise.all([
    hooks.store.admin.subscriptionHealth([row.id], now - DAY_MS),
    hooks.store.admin.listDeliveries({ subscriptionId: row.id, limit: 20 }),
  ])
  return subscriptionPage({
    base: context.base,
    operator: context.operator,
    row,
    health: health.get(row.id),
    deliveries,
    notice: noticeOf(context.url),
    now,
  })
}

/** GET /subscriptions/{id}/edit */
export async function editSubscription(context: AdminContext): Promise<Response> {
  const row = await find(context)
  if (!row) return notFound(context)
  return formPage(context, 'edit', formOf(toSubscription(row)), [], row.id)
}

/** POST /subscriptions/{id}: saves the form's fields (or shows the preview). */
export async function updateSubscription(context: AdminContext): Promise<Response> {
  const row = await find(context)
  if (!row) return notFound(context)
  const values = { ...readSubscriptionForm(context.form), owner: row.owner }
  if (context.form.get('intent') === 'preview') return formPage(context, 'edit', values, [], row.id)
  const { input, errors } = toSubscriptionInput(values, 'edit')
  if (errors.length > 0) return formPage(context, 'edit', values, errors, row.id)
  try {
    // biome-ignore lint/suspicious/noExplicitAny: validated by updateSubscription() itself
    const updated = await context.hooks.updateSubscription(row.id, input as any)
    if (!updated) return notFound(context)
    return redirect(`${subscriptionPath(context, row.id)}?done=updated`)
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error
    return formPage(context, 'edit', values, error.errors.map(formFieldOf), row.id)
  }
}

/** POST /preview: the body a subscription with the posted form's values would receive. */
export async function preview(context: AdminContext): Promise<Response> {
  const values = readSubscriptionForm(context.form)
  const id = context.form.get('id')
  const result = await previewOf(
    context.hooks,
    values,
    id && /^hook_[0-9A-Z]{26}$/.test(id) ? id : PREVIEW_HOOK_ID,
    context.now,
  )
  return jsonResponse(200, result)
}

/** GET /subscriptions/{id}/delete: asks first. */
export async function confirmDelete(context: AdminContext): Promise<Response> {
  const row = await find(context)
  return row ? deletePage(context.base, context.operator, row) : notFound(context)
}

/** POST /subscriptions/{id}/delete */
export async function deleteSubscription(context: AdminContext): Promise<Response> {
  const removed = await context.hooks.unsubscribe(context.params.id ?? '')
  if (!removed) return notFound(context)
  return redirect(`${context.base}/subscriptions?done=deleted`)
}

/** POST /subscriptions/{id}/rotate-secret: the new secret, shown once. */
export async function rotateSecret(context: AdminContext): Promise<Response> {
  const rotated = await context.hooks.rotateSecret(context.params.id ?? '')
  if (!rotated) return notFound(context)
  return secretPage(context.base, context.operator, rotated, 'rotated')
}

/** POST /subscriptions/{id}/test: a hook.test event to this subscription only. */
export async function sendTest(context: AdminContext): Promise<Response> {
  const sent = await context.hooks.sendTest(context.params.id ?? '')
  if (!sent) return notFound(context)
  return redirect(`${subscriptionPath(context, context.params.id ?? '')}?done=test-sent`)
}

/** POST /subscriptions/{id}/enable: active again, its failure history cleared. */
export async function enableSubscription(context: AdminContext): Promise<Response> {
  const id = context.params.id ?? ''
  const enabled = await context.hooks.updateSubscription(id, { active: true })
  if (!enabled) return notFound(context)
  if (context.form.get('next') === 'overview') return redirect(`${context.base}/?done=enabled`)
  return redirect(`${subscriptionPath(context, id)}?done=enabled`)
}

/** POST /subscriptions/{id}/disable: no new deliveries until enabled, with the reason said. */
export async function disableSubscription(context: AdminContext): Promise<Response> {
  const id = context.params.id ?? ''
  const disabled = await context.hooks.store.updateSubscription(id, undefined, {
    status: 'disabled',
    disabled_reason: 'disabled by an operator',
    updated_at: context.now,
  })
  if (!disabled) return notFound(context)
  return redirect(`${subscriptionPath(context, id)}?done=disabled`)
}
