import { html, type SafeHtml } from '../html.ts'
import { type LayoutView, layout } from '../layout.ts'
import { htmlResponse } from '../responses.ts'

/** A page that says one thing: an error, or why the request was refused. */
export function messagePage(
  view: LayoutView,
  status: number,
  message: string,
  more: SafeHtml | '' = '',
): Response {
  const body = html`<h1>${view.title}</h1><p>${message}</p>${more}`
  return htmlResponse(layout(view, body), status)
}

/** The page of a request that is not signed in. */
export function notSignedInPage(base: string, signInAvailable: boolean, next: string): Response {
  const link = signInAvailable
    ? html`<p><a class="button" href="${base}/sign-in?next=${encodeURIComponent(next)}">Sign in</a></p>`
    : ''
  return htmlResponse(
    layout(
      { base, title: 'Not signed in' },
      html`<h1>Not signed in</h1>
        <p>The admin dashboard is for operators. Sign in with the operator's credentials; an owner's API key does not give access.</p>
        ${link}`,
    ),
    401,
  )
}
