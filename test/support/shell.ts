import { execFile } from 'node:child_process'

/** Runs a command to its end and resolves with its exit code and output (never rejects). */
export function run(command: string, args: string[], cwd: string) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, args, { cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr })
    })
  })
}

/** Checks every 50 ms until `check` holds; rejects naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/** {@link waitUntil} for a condition that needs no name. */
export const until = (check: () => boolean | Promise<boolean>, timeoutMs = 15_000) =>
  waitUntil('the condition', check, timeoutMs)
