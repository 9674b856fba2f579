/**
 * The runnable examples keep working: each runs to completion and prints what it promises.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function run(file: string) {
  return new Promise<{ code: number; stdout: string }>((resolve) => {
    execFile(process.execPath, [file], { cwd: ROOT }, (error, stdout) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout })
    })
  })
}

describe('examples', () => {
  it('examples/payloads.ts: each subscription gets its own shape, filtered events stay away', async () => {
    const { code, stdout } = await run('examples/payloads.ts')
    expect(code).toBe(0)
    expect(stdout).toContain(
      '<book id="1"><title>Tom said &quot;hi&quot; &amp; &lt;left&gt;</title></book>',
    )
    expect(stdout).toContain('PUT /long-books-only  (application/json)\n  {"id": 2,')
    expect(stdout).not.toContain('"id": 1, "title"')
    expect(stdout.match(/POST \/when-published/g)).toHaveLength(1)
    expect(stdout).toContain('delivered 6 webhooks')
  })

  it('examples/quickstart.ts: three verified webhooks', async () => {
    const { code, stdout } = await run('examples/quickstart.ts')
    expect(code).toBe(0)
    expect(stdout.match(/signature verified/g)).toHaveLength(3)
    expect(stdout).toContain('delivery log: succeeded, succeeded, succeeded')
  })
})
