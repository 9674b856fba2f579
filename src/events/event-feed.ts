import { type Page, pageLimit, toPage } from '../pages.ts'
import type { EventTable } from '../store/schema.ts'
import type { Store } from '../store/store.ts'

/** A stored event occurrence, as the owner's feed (`GET /events`) shows it. */
export interface EventRecord {
  id: string
  type: string
  timestamp: string
  data: unknown
  ref: string | null
}

export interface EventFeedOptions {
  owner: string
  /** Only events after this event id (the feed's cursor). */
  after?: string | null
  /** @default 50 (at most 250) */
  limit?: number
}

/**
 * The owner's recent events, oldest first: its own and the ones sent to every owner. A polling
 * fallback for subscribers that missed deliveries: pass the last id seen as `after`.
 */
export async function listEvents(
  store: Store,
  options: EventFeedOptions,
): Promise<Page<EventRecord>> {
  const limit = pageLimit(options.limit)
  const rows = await store.listEvents(options.owner, options.after ?? undefined, limit + 1)
  return toPage(rows, limit, toEventRecord)
}

function toEventRecord(row: EventTable): EventRecord {
  return {
    id: row.id,
    type: row.name,
    timestamp: new Date(Number(row.created_at)).toISOString(),
    data: JSON.parse(row.data) as unknown,
    ref: row.ref,
  }
}
