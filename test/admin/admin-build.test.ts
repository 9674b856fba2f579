import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
// Inside the package, so that the build resolves `uplot` from node_modules as dist/ does.
const cache = join(root, 'node_modules', '.cache')
mkdirSync(cache, { recursive: true })
const out = mkdtempSync(join(cache, 'resthooks-admin-build-'))

afterAll(() => rmSync(out, { recursive: true, force: true }))

describe('the published build', () => {
  it('serves the dashboard’s stylesheet, script and uPlot from dist/, with no build step at run time', {
    timeout: 60_000,
  }, async () => {
    // What `npm run build` runs, into a directory of its own. Type errors elsewhere in the tree
    // are `tsc --noEmit`'s to report; what matters here is what the package ships.
    await run(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out],
      { cwd: root, timeout: 50_000 },
    ).catch((error: { stdout?: string }) => {
      if (!existsSync(join(out, 'admin', 'assets.js')))
        throw new Error(`build failed: ${error.stdout}`)
    })
    const script = `
      const { createHooks } = await import(${JSON.stringify(join(out, 'index.js'))})
      const { sqliteStore } = await import(${JSON.stringify(join(out, 'store/sqlite/index.js'))})
      const hooks = createHooks({ store: sqliteStore({ path: ':memory:' }), events: { 'book.added': null } })
      await hooks.migrate()
      const admin = hooks.admin({ adminKey: 'a-key-of-twenty-characters', basePath: '/admin' })
      const sizes = {}
      for (const name of ['admin.css', 'admin.js', 'uplot.css', 'uplot.js']) {
        const response = await admin(new Request('http://x/admin/assets/' + name))
        sizes[name] = [response.status, response.headers.get('content-type'), (await response.text()).length]
      }
      console.log(JSON.stringify(sizes))
      await hooks.close()`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      timeout: 20_000,
    })
    const sizes = JSON.parse(stdout) as Record<string, [number, string, number]>
    for (const [name, [status, type, length]] of Object.entries(sizes)) {
      expect(status, name).toBe(200)
      expect(type, name).toMatch(/^text\/(css|javascript); charset=utf-8$/)
      expect(length, name).toBeGreaterThan(1000)
    }
  })
})
