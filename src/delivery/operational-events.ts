/** Emitted after a delivery attempt got a 2xx. */
export interface DeliverySucceeded {
  deliveryId: string
  eventId: string
  event: string
  subscriptionId: string
  owner: string
  attempt: number
  status: number
  durationMs: number
}

/** Emitted after a failed attempt that will be retried. */
export interface DeliveryFailed extends Omit<DeliverySucceeded, 'status'> {
  status: number | null
  error: string
  nextAttemptAt: string
}

/** Emitted when a delivery's last attempt failed. */
export interface DeliveryExhausted extends Omit<DeliveryFailed, 'nextAttemptAt'> {}

export interface SubscriptionDisabled {
  subscriptionId: string
  owner: string
  reason: string
}

export interface SubscriptionRemoved {
  subscriptionId: string
  owner: string
  reason: string
}

/**
 * The operational events for the host application, `hooks.on(name, listener)`. `error` reports
 * failures inside the worker's loop, which never throws them out of it.
 */
export interface OperationalEvents {
  'delivery.succeeded': DeliverySucceeded
  'delivery.failed': DeliveryFailed
  'delivery.exhausted': DeliveryExhausted
  'subscription.disabled': SubscriptionDisabled
  'subscription.removed': SubscriptionRemoved
  error: Error
}

export type OperationalEventName = keyof OperationalEvents
export type Listener<K extends OperationalEventName> = (payload: OperationalEvents[K]) => void

/** A small typed emitter; a listener that throws is reported on `error`, never breaks the loop. */
export function createOperationalEmitter() {
  const listeners = new Map<OperationalEventName, Set<(payload: never) => void>>()

  function emit<K extends OperationalEventName>(name: K, payload: OperationalEvents[K]): void {
    const set = listeners.get(name)
    if (!set || set.size === 0) {
      if (name === 'error') console.error('[resthooks]', payload)
      return
    }
    for (const listener of set) {
      try {
        ;(listener as Listener<K>)(payload)
      } catch (error) {
        if (name !== 'error') emit('error', asError(error))
      }
    }
  }

  return {
    on<K extends OperationalEventName>(name: K, listener: Listener<K>): () => void {
      const set = listeners.get(name) ?? new Set()
      listeners.set(name, set)
      set.add(listener as (payload: never) => void)
      return () => set.delete(listener as (payload: never) => void)
    },
    emit,
  }
}

export type OperationalEmitter = ReturnType<typeof createOperationalEmitter>

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error))
}
