import { compilePath } from '../http/route.ts'
import type { AdminHandler } from './context.ts'

/** One route of the dashboard. */
export interface AdminRoute {
  method: 'GET' | 'POST'
  /** With `{name}` parameters, relative to the base path. */
  path: string
  handle: AdminHandler
}

/** What a request's method and path lead to. */
export type RouteMatch =
  | { route: AdminRoute; params: Record<string, string> }
  | { allow: string[] }
  | null

/** Matches routes in order (so `/subscriptions/new` goes before `/subscriptions/{id}`). */
export function createRouter(routes: readonly AdminRoute[]) {
  const compiled = routes.map((route) => ({ route, match: compilePath(route.path) }))
  return (method: string, pathname: string): RouteMatch => {
    const wanted = method === 'HEAD' ? 'GET' : method
    const allow = new Set<string>()
    for (const { route, match } of compiled) {
      const params = match(pathname)
      if (params === null) continue
      if (route.method === wanted) return { route, params }
      allow.add(route.method)
    }
    return allow.size > 0 ? { allow: [...allow] } : null
  }
}
