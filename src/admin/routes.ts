import * as deliveries from './handlers/deliveries.ts'
import * as overview from './handlers/overview.ts'
import * as subscriptions from './handlers/subscriptions.ts'
import type { AdminRoute } from './router.ts'

/** Every page and action of the dashboard, in matching order. */
export const adminRoutes: readonly AdminRoute[] = [
  { method: 'GET', path: '/', handle: overview.showOverview },
  { method: 'GET', path: '/overview.json', handle: overview.overviewJson },
  { method: 'GET', path: '/subscriptions', handle: subscriptions.listSubscriptions },
  { method: 'POST', path: '/subscriptions', handle: subscriptions.createSubscription },
  { method: 'GET', path: '/subscriptions/new', handle: subscriptions.newSubscription },
  { method: 'GET', path: '/subscriptions/{id}', handle: subscriptions.showSubscription },
  { method: 'POST', path: '/subscriptions/{id}', handle: subscriptions.updateSubscription },
  { method: 'GET', path: '/subscriptions/{id}/edit', handle: subscriptions.editSubscription },
  { method: 'GET', path: '/subscriptions/{id}/delete', handle: subscriptions.confirmDelete },
  { method: 'POST', path: '/subscriptions/{id}/delete', handle: subscriptions.deleteSubscription },
  { method: 'POST', path: '/subscriptions/{id}/rotate-secret', handle: subscriptions.rotateSecret },
  { method: 'POST', path: '/subscriptions/{id}/test', handle: subscriptions.sendTest },
  { method: 'POST', path: '/subscriptions/{id}/enable', handle: subscriptions.enableSubscription },
  {
    method: 'POST',
    path: '/subscriptions/{id}/disable',
    handle: subscriptions.disableSubscription,
  },
  { method: 'POST', path: '/preview', handle: subscriptions.preview },
  { method: 'GET', path: '/deliveries', handle: deliveries.listDeliveries },
  { method: 'POST', path: '/deliveries/replay', handle: deliveries.replayDeliveries },
  { method: 'GET', path: '/deliveries/{id}', handle: deliveries.showDelivery },
  { method: 'POST', path: '/deliveries/{id}/retry', handle: deliveries.retryDelivery },
]

/** Routes whose handlers report NUL characters field by field themselves (the subscription form). */
export const NUL_CHECKED_ROUTES: ReadonlySet<AdminRoute> = new Set(
  adminRoutes.filter(
    (route) =>
      route.handle === subscriptions.createSubscription ||
      route.handle === subscriptions.updateSubscription ||
      route.handle === subscriptions.preview,
  ),
)
