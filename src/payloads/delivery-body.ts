import { renderEnvelope } from '../dispatch/envelope.ts'
import type { ClaimedDelivery } from '../store/store.ts'
import { type ContentType, defaultBody } from './content-type.ts'
import { renderTemplate, templateContext } from './template.ts'

type Subscription = NonNullable<ClaimedDelivery['subscription']>

/**
 * The body of a delivery, rendered at send time from the stored event: the subscription's
 * template, or its content type's default body. A `toHookPayload()` body, fixed at dispatch, is
 * sent as it is to JSON subscriptions without a template. Throws TemplateError or BodyError (a
 * clear message for the delivery log) when the result is not a valid body of its content type.
 */
export function deliveryBody(
  claimed: ClaimedDelivery & { subscription: Subscription },
  maxBytes: number,
): string {
  const { delivery, event, subscription } = claimed
  const contentType = subscription.content_type as ContentType
  const plainJson = contentType === 'application/json' && subscription.template === null
  if (plainJson && delivery.body !== null) return delivery.body
  const envelope = renderEnvelope(
    event,
    { id: subscription.id, event: subscription.event, target: subscription.target },
    subscription.payload,
  )
  if (plainJson) return envelope
  if (subscription.template === null) return defaultBody(envelope, contentType)
  return renderTemplate(subscription.template, contentType, templateContext(envelope), {
    maxBytes,
  })
}
