import { existsSync } from 'node:fs'
import { type Browser, chromium } from 'playwright-core'

/**
 * The Chromium the browser tests drive: Debian's package (`bash scripts/chromium.sh install`),
 * or the executable RESTHOOKS_TEST_CHROMIUM names.
 */
export const CHROMIUM_PATH = process.env.RESTHOOKS_TEST_CHROMIUM || '/usr/bin/chromium'

/** Headless, without a sandbox (containers run as root), and without talking to Google. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

/**
 * Starts Chromium, or says why it cannot. Under `CI=true` that is a failure, never a skip (as
 * PostgreSQL is in test/global-setup.ts); elsewhere the caller skips with the reason, written
 * once to stderr.
 */
export async function launchChromium(): Promise<{ browser: Browser } | { skip: string }> {
  let reason: string
  if (!existsSync(CHROMIUM_PATH)) {
    reason = `Chromium is not installed at ${CHROMIUM_PATH}; run \`bash scripts/chromium.sh install\``
  } else {
    try {
      const browser = await chromium.launch({
        executablePath: CHROMIUM_PATH,
        args: CHROMIUM_ARGS,
        headless: true,
        timeout: 30_000,
      })
      return { browser }
    } catch (error) {
      reason = `Chromium did not start: ${(error as Error).message.split('\n')[0]}`
    }
  }
  if (process.env.CI === 'true') throw new Error(`browser tests cannot run: ${reason}`)
  console.warn(`browser tests skipped: ${reason}`)
  return { skip: reason }
}
