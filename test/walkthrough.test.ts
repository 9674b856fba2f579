/**
 * `npm run service-demo`: the service walkthrough starts, prints its URL, the session's admin key and a
 * curl walkthrough, and the printed commands, pasted into a shell as they are, get a webhook
 * delivered to the demo inbox with its signature verified.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'
import { run, until } from './support/shell.ts'
import { temporaryDatabase } from './support/sqlite-file.ts'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

describe('npm run service-demo (examples/service-walkthrough.ts)', () => {
  const database = temporaryDatabase('walkthrough.db')
  let child: ChildProcess | undefined

  afterAll(async () => {
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child?.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    }
    database.remove()
  })

  it('prints a walkthrough whose commands, pasted into a shell, deliver a verified webhook', async () => {
    const started = spawn(process.execPath, ['examples/service-walkthrough.ts'], {
      cwd: ROOT,
      env: { ...process.env, PORT: '0', RESTHOOKS_DB: database.path, RESTHOOKS_ADMIN_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = started
    let printed = ''
    started.stdout?.on('data', (chunk: Buffer) => {
      printed += chunk
    })
    await until(() => printed.includes("The API's description"))

    const api = /resthooks is running on (http:\/\/\S+)/.exec(printed)?.[1]
    const adminKey = /admin key for this session: (rh_admin_\S+)/.exec(printed)?.[1]
    const inbox = /demo inbox: +(http:\/\/\S+)/.exec(printed)?.[1]
    expect(api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(adminKey?.length).toBeGreaterThan(30)
    const script = printed.slice(
      printed.indexOf('ADMIN='),
      printed.indexOf("The API's description"),
    )
    expect(script).toContain('keys create --owner u1')

    const shell = await run('bash', ['-e', '-c', script], ROOT)
    expect(shell.code, shell.stderr).toBe(0)
    // The last command read the delivery log: the event's delivery is there.
    expect(shell.stdout).toMatch(/"event":\s*"book\.added"/)

    let received: { event: string; verified: boolean; payload: { data: unknown } }[] = []
    await until(async () => {
      received = (await (await fetch(inbox ?? '')).json()) as typeof received
      return received.length > 0
    })
    expect(received).toMatchObject([
      { event: 'book.added', verified: true, payload: { data: { id: 1, title: 'Dune' } } },
    ])
  })
})
