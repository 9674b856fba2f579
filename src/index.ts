/**
 * resthooks: REST Hooks for TypeScript. Owners subscribe URLs to named events; model changes
 * and custom events are written to an outbox in the application's own transaction and
 * delivered as signed, retried HTTP requests.
 *
 * @module
 */

export type { AdminOptions } from './admin/admin.ts'
export type {
  Attempt,
  Delivery,
  DeliveryListOptions,
  DeliveryWithAttempts,
} from './delivery/delivery-log.ts'
export type * from './delivery/operational-events.ts'
export type { PruneOptions, PruneTotals } from './delivery/retention.ts'
export type { RetryOptions } from './delivery/retry-schedule.ts'
export { type TargetLookup, TargetRefusedError } from './delivery/target-guard.ts'
export type { Transport, TransportRequest, TransportResponse } from './delivery/transport.ts'
export type {
  DeliverPendingOptions,
  DeliveryTotals,
  Worker,
  WorkerOptions,
} from './delivery/worker.ts'
export type {
  DispatchOptions,
  DispatchResult,
  MatchEvent,
  ModelEventOptions,
  RawEventOptions,
} from './dispatch/dispatcher.ts'
export type { HookInfo, HookPayloadSource, Serializer } from './dispatch/serialize.ts'
export {
  ConfigurationError,
  EventError,
  type FieldError,
  PayloadTooLargeError,
  ValidationError,
} from './errors.ts'
export type { EventFeedOptions, EventRecord } from './events/event-feed.ts'
export type { EventMap, EventRegistry, RegisteredEvent } from './events/event-registry.ts'
export {
  defaultOwner,
  type OwnerContext,
  type OwnerResolver,
  type OwnerValue,
} from './events/owner.ts'
export { createHooks, type Hooks, type HooksOptions } from './hooks.ts'
export type { Page } from './pages.ts'
export type { Store } from './store/store.ts'
export { SecretDecryptionError } from './subscriptions/secret-box.ts'
export type {
  HmacDigest,
  HttpMethod,
  Metadata,
  Subscription,
  SubscriptionWithSecret,
} from './subscriptions/subscription.ts'
export type { SubscribeInput, UpdateInput } from './subscriptions/subscription-input.ts'
export type { ListOptions, OwnerScope } from './subscriptions/subscriptions.ts'
export {
  type DrizzleLike,
  fromDrizzle,
  fromKysely,
  fromNodeSqlite,
  fromPg,
  fromPrisma,
  fromTypeORM,
  isTypeORMLike,
  type PrismaTransactionLike,
  type SqlExecutor,
  type TransactionLike,
} from './tx/index.ts'
export { VERSION } from './version.ts'
