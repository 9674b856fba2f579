/**
 * The errors a command expects and reports in one line, without a stack trace. Anything else
 * that escapes a command is a bug, and is reported with its stack.
 */

/** A mistake in how the command was called (an option, a file it names): exit status 2. */
export class UsageError extends Error {
  override name = 'UsageError'
  readonly exitCode = 2
}

/** The command ran but could not do what was asked (an unknown id, a busy port): exit status 1. */
export class CommandFailed extends Error {
  override name = 'CommandFailed'
  readonly exitCode = 1
}
