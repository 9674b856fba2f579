#!/usr/bin/env node
/**
 * The `resthooks` command: the standalone service and its operations.
 *
 *   resthooks serve | worker | migrate | keys create | send | monitor | prune | replay
 *
 * Exit status: 0 done, 1 the command could not do it (or `monitor` reached its limit),
 * 2 a usage error. Expected errors print one line, never a stack trace.
 */
import { Command, CommanderError } from 'commander'
import { ConfigurationError, ValidationError } from '../errors.ts'
import { VERSION } from '../version.ts'
import { CommandFailed, UsageError } from './cli-errors.ts'
import { registerKeys } from './keys.ts'
import { registerMigrate } from './migrate.ts'
import { registerMonitor } from './monitor.ts'
import { registerPrune } from './prune.ts'
import { registerReplay } from './replay.ts'
import { registerSend } from './send.ts'
import { registerServe } from './serve.ts'
import { registerWorker } from './worker.ts'

// node:sqlite is experimental on Node 22 and says so on every run; in a CLI whose stderr is read
// by people and scripts, that line is noise. Every other warning is printed as usual.
const emitWarning = process.emitWarning.bind(process)
process.emitWarning = ((warning: string | Error, ...rest: never[]) => {
  if (String(warning).startsWith('SQLite is an experimental feature')) return
  emitWarning(warning, ...rest)
}) as typeof process.emitWarning

/** The `resthooks` program, with every command. */
export function createProgram(): Command {
  const program = new Command('resthooks')
    .description('REST Hooks: subscriptions, an outbox and signed, retried webhook delivery')
    .version(VERSION, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => write(text) })
    .addHelpText(
      'after',
      `
Storage: --db <file> (SQLite, default ./resthooks.db) on every command.
Exit status: 0 done, 1 failed (monitor: limit reached), 2 usage error.

First webhook:
  RESTHOOKS_ADMIN_KEY=$(openssl rand -hex 32) resthooks serve --events events.json
  resthooks keys create --owner u1
  curl -X POST http://127.0.0.1:8080/hooks -H "authorization: Bearer <key>" …`,
    )
  registerServe(program)
  registerWorker(program)
  registerMigrate(program)
  registerKeys(program)
  registerSend(program)
  registerMonitor(program)
  registerPrune(program)
  registerReplay(program)
  return program
}

/** Runs the program on `argv`; resolves with the exit status. */
export async function run(argv: readonly string[]): Promise<number> {
  try {
    await createProgram().parseAsync(argv as string[])
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (error) {
    return reportFailure(error)
  }
}

function reportFailure(error: unknown): number {
  // commander has printed its own message (or the help) already.
  if (error instanceof CommanderError) return error.exitCode === 0 ? 0 : 2
  if (error instanceof UsageError || error instanceof CommandFailed) {
    process.stderr.write(`error: ${error.message}\n`)
    return error.exitCode
  }
  if (error instanceof ConfigurationError || error instanceof ValidationError) {
    process.stderr.write(`error: ${error.message}\n`)
    return 2
  }
  process.stderr.write(`error: unexpected: ${(error as Error)?.stack ?? String(error)}\n`)
  return 1
}

process.exitCode = await run(process.argv)
