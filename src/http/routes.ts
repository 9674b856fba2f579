import { EventError } from '../errors.ts'
import type { Hooks } from '../hooks.ts'
import type { Subscription } from '../subscriptions/subscription.ts'
import { createOpenApiDocument } from './openapi.ts'
import { json, problem } from './problem.ts'
import { type Route, route } from './route.ts'
import {
  deliverySchema,
  deliveryWithAttemptsSchema,
  dispatchResultSchema,
  eventSchema,
  eventTypesSchema,
  ingestBody,
  listDeliveriesQuery,
  listEventsQuery,
  listHooksQuery,
  pageOf,
  registerEventTypesBody,
  replayBody,
  replayResultSchema,
  subscribeBody,
  subscriptionSchema,
  subscriptionWithSecretSchema,
  updateBody,
} from './schemas.ts'

const notFound = (what: string, id: string) => problem('not-found', `no ${what} '${id}'`)

/** The API's view of a subscription: the owner is implied by the credentials. */
function publicSubscription<S extends Subscription>(subscription: S): Omit<S, 'owner'> {
  const { owner: _owner, ...rest } = subscription
  return rest
}

/**
 * Every route of the subscription API (PRODUCT §4), of the service's event ingest, and the
 * OpenAPI document that describes them all.
 */
export function createRoutes(hooks: Hooks): Route[] {
  const documents = new Map<string, string>()
  const routes: Route[] = [
    route({
      method: 'GET',
      path: '/event-types',
      operationId: 'listEventTypes',
      summary: 'The registered event names, for pickers',
      auth: 'owner',
      success: { status: 200, description: 'The event types', schema: eventTypesSchema },
      handle: async () => json(200, { data: hooks.events.names().map((name) => ({ name })) }),
    }),
    route({
      method: 'POST',
      path: '/hooks',
      operationId: 'subscribe',
      summary: 'Subscribe a target URL to an event name or pattern',
      auth: 'owner',
      body: subscribeBody,
      success: {
        status: 201,
        description: 'The subscription, with its secret (shown this once)',
        schema: subscriptionWithSecretSchema,
      },
      async handle({ owner, body, basePath }) {
        const { target, target_url, url, ...rest } = body
        const given = [target, target_url, url].filter((value) => value !== undefined)
        if (given.length !== 1) {
          return problem(
            'validation',
            'give the target URL once, as target (or target_url, or url)',
            {
              errors: [{ field: 'target', message: 'required, exactly once' }],
            },
          )
        }
        const subscription = await hooks.subscribe({ ...rest, owner, target: given[0] as string })
        return json(201, publicSubscription(subscription), {
          location: `${basePath}/hooks/${subscription.id}`,
        })
      },
    }),
    route({
      method: 'GET',
      path: '/hooks',
      operationId: 'listSubscriptions',
      summary: 'The owner’s subscriptions, newest first',
      auth: 'owner',
      query: listHooksQuery,
      success: { status: 200, description: 'A page', schema: pageOf(subscriptionSchema) },
      async handle({ owner, query }) {
        const page = await hooks.listSubscriptions({
          owner,
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
          ...(query.event !== undefined ? { event: query.event } : {}),
        })
        return json(200, { data: page.data.map(publicSubscription), next: page.next })
      },
    }),
    route({
      method: 'GET',
      path: '/hooks/{id}',
      operationId: 'getSubscription',
      summary: 'One subscription (never its secret)',
      auth: 'owner',
      success: { status: 200, description: 'The subscription', schema: subscriptionSchema },
      errors: [404],
      async handle({ owner, params }) {
        const subscription = await hooks.getSubscription(params.id ?? '', { owner })
        return subscription
          ? json(200, publicSubscription(subscription))
          : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'PATCH',
      path: '/hooks/{id}',
      operationId: 'updateSubscription',
      summary: 'Change a subscription; {"active": true} re-enables a disabled one',
      auth: 'owner',
      body: updateBody,
      success: { status: 200, description: 'The subscription', schema: subscriptionSchema },
      errors: [404],
      async handle({ owner, params, body }) {
        const subscription = await hooks.updateSubscription(params.id ?? '', body ?? {}, { owner })
        return subscription
          ? json(200, publicSubscription(subscription))
          : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'DELETE',
      path: '/hooks/{id}',
      operationId: 'unsubscribe',
      summary: 'Unsubscribe (removes the delivery log with it)',
      auth: 'owner',
      success: { status: 204, description: 'Removed' },
      errors: [404],
      async handle({ owner, params }) {
        return (await hooks.unsubscribe(params.id ?? '', { owner }))
          ? new Response(null, { status: 204 })
          : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'POST',
      path: '/hooks/{id}/rotate-secret',
      operationId: 'rotateSecret',
      summary: 'A new secret; the old one keeps signing beside it for 24 hours',
      auth: 'owner',
      success: {
        status: 200,
        description: 'The subscription with its new secret',
        schema: subscriptionWithSecretSchema,
      },
      errors: [404],
      async handle({ owner, params }) {
        const subscription = await hooks.rotateSecret(params.id ?? '', { owner })
        return subscription
          ? json(200, publicSubscription(subscription))
          : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'POST',
      path: '/hooks/{id}/test',
      operationId: 'sendTestEvent',
      summary: 'Send a hook.test event to this subscription only',
      auth: 'owner',
      success: { status: 202, description: 'Queued', schema: dispatchResultSchema },
      errors: [404],
      async handle({ owner, params }) {
        const result = await hooks.sendTest(params.id ?? '', { owner })
        return result ? json(202, result) : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'GET',
      path: '/hooks/{id}/deliveries',
      operationId: 'listDeliveries',
      summary: 'The subscription’s delivery log, newest first',
      auth: 'owner',
      query: listDeliveriesQuery,
      success: { status: 200, description: 'A page', schema: pageOf(deliverySchema) },
      errors: [404],
      async handle({ owner, params, query }) {
        const page = await hooks.listDeliveries({
          owner,
          subscriptionId: params.id ?? '',
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
          ...(query.status !== undefined ? { status: query.status } : {}),
        })
        return page ? json(200, page) : notFound('subscription', params.id ?? '')
      },
    }),
    route({
      method: 'POST',
      path: '/hooks/{id}/replay',
      operationId: 'replayFailedDeliveries',
      summary: 'Re-queue the subscription’s failed deliveries since a time',
      auth: 'owner',
      body: replayBody,
      success: { status: 202, description: 'How many were re-queued', schema: replayResultSchema },
      errors: [404],
      async handle({ owner, params, body }) {
        const replayed = await hooks.replay(params.id ?? '', { owner, since: body.since })
        return replayed === undefined
          ? notFound('subscription', params.id ?? '')
          : json(202, { replayed })
      },
    }),
    route({
      method: 'GET',
      path: '/deliveries/{id}',
      operationId: 'getDelivery',
      summary: 'One delivery with all its attempts',
      auth: 'owner',
      success: { status: 200, description: 'The delivery', schema: deliveryWithAttemptsSchema },
      errors: [404],
      async handle({ owner, params }) {
        const delivery = await hooks.getDelivery(params.id ?? '', { owner })
        return delivery ? json(200, delivery) : notFound('delivery', params.id ?? '')
      },
    }),
    route({
      method: 'POST',
      path: '/deliveries/{id}/retry',
      operationId: 'retryDelivery',
      summary: 'Deliver again now',
      auth: 'owner',
      success: { status: 202, description: 'Queued' },
      errors: [404],
      async handle({ owner, params }) {
        return (await hooks.retryDelivery(params.id ?? '', { owner }))
          ? new Response(null, { status: 202 })
          : notFound('delivery', params.id ?? '')
      },
    }),
    route({
      method: 'GET',
      path: '/events',
      operationId: 'listEvents',
      summary: 'The owner’s recent events, oldest first (the polling fallback)',
      auth: 'owner',
      query: listEventsQuery,
      success: { status: 200, description: 'A page', schema: pageOf(eventSchema) },
      async handle({ owner, query }) {
        const page = await hooks.listEvents({
          owner,
          ...(query.after !== undefined ? { after: query.after } : {}),
          ...(query.limit !== undefined ? { limit: query.limit } : {}),
        })
        return json(200, page)
      },
    }),
    route({
      method: 'POST',
      path: '/events',
      operationId: 'ingestEvent',
      summary: 'Dispatch an event (the producer, with the admin key)',
      auth: 'producer',
      body: ingestBody,
      success: { status: 202, description: 'Queued', schema: dispatchResultSchema },
      errors: [403],
      async handle({ body }) {
        try {
          const result = await hooks.rawEvent(body.event, body.data, {
            ...(body.owner !== undefined ? { owner: body.owner } : {}),
            ...(body.broadcast !== undefined ? { broadcast: body.broadcast } : {}),
          })
          return json(202, result ?? { id: null, deliveries: 0 })
        } catch (error) {
          if (!(error instanceof EventError)) throw error
          // The body's shape was checked above: what is left is the name, or the data.
          const field = hooks.events.get(body.event) ? 'data' : 'event'
          return problem('invalid-event', error.message, {
            errors: [{ field, message: error.message }],
          })
        }
      },
    }),
    route({
      method: 'POST',
      path: '/event-types',
      operationId: 'registerEventTypes',
      summary: 'Register event types (the producer, with the admin key)',
      auth: 'producer',
      body: registerEventTypesBody,
      success: { status: 201, description: 'The event types', schema: eventTypesSchema },
      errors: [403],
      async handle({ body }) {
        await hooks.registerEvents(body.events)
        return json(201, { data: hooks.events.names().map((name) => ({ name })) })
      },
    }),
    route({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI 3.1 document',
      auth: 'public',
      success: { status: 200, description: 'The OpenAPI 3.1 document' },
      async handle({ basePath }) {
        let document = documents.get(basePath)
        if (document === undefined) {
          document = JSON.stringify(createOpenApiDocument(routes, basePath))
          documents.set(basePath, document)
        }
        return new Response(document, { headers: { 'content-type': 'application/json' } })
      },
    }),
  ]
  return routes
}
