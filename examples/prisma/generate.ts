/**
 * Generates a Prisma client, as `npx prisma generate --schema <file>` does, when the one in the
 * schema's output directory is missing or older than the schema. The example, the Prisma tests
 * and the Prisma bench call it, so that a fresh clone runs them without a separate step.
 *
 * `prisma generate` needs no schema engine, but looks for one and downloads it when
 * PRISMA_SCHEMA_ENGINE_BINARY does not name an existing file; no-schema-engine.sh stands in for
 * it so that generation works offline. (`prisma migrate` and `db push` would need the real
 * engine: the example and the tests create their tables with SQL.)
 */
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

const run = promisify(execFile)
const require = createRequire(import.meta.url)
const STUB = fileURLToPath(new URL('./no-schema-engine.sh', import.meta.url))
const STAMP = '.schema-hash'

/**
 * Generates the client of `schemaPath` into `outputDir` (the directory its generator's `output`
 * names) unless it is up to date; resolves with the path of its `client.ts`. Processes that call
 * it at once for the same directory take turns.
 */
export async function generatePrismaClient(schemaPath: string, outputDir: string): Promise<string> {
  const output = resolve(outputDir)
  const client = join(output, 'client.ts')
  const cli = join(dirname(require.resolve('prisma/package.json')), 'build', 'index.js')
  const version = (require('prisma/package.json') as { version: string }).version
  const hash = createHash('sha256')
    .update(`${version}\n${readFileSync(schemaPath, 'utf8')}`)
    .digest('hex')
  const current = () => readText(join(output, STAMP)) === hash && exists(client)
  if (current()) return client

  const lock = `${output}.lock`
  await acquire(lock)
  try {
    if (current()) return client
    rmSync(output, { recursive: true, force: true })
    await run(process.execPath, [cli, 'generate', '--schema', schemaPath], {
      env: {
        ...process.env,
        PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY ?? STUB,
        PRISMA_HIDE_UPDATE_MESSAGE: '1',
      },
      timeout: 120_000,
    })
    // Generated code stays out of the repository.
    writeFileSync(join(output, '.gitignore'), '*\n')
    writeFileSync(join(output, STAMP), hash)
    return client
  } finally {
    rmSync(lock, { recursive: true, force: true })
  }
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}

function exists(path: string): boolean {
  try {
    statSync(path)
    return true
  } catch {
    return false
  }
}

/** Takes the lock directory, waiting while another process holds it (a stale one goes after 2 min). */
async function acquire(lock: string): Promise<void> {
  mkdirSync(dirname(lock), { recursive: true })
  for (const deadline = Date.now() + 180_000; ; ) {
    try {
      mkdirSync(lock)
      return
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    }
    try {
      if (Date.now() - statSync(lock).mtimeMs > 120_000) rmSync(lock, { recursive: true })
    } catch {
      // Released meanwhile.
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${lock}`)
    await new Promise((done) => setTimeout(done, 100))
  }
}
