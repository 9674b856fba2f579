import type { Hooks } from '../hooks.ts'

/** The signed-in operator: the CSRF token of their forms, and whether they signed in here. */
export interface Operator {
  csrf: string
  /** Signed in with the admin key on the dashboard's own sign-in page (so may sign out here). */
  canSignOut: boolean
}

/** What a dashboard handler gets. */
export interface AdminContext {
  hooks: Hooks
  request: Request
  url: URL
  /** The base path the dashboard is mounted under ('' or e.g. '/admin'). */
  base: string
  params: Record<string, string>
  operator: Operator
  /** The posted form (state-changing routes only, CSRF-checked); empty for GETs. */
  form: URLSearchParams
  now: number
}

/** A dashboard handler. */
export type AdminHandler = (context: AdminContext) => Promise<Response>

/** Short confirmations shown after a redirect (`?done=…`): fixed texts, never the URL's. */
export function noticeOf(url: URL): string | null {
  const done = url.searchParams.get('done')
  const count = Number(url.searchParams.get('count') ?? '0')
  switch (done) {
    case 'updated':
      return 'Saved.'
    case 'deleted':
      return 'The subscription was deleted, with its delivery log.'
    case 'test-sent':
      return 'A hook.test event is on its way to this subscription.'
    case 'enabled':
      return 'Enabled: new events are delivered to it again.'
    case 'disabled':
      return 'Disabled: it gets no new deliveries until it is enabled.'
    case 'retried':
      return 'Queued: the delivery will be attempted again now.'
    case 'in-flight':
      return 'This delivery is being attempted right now; its result will show here.'
    case 'replayed':
      return Number.isSafeInteger(count) && count >= 0
        ? `${count} failed ${count === 1 ? 'delivery was' : 'deliveries were'} queued again.`
        : null
    case 'signed-out':
      return 'You are signed out.'
    default:
      return null
  }
}
