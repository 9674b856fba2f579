import type { Store } from '../store/store.ts'
import type { EventMap, EventRegistry } from './event-registry.ts'

/** Reloads happen at most this often, so unknown names cannot flood the store with reads. */
const RELOAD_INTERVAL_MS = 250

/**
 * Event types registered at run time (the service's `POST /event-types`): stored, so that every
 * process and every restart knows them. A process that meets a name it does not know reloads
 * the stored types before refusing it, so a type registered elsewhere counts at once.
 */
export function createEventTypes(store: Store, registry: EventRegistry) {
  let lastReload = 0
  let reloading: Promise<void> | null = null

  async function load(): Promise<void> {
    const rows = await store.listEventTypes()
    const map: EventMap = {}
    for (const row of rows) map[row.name] = row.mapping
    registry.register(map, 'stored event types')
  }

  return {
    load,
    /** Registers `map` here (same checks as the `events` option) and stores it for the others. */
    async register(map: EventMap): Promise<void> {
      registry.register(map, 'events')
      const now = Date.now()
      await store.saveEventTypes(
        Object.entries(map).map(([name, mapping]) => ({ name, mapping, created_at: now })),
      )
    },
    /** Reloads the stored types, unless that was done within the last 250 ms. */
    reload(): Promise<void> {
      if (reloading) return reloading
      if (Date.now() - lastReload < RELOAD_INTERVAL_MS) return Promise.resolve()
      lastReload = Date.now()
      reloading = load().finally(() => {
        reloading = null
      })
      return reloading
    },
  }
}
