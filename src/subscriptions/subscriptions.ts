import { generateSecret } from '../delivery/signature.ts'
import { ValidationError } from '../errors.ts'
import type { EventRegistry } from '../events/event-registry.ts'
import { newId } from '../ids.ts'
import { type Page, pageLimit, toPage } from '../pages.ts'
import { type ContentType, DEFAULT_CONTENT_TYPE } from '../payloads/content-type.ts'
import { templateProblem } from '../payloads/template.ts'
import type { SubscriptionTable } from '../store/schema.ts'
import type { Store } from '../store/store.ts'
import {
  type Metadata,
  type Subscription,
  type SubscriptionWithSecret,
  toSubscription,
} from './subscription.ts'
import {
  parseInput,
  type SubscribeInput,
  subscribeInput,
  type UpdateInput,
  updateInput,
} from './subscription-input.ts'

/** How long a rotated-out secret keeps signing beside the new one (Standard Webhooks). */
export const SECRET_GRACE_MS = 24 * 60 * 60 * 1000

export interface ListOptions {
  owner: string
  /** @default 50 (at most 250) */
  limit?: number
  cursor?: string | null
  /** Only subscriptions to exactly this event name or pattern. */
  event?: string
}

/** Scopes a call to one owner: another owner's subscription is treated as unknown. */
export interface OwnerScope {
  owner?: string
}

export interface SubscriptionsDeps {
  store: Store
  registry: EventRegistry
  /** Refuses targets the SSRF guard would never admit (IP literals), at subscribe time. */
  checkTargetHost: (hostname: string) => void
  /** Reloads event types registered by other processes; called before refusing an event. */
  reloadEvents: () => Promise<void>
  /** The form a new secret is stored in: encrypted with `secretEncryptionKey`, or as it is. */
  sealSecret: (secret: string) => string
  now: () => number
}

/** Subscribe, read, list, change, unsubscribe and rotate secrets, each scoped to an owner. */
export function createSubscriptions<M extends Metadata>(deps: SubscriptionsDeps) {
  const { store, registry, now } = deps

  async function checkSemantics(input: {
    event?: string | undefined
    target?: string | undefined
  }) {
    const errors = []
    if (input.event !== undefined) {
      let problem = registry.patternProblem(input.event)
      if (problem) {
        await deps.reloadEvents()
        problem = registry.patternProblem(input.event)
      }
      if (problem) errors.push({ field: 'event', message: problem })
    }
    if (input.target !== undefined) {
      try {
        deps.checkTargetHost(new URL(input.target).hostname)
      } catch (error) {
        // Said to the subscriber, who cannot change the operator's allow-list.
        const reason = (error as { reason?: string }).reason ?? (error as Error).message
        errors.push({
          field: 'target',
          message: `this address is not allowed as a target: ${reason}`,
        })
      }
    }
    if (errors.length > 0) throw new ValidationError(errors)
  }

  /** A template must render a valid body of the subscription's content type. */
  function checkTemplate(template: string | null, contentType: ContentType): void {
    const problem = template === null ? null : templateProblem(template, contentType)
    if (problem) throw new ValidationError([{ field: 'template', message: problem }])
  }

  async function findOrUndefined(id: string, scope: OwnerScope) {
    return typeof id === 'string' ? store.findSubscription(id, scope.owner) : undefined
  }

  return {
    /** Validates and stores a new subscription; returns it with its secret, shown this once. */
    async subscribe(
      input: SubscribeInput & { metadata?: M | undefined },
    ): Promise<SubscriptionWithSecret<M>> {
      const valid = parseInput(subscribeInput, input)
      await checkSemantics(valid)
      const contentType = valid.contentType ?? DEFAULT_CONTENT_TYPE
      checkTemplate(valid.template ?? null, contentType)
      const at = now()
      const secret = generateSecret()
      const row: SubscriptionTable = {
        id: newId('hook'),
        owner: valid.owner,
        event: valid.event,
        target: valid.target,
        status: valid.active === false ? 'disabled' : 'active',
        disabled_reason: valid.active === false ? 'disabled by its owner' : null,
        method: valid.method ?? 'POST',
        content_type: contentType,
        headers: JSON.stringify(valid.headers ?? {}),
        filter: valid.filter ? JSON.stringify(valid.filter) : null,
        template: valid.template ?? null,
        payload: valid.payload ?? 'full',
        hmac_digest: valid.hmacDigest ?? null,
        metadata: JSON.stringify(valid.metadata ?? {}),
        secret: deps.sealSecret(secret),
        previous_secret: null,
        previous_secret_expires_at: null,
        failing_since: null,
        created_at: at,
        updated_at: at,
      }
      await store.insertSubscription(row)
      return { ...toSubscription<M>(row), secret }
    },

    /** The subscription, or undefined when unknown (or another owner's). */
    async get(id: string, scope: OwnerScope = {}): Promise<Subscription<M> | undefined> {
      const row = await findOrUndefined(id, scope)
      return row && toSubscription<M>(row)
    },

    /** The owner's subscriptions, newest first, a page at a time. */
    async list(options: ListOptions): Promise<Page<Subscription<M>>> {
      const limit = pageLimit(options.limit)
      const rows = await store.listSubscriptions({
        owner: options.owner,
        limit: limit + 1,
        ...(options.cursor ? { before: options.cursor } : {}),
        ...(options.event !== undefined ? { event: options.event } : {}),
      })
      return toPage(rows, limit, (row) => toSubscription<M>(row))
    },

    /**
     * Changes the given fields. `active: true` re-enables a disabled subscription (and clears
     * its failure history); `active: false` disables it. Undefined when unknown.
     */
    async update(
      id: string,
      changes: UpdateInput & { metadata?: M | undefined },
      scope: OwnerScope = {},
    ): Promise<Subscription<M> | undefined> {
      const valid = parseInput(updateInput, changes)
      await checkSemantics(valid)
      if (valid.template !== undefined || valid.contentType !== undefined) {
        const current = await findOrUndefined(id, scope)
        if (!current) return undefined
        checkTemplate(
          valid.template !== undefined ? valid.template : current.template,
          valid.contentType ?? (current.content_type as ContentType),
        )
      }
      const patch: Partial<SubscriptionTable> = { updated_at: now() }
      if (valid.event !== undefined) patch.event = valid.event
      if (valid.target !== undefined) patch.target = valid.target
      if (valid.method !== undefined) patch.method = valid.method
      if (valid.headers !== undefined) patch.headers = JSON.stringify(valid.headers)
      if (valid.payload !== undefined) patch.payload = valid.payload
      if (valid.hmacDigest !== undefined) patch.hmac_digest = valid.hmacDigest
      if (valid.metadata !== undefined) patch.metadata = JSON.stringify(valid.metadata)
      if (valid.contentType !== undefined) patch.content_type = valid.contentType
      if (valid.template !== undefined) patch.template = valid.template
      if (valid.filter !== undefined) {
        patch.filter = valid.filter === null ? null : JSON.stringify(valid.filter)
      }
      if (valid.active === true) {
        Object.assign(patch, { status: 'active', disabled_reason: null, failing_since: null })
      } else if (valid.active === false) {
        Object.assign(patch, { status: 'disabled', disabled_reason: 'disabled by its owner' })
      }
      const row = await store.updateSubscription(id, scope.owner, patch)
      return row && toSubscription<M>(row)
    },

    /** Removes the subscription and its delivery log; false when unknown. */
    async unsubscribe(id: string, scope: OwnerScope = {}): Promise<boolean> {
      return store.deleteSubscription(id, scope.owner)
    },

    /**
     * Gives the subscription a new secret, returned this once; the old one keeps signing beside
     * it for 24 hours so that receivers can switch without losing a delivery. With
     * `secretEncryptionKey`, the new secret is stored encrypted (a plaintext one is thus
     * re-encrypted by rotating it).
     */
    async rotateSecret(
      id: string,
      scope: OwnerScope = {},
    ): Promise<SubscriptionWithSecret<M> | undefined> {
      if (typeof id !== 'string') return undefined
      const at = now()
      const secret = generateSecret()
      const sealed = deps.sealSecret(secret)
      const row = await store.rotateSecret(id, scope.owner, sealed, at + SECRET_GRACE_MS, at)
      return row && { ...toSubscription<M>(row), secret }
    },
  }
}

export type Subscriptions<M extends Metadata = Metadata> = ReturnType<typeof createSubscriptions<M>>
