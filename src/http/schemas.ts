import { z } from 'zod'
import { CONTENT_TYPES } from '../payloads/content-type.ts'
import { subscribeInput, updateInput } from '../subscriptions/subscription-input.ts'

/**
 * The API's schemas: request validation and, from the same definitions, the OpenAPI document.
 * Response schemas describe what the handlers return; the tests check responses against them.
 */

const id = (prefix: string) => z.string().meta({ example: `${prefix}_01JD8X2Q4C5M7N9P1R3S5T7V9W` })
const isoTime = z.iso.datetime({ offset: true })
const limit = z.coerce
  .number()
  .int()
  .min(1)
  .max(250)
  .optional()
  .meta({ description: 'Page size, 1 to 250 (default 50).' })

// ── requests ────────────────────────────────────────────────────────────────

/** `POST /hooks`: `target`, or Zapier's `target_url`, or thorn's `url`. */
export const subscribeBody = subscribeInput.omit({ owner: true, target: true }).extend({
  target: z.string().optional().meta({ description: 'The URL that receives the webhooks.' }),
  target_url: z.string().optional().meta({ description: 'Zapier’s name for `target`.' }),
  url: z.string().optional().meta({ description: 'thorn’s name for `target`.' }),
})

export const updateBody = updateInput
export const replayBody = z.strictObject({
  since: isoTime.meta({ description: 'Re-queue failed deliveries created since this time.' }),
})
export const ingestBody = z
  .strictObject({
    event: z.string().min(1).meta({ example: 'order.paid' }),
    data: z.unknown().meta({ description: 'The event’s payload, sent as `data`.' }),
    owner: z
      .string()
      .min(1)
      .max(255)
      .optional()
      .meta({ description: 'The owner whose subscriptions receive it; or `broadcast: true`.' }),
    broadcast: z
      .boolean()
      .optional()
      .meta({ description: 'true: every owner’s matching subscriptions receive it.' }),
  })
  .superRefine((value, ctx) => {
    if (value.owner !== undefined && value.broadcast === true) {
      ctx.addIssue({
        code: 'custom',
        path: ['broadcast'],
        message: 'give owner or broadcast: true, not both',
      })
    } else if (value.owner === undefined && value.broadcast !== true) {
      ctx.addIssue({ code: 'custom', path: ['owner'], message: 'give owner, or broadcast: true' })
    }
  })
export const registerEventTypesBody = z.strictObject({
  events: z
    .record(z.string(), z.string().nullable())
    .meta({ example: { 'order.paid': null }, description: 'Event name → `Model.action` or null.' }),
})

export const listHooksQuery = z.object({
  limit,
  cursor: z.string().optional(),
  event: z.string().optional().meta({ description: 'Only subscriptions to exactly this event.' }),
})
export const listDeliveriesQuery = z.object({
  limit,
  cursor: z.string().optional(),
  status: z.enum(['pending', 'succeeded', 'failed']).optional(),
})
export const listEventsQuery = z.object({
  limit,
  after: z.string().optional().meta({ description: 'Only events after this event id.' }),
})

// ── responses ───────────────────────────────────────────────────────────────

export const subscriptionSchema = z
  .object({
    id: id('hook'),
    event: z.string(),
    target: z.url(),
    active: z.boolean(),
    status: z.enum(['active', 'disabled']),
    disabledReason: z.string().nullable(),
    method: z.enum(['POST', 'PUT', 'PATCH']),
    contentType: z.enum(CONTENT_TYPES),
    headers: z.record(z.string(), z.string()),
    filter: z.record(z.string(), z.unknown()).nullable().meta({
      description: 'Conditions on the event’s data (docs/filters.md); null: every event.',
    }),
    template: z.string().nullable().meta({
      description: 'A Mustache body template (docs/templates.md); null: the default body.',
    }),
    payload: z.enum(['full', 'thin']),
    hmacDigest: z.enum(['sha1', 'sha256', 'sha512']).nullable(),
    metadata: z.record(z.string(), z.unknown()),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Subscription' })

export const subscriptionWithSecretSchema = subscriptionSchema
  .extend({
    secret: z.string().meta({ description: 'Shown on create and on rotate only.' }),
  })
  .meta({ id: 'SubscriptionWithSecret' })

export const deliverySchema = z
  .object({
    id: id('dlv'),
    eventId: id('evt'),
    subscriptionId: id('hook'),
    status: z.enum(['pending', 'succeeded', 'failed']),
    attempts: z.number().int(),
    nextAttemptAt: isoTime.nullable(),
    lastStatus: z.number().int().nullable(),
    lastError: z.string().nullable(),
    createdAt: isoTime,
    updatedAt: isoTime,
  })
  .meta({ id: 'Delivery' })

export const attemptSchema = z
  .object({
    id: id('atm'),
    number: z.number().int(),
    startedAt: isoTime,
    durationMs: z.number(),
    requestHeaders: z.record(z.string(), z.string()),
    responseStatus: z.number().int().nullable(),
    responseHeaders: z.record(z.string(), z.string()).nullable(),
    responseBody: z.string().nullable(),
    error: z.string().nullable(),
  })
  .meta({ id: 'Attempt' })

export const deliveryWithAttemptsSchema = deliverySchema
  .omit({ attempts: true })
  .extend({ attempts: z.array(attemptSchema) })
  .meta({ id: 'DeliveryWithAttempts' })

export const eventSchema = z
  .object({
    id: id('evt'),
    type: z.string(),
    timestamp: isoTime,
    data: z.unknown(),
    ref: z.string().nullable(),
  })
  .meta({ id: 'Event' })

export const dispatchResultSchema = z
  .object({
    id: id('evt')
      .nullable()
      .meta({ description: 'The event; null when dispatch is switched off (`enabled: false`)' }),
    deliveries: z.number().int(),
  })
  .meta({ id: 'DispatchResult' })

export const eventTypesSchema = z.object({
  data: z.array(z.object({ name: z.string() })),
})

export const replayResultSchema = z.object({ replayed: z.number().int() })

export function pageOf<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), next: z.string().nullable() })
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' })
