import { EventError, PayloadTooLargeError } from '../errors.ts'
import { patternsMatching } from '../events/event-pattern.ts'
import type { EventRegistry, RegisteredEvent } from '../events/event-registry.ts'
import { type OwnerResolver, ownerProblem, ownerString } from '../events/owner.ts'
import { newId } from '../ids.ts'
import type { DeliveryTable, EventTable, SubscriptionTable } from '../store/schema.ts'
import type { Store } from '../store/store.ts'
import { compiledFilter, type FilterInput } from '../subscriptions/filter.ts'
import { type Subscription, toSubscription } from '../subscriptions/subscription.ts'
import { type TransactionLike, toSqlExecutor } from '../tx/index.ts'
import type { SqlExecutor } from '../tx/sql-executor.ts'
import { hasHookPayload, type Serializer, toJsonText } from './serialize.ts'

/** Options of `modelEvent` and `rawEvent`. */
export interface DispatchOptions {
  /**
   * The application's open transaction: the event and its deliveries are written through it,
   * so they commit or roll back with the model change. Without it they commit at once.
   */
  tx?: TransactionLike
}

/** Options of `modelEvent`. */
export interface ModelEventOptions extends DispatchOptions {
  /**
   * The instance as it was before an update, when the application knows it. It is serialized
   * like the instance and lets subscriptions' change conditions (`changed`, `changedTo`,
   * `changedFrom`) see what changed; it is not sent.
   */
  previous?: object
}

export interface RawEventOptions extends DispatchOptions {
  /** The owner whose subscriptions receive the event. */
  owner?: string
  /** Send to the matching subscriptions of every owner. */
  broadcast?: boolean
}

/** What was dispatched: the event's id and how many deliveries were queued. */
export interface DispatchResult {
  id: string
  deliveries: number
}

/** The event as the `match` predicate sees it. */
export interface MatchEvent {
  id: string
  name: string
  owner: string | null
  data: unknown
  /** The previous data of an update, when `modelEvent` was given `{ previous }`. */
  previous?: unknown
}

/** A stored filter that no longer validates (changed by hand in the database) matches nothing. */
function filterMatches(filter: string, input: FilterInput): boolean {
  try {
    return compiledFilter(filter)(input)
  } catch {
    return false
  }
}

export interface DispatcherDeps {
  store: Store
  registry: EventRegistry
  enabled: boolean
  owner: OwnerResolver
  serializers: Record<string, Serializer>
  refs: Record<string, (instance: never) => string | null | undefined>
  match: ((subscription: Subscription, event: MatchEvent) => boolean) | undefined
  maxBodyBytes: number
  now: () => number
  /** Called after the store's own transaction committed new deliveries. */
  onCommitted: () => void
  /** Reloads event types registered by other processes; called before refusing a name. */
  reloadEvents: () => Promise<void>
}

interface Occurrence {
  event: RegisteredEvent | { name: string }
  owner: string | null
  data: string
  /** The serialized previous values of an update, as JSON text, when known. */
  previous?: string
  ref: string | null
  /** A body per subscription (`toHookPayload`), fixed at dispatch. */
  bodyFor?: (subscription: SubscriptionTable) => string
  /** The one subscription a test event goes to, instead of the matching ones. */
  only?: SubscriptionTable
}

/**
 * Delivery ids offered with an event that the database matches itself (Store.dispatchEvent):
 * enough for most events in one round trip; a fan-out to more takes a second.
 */
const DELIVERY_IDS_OFFERED = 8

/** Turns model changes and custom events into one event row and its delivery rows. */
export function createDispatcher(deps: DispatcherDeps) {
  const { store, registry } = deps

  function checkSize(text: string, what: string): string {
    const bytes = Buffer.byteLength(text)
    if (bytes > deps.maxBodyBytes) {
      throw new PayloadTooLargeError(
        `${what} is ${bytes} bytes, over the maximum body size of ${deps.maxBodyBytes} bytes (options.maxBodyBytes)`,
      )
    }
    return text
  }

  /**
   * Keeps the subscriptions whose filter matches the event's data (and previous data), then
   * those the `match` option admits. Parses the data only when something needs it.
   */
  function narrow(
    subscriptions: SubscriptionTable[],
    event: EventTable,
    occurrence: Occurrence,
  ): SubscriptionTable[] {
    const { match } = deps
    if (!match && subscriptions.every((row) => row.filter === null)) return subscriptions
    const input: FilterInput = { data: JSON.parse(event.data) }
    if (occurrence.previous !== undefined) input.previous = JSON.parse(occurrence.previous)
    const kept = subscriptions.filter(
      (row) => row.filter === null || filterMatches(row.filter, input),
    )
    if (!match) return kept
    const seen: MatchEvent = {
      id: event.id,
      name: event.name,
      owner: event.owner,
      data: input.data,
      ...(input.previous !== undefined ? { previous: input.previous } : {}),
    }
    return kept.filter((row) => match(toSubscription(row), seen))
  }

  async function write(occurrence: Occurrence, executor: SqlExecutor): Promise<DispatchResult> {
    const at = deps.now()
    const event: EventTable = {
      id: newId('evt'),
      name: occurrence.event.name,
      owner: occurrence.owner,
      data: occurrence.data,
      ref: occurrence.ref,
      created_at: at,
    }
    let subscriptions: SubscriptionTable[]
    if (occurrence.only) {
      subscriptions = [occurrence.only]
    } else {
      const patterns = patternsMatching(event.name)
      let candidates: SubscriptionTable[] | undefined
      if (store.dispatchEvent && !occurrence.bodyFor && !deps.match) {
        // One round trip where the database can (PostgreSQL): the lookup and the write together.
        let ids = DELIVERY_IDS_OFFERED
        for (;;) {
          const deliveryIds = Array.from({ length: ids }, () => newId('dlv'))
          const dispatched = await store.dispatchEvent(executor, event, patterns, deliveryIds)
          if (dispatched === null) break
          if ('written' in dispatched) return { id: event.id, deliveries: dispatched.written }
          if ('candidates' in dispatched) {
            candidates = dispatched.candidates
            break
          }
          // More matches than ids (a fan-out): as many as it found, and a few more in case
          // subscriptions are added meanwhile.
          ids = dispatched.needIds + DELIVERY_IDS_OFFERED
        }
      }
      subscriptions = narrow(
        candidates ?? (await store.findMatchingSubscriptions(executor, patterns, occurrence.owner)),
        event,
        occurrence,
      )
    }
    const deliveries: DeliveryTable[] = subscriptions.map((subscription) => ({
      id: newId('dlv'),
      event_id: event.id,
      subscription_id: subscription.id,
      owner: subscription.owner,
      status: 'pending',
      attempts: 0,
      next_attempt_at: at,
      lease_token: null,
      body: occurrence.bodyFor
        ? checkSize(occurrence.bodyFor(subscription), `the toHookPayload() body of '${event.name}'`)
        : null,
      last_status: null,
      last_error: null,
      created_at: at,
      updated_at: at,
    }))
    await store.writeEvent(executor, event, deliveries)
    return { id: event.id, deliveries: deliveries.length }
  }

  async function dispatch(
    occurrence: Occurrence,
    options: DispatchOptions,
  ): Promise<DispatchResult> {
    if (options.tx !== undefined) {
      // Committed by the application later; the worker notices the commit by itself.
      return write(occurrence, toSqlExecutor(options.tx))
    }
    const result = await store.transaction((executor) => write(occurrence, executor))
    if (result.deliveries > 0) deps.onCommitted()
    return result
  }

  return {
    /**
     * Sends a `hook.test` event to this subscription only, whatever its event pattern, so that
     * its owner can check the receiver (`POST /hooks/{id}/test`). It is delivered, signed and
     * retried like any other event.
     */
    async sendTest(subscription: SubscriptionTable): Promise<DispatchResult> {
      const data = toJsonText(
        {
          message: 'A test event from resthooks: your endpoint receives webhooks.',
          subscription: subscription.id,
        },
        'the test event',
      )
      return dispatch(
        {
          event: { name: 'hook.test' },
          owner: subscription.owner,
          data,
          ref: null,
          only: subscription,
        },
        {},
      )
    },

    /**
     * Dispatches the event mapped to `Model.action` for `instance`. Resolves to null when no
     * event is mapped to it (ORM integrations call this for every change) or dispatch is off.
     */
    async modelEvent(
      model: string,
      action: string,
      instance: unknown,
      options: ModelEventOptions = {},
    ): Promise<DispatchResult | null> {
      if (!deps.enabled) return null
      if (typeof model !== 'string' || typeof action !== 'string') {
        throw new EventError(
          'modelEvent(model, action, instance) takes the model and action as strings',
        )
      }
      const event = registry.forModelAction(model, action)
      if (!event) return null
      if (instance === null || typeof instance !== 'object') {
        throw new EventError(`modelEvent('${model}', '${action}'): the instance must be an object`)
      }
      let owner: string | null = null
      if (!event.broadcast) {
        owner = ownerString(await deps.owner(instance, model, { action, tx: options.tx }))
        if (owner === null) {
          throw new EventError(
            `cannot find the owner of this ${model} for '${event.name}': the owner option returned nothing (by default it reads ownerId, userId, then user.id); map the event as '${model}.${action}+' to send it to every owner`,
          )
        }
        const badOwner = ownerProblem(owner)
        if (badOwner) throw new EventError(`the owner of this ${model} ${badOwner}`)
      }
      const what = `the data of '${event.name}' (${model})`
      const serializer = deps.serializers[model]
      const context = { model, action, event: event.name }
      const data = checkSize(
        toJsonText(serializer ? serializer(instance, context) : instance, what),
        what,
      )
      const refOf = deps.refs[model]
      const ref = refOf ? (refOf(instance as never) ?? null) : null
      const occurrence: Occurrence = { event, owner, data, ref }
      if (options.previous !== undefined) {
        if (options.previous === null || typeof options.previous !== 'object') {
          throw new EventError(
            `modelEvent('${model}', '${action}'): options.previous must be the instance's previous values, an object`,
          )
        }
        const previous = serializer ? serializer(options.previous, context) : options.previous
        occurrence.previous = toJsonText(
          previous,
          `the previous data of '${event.name}' (${model})`,
        )
      }
      if (!serializer && hasHookPayload(instance)) {
        occurrence.bodyFor = (subscription) =>
          toJsonText(
            instance.toHookPayload({
              id: subscription.id,
              event: subscription.event,
              target: subscription.target,
            }),
            `the toHookPayload() body of '${event.name}'`,
          )
      }
      return dispatch(occurrence, options)
    },

    /**
     * Dispatches a custom event with its own payload (under `data`), to `owner`'s subscriptions
     * or, with `broadcast: true`, to every owner's.
     */
    async rawEvent(
      name: string,
      payload: unknown,
      options: RawEventOptions,
    ): Promise<DispatchResult | null> {
      if (!deps.enabled) return null
      let event = typeof name === 'string' ? registry.get(name) : undefined
      if (!event && typeof name === 'string') {
        await deps.reloadEvents()
        event = registry.get(name)
      }
      if (!event) {
        throw new EventError(
          `unknown event '${String(name)}'; register it in options.events (registered: ${registry.names().join(', ') || 'none'})`,
        )
      }
      const owner = options?.owner === undefined ? null : ownerString(options.owner)
      const broadcast = options?.broadcast === true
      if (owner === null && !broadcast) {
        throw new EventError(`rawEvent('${name}') needs { owner } or { broadcast: true }`)
      }
      if (owner !== null && broadcast) {
        throw new EventError(`rawEvent('${name}') takes { owner } or { broadcast: true }, not both`)
      }
      const badOwner = owner === null ? null : ownerProblem(owner)
      if (badOwner) throw new EventError(`the owner of '${name}' ${badOwner}`)
      const what = `the payload of '${name}'`
      const data = checkSize(toJsonText(payload, what), what)
      return dispatch({ event, owner, data, ref: null }, options)
    },
  }
}

export type Dispatcher = ReturnType<typeof createDispatcher>
