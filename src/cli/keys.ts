import type { Command } from 'commander'
import { createOutput } from './output.ts'
import { storageOf, withCommonOptions, withHooks } from './storage.ts'

/** `resthooks keys create --owner <id>`: an API key for an owner, printed once. */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage the API keys owners authenticate with')
  const create = keys
    .command('create')
    .description('create an API key for an owner (stored hashed; printed this once)')
    .requiredOption('--owner <id>', 'the owner (user or tenant id) the key acts for')
  withCommonOptions(create)
    .addHelpText(
      'after',
      `
Prints the key alone on stdout, so that it can be captured:
  KEY=$(resthooks keys create --owner u1)
  curl -H "authorization: Bearer $KEY" http://127.0.0.1:8080/hooks`,
    )
    .action(async (options: { owner: string }, command: Command) => {
      const storage = storageOf(command)
      const output = createOutput(storage.json)
      const { createApiKey } = await import('../service/api-keys.ts')
      const created = await withHooks(storage, {}, (hooks) =>
        createApiKey(hooks.store, options.owner),
      )
      output.result(created.key, created)
      output.note(
        `API key ${created.id} for owner '${created.owner}'. It is shown this once: only its hash is stored.`,
      )
    })
}
