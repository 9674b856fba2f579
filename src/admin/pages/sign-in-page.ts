import { html } from '../html.ts'
import { layout } from '../layout.ts'
import { htmlResponse } from '../responses.ts'
import { errorSummary, textInput } from './parts.ts'

/** The sign-in form: the admin key, and where to go next. */
export function signInPage(
  base: string,
  options: { next: string; error?: string; notice?: string | null; status?: number },
): Response {
  const errors = options.error ? [{ field: 'key', message: options.error }] : []
  return htmlResponse(
    layout(
      { base, title: 'Sign in', notice: options.notice ?? null },
      html`<div class="sign-in">
        <h1>Sign in</h1>
        ${errorSummary(errors, { key: 'Admin key' })}
        <p>Operators sign in with the service's admin key (<code>RESTHOOKS_ADMIN_KEY</code>).</p>
        <form method="post" action="${base}/sign-in">
          <input type="hidden" name="next" value="${options.next}">
          ${textInput({
            name: 'key',
            label: 'Admin key',
            value: '',
            type: 'password',
            autocomplete: 'current-password',
            required: true,
            error: options.error,
          })}
          <button type="submit">Sign in</button>
        </form>
      </div>`,
    ),
    options.status ?? 200,
  )
}
