/**
 * Resolves with the name of the first SIGTERM or SIGINT, for long-running commands to stop
 * gracefully. A second signal while stopping exits at once, with status 130 (as Ctrl-C does).
 */
export function shutdownSignal(onSecond?: () => void): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    let received = false
    const handle = (signal: NodeJS.Signals) => {
      if (received) {
        onSecond?.()
        process.exit(130)
      }
      received = true
      resolve(signal)
    }
    process.on('SIGTERM', handle)
    process.on('SIGINT', handle)
  })
}

/**
 * Ends the process with `code` once output is written. Stores and agents are closed by then;
 * the timer only guards against a handle that would keep the process alive after a clean stop.
 */
export function exitSoon(code: number): void {
  process.exitCode = code
  setTimeout(() => process.exit(code), 1000).unref()
}
