import type { Operator } from '../context.ts'
import { formatRate } from '../format.ts'
import { html, jsonScriptContent, type SafeHtml } from '../html.ts'
import { actionButton, layout } from '../layout.ts'
import { type OverviewModel, WINDOWS, type WindowKey } from '../overview-model.ts'
import { htmlResponse } from '../responses.ts'
import { failureReason, outcomeBadge, timeText } from './parts.ts'

function tile(value: number, label: string, tone: 'ok' | 'bad' | '' = ''): SafeHtml {
  return html`<li class="tile${tone ? ` tile-${tone}` : ''}"><span class="value">${value.toLocaleString('en-US')}</span><span class="label">${label}</span></li>`
}

function windowNav(base: string, current: WindowKey): SafeHtml {
  return html`<nav aria-label="Time window" class="actions">
    ${(Object.keys(WINDOWS) as WindowKey[]).map((key) =>
      key === current
        ? html`<a class="button" href="${base}/?window=${key}" aria-current="true">${WINDOWS[key].label}</a>`
        : html`<a class="button secondary" href="${base}/?window=${key}">${WINDOWS[key].label}</a>`,
    )}
  </nav>`
}

function chartTable(model: OverviewModel): SafeHtml {
  const rows = model.chart.buckets.filter((b) => b.succeeded + b.httpErrors + b.noResponse > 0)
  return html`<details>
    <summary>The charts' data as a table</summary>
    ${
      rows.length === 0
        ? html`<p class="muted">No attempts in this window.</p>`
        : html`<div class="table-scroll"><table>
      <thead><tr><th scope="col">From</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">HTTP error</th><th scope="col" class="num">No response</th><th scope="col" class="num">p50 (ms)</th><th scope="col" class="num">p95 (ms)</th></tr></thead>
      <tbody>${rows.map(
        (b) =>
          html`<tr><td>${timeText(b.start)}</td><td class="num">${b.succeeded}</td><td class="num">${b.httpErrors}</td><td class="num">${b.noResponse}</td><td class="num">${b.p50 === null ? '—' : Math.round(b.p50)}</td><td class="num">${b.p95 === null ? '—' : Math.round(b.p95)}</td></tr>`,
      )}</tbody>
    </table></div>`
    }
  </details>`
}

function failingTable(base: string, model: OverviewModel, now: number): SafeHtml {
  if (model.failing.length === 0) {
    return html`<p>No subscription is failing: every active endpoint's latest attempt succeeded.</p>`
  }
  return html`<div class="table-scroll"><table>
    <thead><tr><th scope="col">Target</th><th scope="col">Owner</th><th scope="col">Event</th><th scope="col">Failing since</th><th scope="col">Success, ${WINDOWS[model.window].label.toLowerCase()}</th><th scope="col">Last result</th><th scope="col">Why</th></tr></thead>
    <tbody>${model.failing.map(
      ({ subscription: s, lastStatus, lastError, lastResponseBody, health }) => {
        const rate = health ? formatRate(health.succeeded, health.attempts) : null
        return html`<tr>
        <td class="wrap"><a href="${base}/subscriptions/${encodeURIComponent(s.id)}">${s.target}</a></td>
        <td>${s.owner}</td>
        <td class="mono">${s.event}</td>
        <td>${timeText(s.failing_since, now)}</td>
        <td>${rate === null ? 'no attempts' : `${rate} of ${health?.attempts}`}</td>
        <td>${outcomeBadge(lastStatus, lastError)}</td>
        <td class="error-text">${failureReason(lastStatus, lastError, lastResponseBody)}</td>
      </tr>`
      },
    )}</tbody>
  </table></div>`
}

function disabledTable(base: string, model: OverviewModel, csrf: string, now: number): SafeHtml {
  if (model.disabled.length === 0) return html`<p>No subscription is disabled.</p>`
  return html`<div class="table-scroll"><table>
    <thead><tr><th scope="col">Target</th><th scope="col">Owner</th><th scope="col">Event</th><th scope="col">Disabled</th><th scope="col">Reason</th><th scope="col">Action</th></tr></thead>
    <tbody>${model.disabled.map(
      (s) => html`<tr>
        <td class="wrap"><a href="${base}/subscriptions/${encodeURIComponent(s.id)}">${s.target}</a></td>
        <td>${s.owner}</td>
        <td class="mono">${s.event}</td>
        <td>${timeText(s.updated_at, now)}</td>
        <td class="error-text">${s.disabled_reason ?? '—'}</td>
        <td>${actionButton(`${base}/subscriptions/${encodeURIComponent(s.id)}/enable`, csrf, 'Enable', { hidden: { next: 'overview' } })}</td>
      </tr>`,
    )}</tbody>
  </table></div>`
}

/** The overview: tiles, the two charts (with their data as a table), failing and disabled endpoints. */
export function overviewPage(
  base: string,
  operator: Operator,
  model: OverviewModel,
  now: number,
  notice: string | null,
): Response {
  const { counts, totals } = model
  const windowLabel = WINDOWS[model.window].label.toLowerCase()
  const body = html`
    <h1>Overview</h1>
    ${windowNav(base, model.window)}
    <h2 class="visually-hidden">In numbers</h2>
    <ul class="tiles">
      ${tile(totals.succeeded, `attempts succeeded, ${windowLabel}`, 'ok')}
      ${tile(totals.failed, `attempts failed, ${windowLabel}`, totals.failed > 0 ? 'bad' : '')}
      ${tile(counts.pending, 'deliveries pending')}
      ${tile(counts.active, 'active subscriptions')}
      ${tile(counts.failing, 'failing now', counts.failing > 0 ? 'bad' : '')}
      ${tile(counts.disabled, 'disabled', counts.disabled > 0 ? 'bad' : '')}
    </ul>
    <div class="charts">
      <section class="chart-card" aria-labelledby="chart-outcomes-title">
        <h2 id="chart-outcomes-title">Delivery attempts ${model.chart.bucketLabel}, by outcome</h2>
        <div id="chart-outcomes" class="chart"><p class="chart-empty">The chart needs JavaScript; its data is in the table below.</p></div>
      </section>
      <section class="chart-card" aria-labelledby="chart-latency-title">
        <h2 id="chart-latency-title">Response time, p50 and p95 (ms)</h2>
        <div id="chart-latency" class="chart"><p class="chart-empty">The chart needs JavaScript; its data is in the table below.</p></div>
      </section>
    </div>
    ${chartTable(model)}
    <script type="application/json" id="overview-data" data-refresh-url="${base}/overview.json?window=${model.window}">${jsonScriptContent(model.chart)}</script>
    <h2>Failing now</h2>
    <p class="muted">Active subscriptions whose deliveries have failed since their last success, longest first.</p>
    ${failingTable(base, model, now)}
    <h2>Disabled</h2>
    ${disabledTable(base, model, operator.csrf, now)}
  `
  return htmlResponse(
    layout({ base, title: 'Overview', section: 'overview', operator, notice, charts: true }, body),
  )
}
