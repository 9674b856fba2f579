/**
 * Vitest global setup: one throwaway PostgreSQL server for the whole test run.
 *
 * It runs `scripts/postgres.sh start` on a fresh temporary directory and a free port, and hands
 * the server to the test files through two environment variables, which Vitest's workers inherit
 * (they start after this runs):
 *
 *   RESTHOOKS_TEST_POSTGRES_URL  connection URL of the server (superuser `postgres`, no password)
 *   RESTHOOKS_TEST_POSTGRES_DIR  its data directory, for `scripts/postgres.sh restart`
 *
 * If RESTHOOKS_TEST_POSTGRES_URL is already set, that server is used as-is and nothing starts.
 * If PostgreSQL is missing or does not start, the run fails when CI=true; otherwise it warns once
 * and PostgreSQL tests skip (see test/support/postgres.ts). It never installs anything: that is
 * `bash scripts/postgres.sh install`, which .ci/run does.
 */

import { execFile, execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { clusterBaseDir, freePort } from './support/ports-and-dirs.ts'

const run = promisify(execFile)
const script = fileURLToPath(new URL('../scripts/postgres.sh', import.meta.url))

/** Starts the test server, unless one is given; returns the teardown that stops it. */
export default async function setup(): Promise<(() => Promise<void>) | undefined> {
  if (process.env.RESTHOOKS_TEST_POSTGRES_URL) return undefined

  const dir = mkdtempSync(join(clusterBaseDir(), 'resthooks-pg-'))
  let url: string
  try {
    const port = await freePort()
    const { stdout } = await run('bash', [script, 'start', dir, String(port)], { timeout: 60_000 })
    url = stdout.trim().split('\n').at(-1) ?? ''
    if (!url.startsWith('postgres://')) throw new Error(`unexpected output: ${stdout.trim()}`)
  } catch (error) {
    stopSync(dir)
    const reason = reasonOf(error)
    if (process.env.CI === 'true') {
      const details = String((error as { stderr?: unknown }).stderr ?? '').trim()
      throw new Error(`PostgreSQL for the tests could not start: ${reason}\n${details}`.trim(), {
        cause: error,
      })
    }
    const hint = reason.includes('not installed') ? '; run `bash scripts/postgres.sh install`' : ''
    console.warn(`PostgreSQL tests skipped: ${reason}${hint}`)
    return undefined
  }

  process.env.RESTHOOKS_TEST_POSTGRES_URL = url
  process.env.RESTHOOKS_TEST_POSTGRES_DIR = dir

  // Should the run end without teardown (an uncaught error, a closed terminal), still stop the
  // server. Vitest itself runs teardown on SIGINT and SIGTERM.
  const onExit = () => stopSync(dir)
  const onHangup = () => process.exit(129)
  process.once('exit', onExit)
  process.once('SIGHUP', onHangup)

  return async () => {
    process.off('exit', onExit)
    process.off('SIGHUP', onHangup)
    delete process.env.RESTHOOKS_TEST_POSTGRES_URL
    delete process.env.RESTHOOKS_TEST_POSTGRES_DIR
    await run('bash', [script, 'stop', dir], { timeout: 60_000 })
  }
}

/** Stops the server in `dir` (if any) and removes `dir`, ignoring errors. */
function stopSync(dir: string): void {
  try {
    execFileSync('bash', [script, 'stop', dir], { stdio: 'ignore', timeout: 60_000 })
  } catch {
    // Best effort; then at least remove the directory.
  }
  rmSync(dir, { recursive: true, force: true })
}

/** One line saying why the script failed: its own `postgres.sh:` message when there is one. */
function reasonOf(error: unknown): string {
  const stderr = (error as { stderr?: unknown }).stderr
  if (typeof stderr === 'string') {
    const lines = stderr.trim().split('\n')
    const own = lines.filter((line) => line.startsWith('postgres.sh: ')).at(-1)
    if (own) return own.slice('postgres.sh: '.length)
    const last = lines.at(-1)
    if (last) return last
  }
  return error instanceof Error ? error.message : String(error)
}
