import { type AdminContext, noticeOf } from '../context.ts'
import { chartData, loadOverview, windowOf } from '../overview-model.ts'
import { overviewPage } from '../pages/overview-page.ts'
import { jsonResponse } from '../responses.ts'

/** GET /: the overview. */
export async function showOverview(context: AdminContext): Promise<Response> {
  const { hooks, url, now } = context
  const model = await loadOverview(hooks, windowOf(url), now)
  return overviewPage(context.base, context.operator, model, now, noticeOf(url))
}

/** GET /overview.json: the charts' data, which the page's script refreshes. */
export async function overviewJson(context: AdminContext): Promise<Response> {
  return jsonResponse(200, await chartData(context.hooks, windowOf(context.url), context.now))
}
