/**
 * `npm start` runs the bookstore demo: it starts, prints its URLs and a curl walkthrough, and
 * the printed commands, pasted into a shell as they are, create and change books whose webhooks
 * reach the demo receiver with verified signatures; the filtered subscription gets only the
 * change it asked for.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import type { ReceivedWebhook } from '../examples/bookstore/receiver.ts'
import { run, until } from './support/shell.ts'
import { temporaryDatabase } from './support/sqlite-file.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('npm start (the bookstore demo)', () => {
  const database = temporaryDatabase('bookstore.db')
  let child: ChildProcess | undefined

  afterAll(async () => {
    if (child?.pid && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve))
      // npm and the demo under it: stop the whole group, as Ctrl-C would.
      process.kill(-child.pid, 'SIGTERM')
      await exited
    }
    database.remove()
  })

  it('prints a walkthrough whose curl lines deliver verified webhooks to the demo receiver', async () => {
    const started = spawn('npm', ['start', '--silent'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', BOOKSTORE_DB: database.path },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    })
    child = started
    let printed = ''
    let errors = ''
    started.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk
    })
    started.stderr?.on('data', (chunk: Buffer) => {
      errors += chunk
    })
    await until(() => printed.includes('Ctrl-C stops'), 30_000).catch((error) => {
      throw new Error(`${error.message}: ${printed}${errors}`)
    })

    const url = /resthooks bookstore demo: (http:\/\/127\.0\.0\.1:\d+)/.exec(printed)?.[1]
    expect(url).toBeDefined()
    expect(printed).toMatch(/demo receiver +http:\/\/127\.0\.0\.1:\d+\/receiver/)
    const script = printed.slice(printed.indexOf('# 1.'), printed.indexOf('Open http'))
    expect(script).toContain('curl -s')

    const shell = await run('bash', ['-e', '-c', script], ROOT)
    expect(shell.code, shell.stderr).toBe(0)
    // Step 1 created a book for alice; step 3 read the delivery log of book.added.
    expect(shell.stdout).toMatch(/"title":"Kindred"/)
    expect(shell.stdout).toMatch(/"event":"book\.added"/)

    let received: ReceivedWebhook[] = []
    const inbox = async () => {
      received = (await (await fetch(`${url}/receiver/inbox`)).json()) as ReceivedWebhook[]
      return received
    }
    // alice's book.added, and bob's change to published (not his change to draft).
    await until(async () => (await inbox()).length >= 2)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await inbox()
    expect(received.every((webhook) => webhook.verified)).toBe(true)
    const byEvent = received.map((w) => ({
      event: w.event,
      data: (w.payload as { data: { title: string; status: string; ownerId: string } }).data,
    }))
    expect(byEvent).toEqual(
      expect.arrayContaining([
        {
          event: 'book.added',
          data: expect.objectContaining({ title: 'Kindred', ownerId: 'alice' }),
        },
        {
          event: 'book.changed',
          data: expect.objectContaining({ status: 'published', ownerId: 'bob' }),
        },
      ]),
    )
    expect(byEvent).toHaveLength(2)
    // The console shows each delivery as it happens.
    await until(() => /delivered book\.changed/.test(printed))
    expect(printed).toMatch(/delivered book\.added to hook_\w+: 204/)

    // The receiver's page lists them, signatures checked.
    const page = await (await fetch(`${url}/receiver`)).text()
    expect(page).toContain('✔ verified')
    expect(page).toContain('book.changed')

    // The admin dashboard is mounted, behind the admin key it printed.
    const adminKey = /sign in with the admin key: (rh_admin_\S+)/.exec(printed)?.[1]
    expect(adminKey?.length).toBeGreaterThan(30)
    const signIn = await fetch(`${url}/admin`, { redirect: 'manual' })
    expect([302, 303]).toContain(signIn.status)
    expect(signIn.headers.get('location')).toContain('/admin/sign-in')
  }, 60_000)
})
