/**
 * `npm run bench`: every benchmark of issue 9, one after the other, each in a process of its
 * own (its details printed as it runs), then their headline figures in one table.
 *
 *   npm run bench
 *   node bench/run.ts throughput lookup     # some of them, by name
 *
 * Each benchmark takes its own knobs from the environment (see the top of each file). A
 * benchmark that fails shows as failed in the table and makes the run exit with status 1.
 * PostgreSQL parts need Debian's postgresql package (`bash scripts/postgres.sh install`).
 */

import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { printReport, type ReportRow } from './report.ts'

/** The benchmarks, in the order they run: name → script. */
const BENCHMARKS: Record<string, string> = {
  throughput: 'throughput.ts',
  postgres: 'postgres.ts',
  'fan-out': 'fanout.ts',
  lookup: 'lookup.ts',
  latency: 'latency.ts',
  'write overhead': 'write-overhead.ts',
  memory: 'memory.ts',
}

const chosen = process.argv.slice(2)
for (const name of chosen) {
  if (!(name in BENCHMARKS)) {
    console.error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHMARKS).join(', ')}`)
    process.exit(2)
  }
}
const names = chosen.length > 0 ? chosen : Object.keys(BENCHMARKS)
const dir = mkdtempSync(join(tmpdir(), 'resthooks-bench-report-'))
const file = join(dir, 'report.jsonl')
const failed: ReportRow[] = []
const started = performance.now()
try {
  for (const name of names) {
    const script = fileURLToPath(new URL(BENCHMARKS[name] ?? '', import.meta.url))
    console.log(`\n=== ${name} (bench/${BENCHMARKS[name]}) ===\n`)
    const run = spawnSync(process.execPath, [script], {
      stdio: 'inherit',
      env: { ...process.env, BENCH_REPORT: file },
    })
    if (run.status !== 0) {
      failed.push({
        bench: name,
        measure: 'the benchmark itself',
        value: `failed (${run.signal ?? `exit ${run.status}`})`,
        target: 'runs',
        met: false,
      })
    }
  }
  let text = ''
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    // No benchmark reported anything.
  }
  const rows = [
    ...text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as ReportRow),
    ...failed,
  ]
  const cpu = cpus()[0]?.model?.trim() ?? 'unknown'
  console.log(
    `\n=== summary: ${cpu}, ${availableParallelism()} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}, ${((performance.now() - started) / 1000).toFixed(0)} s in all ===\n`,
  )
  printReport(rows)
  if (failed.length > 0) process.exitCode = 1
} finally {
  rmSync(dir, { recursive: true, force: true })
}
