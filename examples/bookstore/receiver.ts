/**
 * The demo's built-in receiver: what a subscriber's endpoint would be. `POST /receiver/inbox`
 * takes a webhook and checks its signature; `/receiver` is a page listing what arrived and
 * whether each signature verified; `GET /receiver/inbox` is the same list as JSON. A switch on
 * the page (or `POST /receiver/mode` with `fail=on|off`) makes it answer 500, to watch
 * failures, retries and the dashboard's retry button.
 *
 * A real receiver keeps the secret it got when subscribing; this one, in the same process,
 * reads it from the store.
 */
import type { Hooks } from '../../src/index.ts'
import { xmlEscape as escapeHtml } from '../../src/payloads/escape.ts'
import { verifyWebhook } from '../../src/verify/index.ts'

/** One webhook the receiver got. */
export interface ReceivedWebhook {
  receivedAt: string
  webhookId: string | null
  event: string | null
  subscription: string | null
  verified: boolean
  /** Why the signature did not verify. */
  error?: string
  /** What the receiver answered. */
  answered: number
  payload: unknown
}

const KEEP = 200

export function demoReceiver(hooks: Hooks, onReceived: (webhook: ReceivedWebhook) => void) {
  const received: ReceivedWebhook[] = []
  let failing = false

  async function receive(request: Request): Promise<Response> {
    const body = Buffer.from(await request.arrayBuffer())
    const header = (name: string) => request.headers.get(name)
    const subscriptionId = header('hook-subscription')
    const row = subscriptionId ? await hooks.store.findSubscription(subscriptionId) : undefined
    const secrets = [row?.secret, row?.previous_secret].filter((s): s is string => !!s)
    const webhook: ReceivedWebhook = {
      receivedAt: new Date().toISOString(),
      webhookId: header('webhook-id'),
      event: header('hook-event'),
      subscription: subscriptionId,
      verified: false,
      answered: 0,
      payload: null,
    }
    try {
      if (secrets.length === 0) throw new Error('no such subscription')
      const headers = Object.fromEntries(request.headers)
      webhook.payload = (await verifyWebhook({ headers, body }, secrets)).payload
      webhook.verified = true
    } catch (error) {
      webhook.error = (error as Error).message
      webhook.payload = body.toString('utf8').slice(0, 2000)
    }
    webhook.answered = failing ? 500 : webhook.verified ? 204 : 400
    received.unshift(webhook)
    received.length = Math.min(received.length, KEEP)
    onReceived(webhook)
    return new Response(failing ? 'the demo receiver is set to fail\n' : null, {
      status: webhook.answered,
    })
  }

  return async function handle(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url)
    if (pathname === '/receiver/inbox') {
      if (request.method === 'POST') return receive(request)
      if (request.method === 'GET') return Response.json(received)
      return new Response(null, { status: 405, headers: { allow: 'GET, POST' } })
    }
    if (pathname === '/receiver/mode' && request.method === 'POST') {
      const form = new URLSearchParams(await request.text())
      failing = form.get('fail') === 'on'
      return new Response(null, { status: 303, headers: { location: '/receiver' } })
    }
    if (pathname === '/receiver' && request.method === 'GET') {
      return new Response(page(received, failing), {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy':
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
        },
      })
    }
    return new Response('not found\n', { status: 404 })
  }
}

function page(received: ReceivedWebhook[], failing: boolean): string {
  const rows = received
    .map(
      (w) => `<tr>
  <td><time datetime="${escapeHtml(w.receivedAt)}">${escapeHtml(w.receivedAt.slice(11, 19))}</time></td>
  <td>${escapeHtml(w.event ?? '?')}</td>
  <td class="${w.verified ? 'ok' : 'bad'}">${w.verified ? '✔ verified' : `✘ ${escapeHtml(w.error ?? 'not verified')}`}</td>
  <td>${w.answered}</td>
  <td><code>${escapeHtml(w.webhookId ?? '')}</code></td>
  <td><pre>${escapeHtml(JSON.stringify(w.payload, null, 2))}</pre></td>
</tr>`,
    )
    .join('\n')
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="3">
<title>Demo receiver · resthooks bookstore</title>
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem; color: #1b1b1b; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .4rem .6rem; border-bottom: 1px solid #ccc; vertical-align: top; }
  pre { margin: 0; max-height: 12rem; overflow: auto; font-size: 13px; }
  .ok { color: #0a6b2d; } .bad { color: #a4000f; }
  .mode { padding: .6rem 1rem; background: ${failing ? '#fde8e8' : '#e8f5ec'}; margin-bottom: 1rem; }
  button { font: inherit; padding: .3rem .8rem; }
  button:focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
</style>
</head>
<body>
<h1>Demo receiver</h1>
<p>Webhooks sent to <code>/receiver/inbox</code>, newest first; the page refreshes every 3 s. <a href="/">Back to the demo</a></p>
<form class="mode" method="post" action="/receiver/mode">
  <strong>${failing ? 'Answering 500 to every webhook.' : 'Answering 204 to every verified webhook.'}</strong>
  <input type="hidden" name="fail" value="${failing ? 'off' : 'on'}">
  <button type="submit">${failing ? 'Answer normally again' : 'Make the receiver fail'}</button>
</form>
<table>
<thead><tr><th scope="col">At</th><th scope="col">Event</th><th scope="col">Signature</th><th scope="col">Answered</th><th scope="col">webhook-id</th><th scope="col">Payload</th></tr></thead>
<tbody>
${rows || '<tr><td colspan="6">Nothing yet: create a book (see the console) and watch it arrive.</td></tr>'}
</tbody>
</table>
</body>
</html>
`
}
