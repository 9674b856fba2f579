import { assetUrl } from './assets.ts'
import { CSRF_FIELD } from './csrf.ts'
import { html, type SafeHtml } from './html.ts'

/** The sections of the dashboard's navigation. */
export type Section = 'overview' | 'subscriptions' | 'deliveries'

/** What the page shell needs to know. */
export interface LayoutView {
  /** The dashboard's base path ('' or e.g. '/admin'). */
  base: string
  title: string
  section?: Section
  /** The operator, when signed in: their CSRF token, and whether they can sign out here. */
  operator?: { csrf: string; canSignOut: boolean }
  /** A short confirmation of what was just done. */
  notice?: string | null
  /** Loads uPlot (the overview's charts). */
  charts?: boolean
}

const SECTIONS: { id: Section; label: string; path: string }[] = [
  { id: 'overview', label: 'Overview', path: '/' },
  { id: 'subscriptions', label: 'Subscriptions', path: '/subscriptions' },
  { id: 'deliveries', label: 'Deliveries', path: '/deliveries' },
]

/** A whole page: head, masthead with navigation and sign-out, the notice and the content. */
export function layout(view: LayoutView, content: SafeHtml): SafeHtml {
  const { base, operator } = view
  const nav = operator
    ? html`<nav aria-label="Dashboard">
        <ul>
          ${SECTIONS.map(
            (s) =>
              html`<li><a href="${base}${s.path}"${view.section === s.id ? html` aria-current="page"` : ''}>${s.label}</a></li>`,
          )}
        </ul>
      </nav>
      ${
        operator.canSignOut
          ? html`<form method="post" action="${base}/sign-out">
              <input type="hidden" name="${CSRF_FIELD}" value="${operator.csrf}">
              <button type="submit" class="link-button">Sign out</button>
            </form>`
          : ''
      }`
    : ''
  return html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${view.title} · resthooks admin</title>
<link rel="icon" href="data:,">
${view.charts ? html`<link rel="stylesheet" href="${assetUrl(base, 'uplot.css')}">` : ''}
<link rel="stylesheet" href="${assetUrl(base, 'admin.css')}">
${view.charts ? html`<script src="${assetUrl(base, 'uplot.js')}" defer></script>` : ''}
<script src="${assetUrl(base, 'admin.js')}" defer></script>
</head>
<body>
<a class="skip-link" href="#main">Skip to content</a>
<header class="masthead">
  <div class="masthead-inner">
    <a class="brand" href="${base}/">resthooks <span>admin</span></a>
    ${nav}
  </div>
</header>
<main id="main" tabindex="-1">
${view.notice ? html`<p class="notice" role="status">${view.notice}</p>` : ''}
${content}
</main>
</body>
</html>`
}

/** A hidden field with the operator's CSRF token, for every state-changing form. */
export function csrfField(csrf: string): SafeHtml {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${csrf}">`
}

/** A one-button form that POSTs to `action` (retry, send a test, enable…). */
export function actionButton(
  action: string,
  csrf: string,
  label: string,
  options: { style?: 'primary' | 'secondary' | 'danger'; hidden?: Record<string, string> } = {},
): SafeHtml {
  const style = options.style ?? 'secondary'
  return html`<form method="post" action="${action}">
    ${csrfField(csrf)}
    ${Object.entries(options.hidden ?? {}).map(
      ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
    )}
    <button type="submit"${style === 'primary' ? '' : html` class="${style}"`}>${label}</button>
  </form>`
}
