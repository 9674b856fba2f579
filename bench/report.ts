/**
 * The figures a benchmark reports for `npm run bench`'s summary table (bench/run.ts). Each
 * benchmark prints its own details as it goes and calls `report()` with its headline rows; when
 * run by bench/run.ts (BENCH_REPORT names a file) they are appended there as JSON lines, and
 * the runner prints them all as one table at the end. Run alone, a benchmark prints them.
 */

import { appendFileSync } from 'node:fs'
import { printTable } from './common.ts'

export interface ReportRow {
  /** The benchmark, as the table groups it: 'throughput', 'fan-out', 'lookup', … */
  bench: string
  /** What was measured, with its store and setting: 'SQLite, 1 worker'. */
  measure: string
  /** The figure with its unit: '4,943 deliveries/s', '0.43 of raw', '12 ms'. */
  value: string
  /** The target, as text ('≥ 0.7 of raw'); empty when there is none. */
  target?: string
  /** Whether the target was met; undefined when there is none. */
  met?: boolean
}

export function report(rows: readonly ReportRow[]): void {
  const file = process.env.BENCH_REPORT
  if (file) {
    appendFileSync(file, rows.map((row) => `${JSON.stringify(row)}\n`).join(''))
    return
  }
  printReport(rows)
}

export function printReport(rows: readonly ReportRow[]): void {
  printTable([
    ['bench', 'measure', 'value', 'target', 'met'],
    ...rows.map((row) => [
      row.bench,
      row.measure,
      row.value,
      row.target ?? '',
      row.met === undefined ? '' : row.met ? 'yes' : 'NO',
    ]),
  ])
}
