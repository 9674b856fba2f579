/**
 * Counts the SQLite statements this process runs (`BENCH_SQLITE_STATEMENTS=1`): calls, time and
 * rows per statement text, `exec` (BEGIN, COMMIT) included, while counting (from `start()` to
 * `stop()`, any number of times). It patches `node:sqlite`'s prototypes meanwhile, so the
 * figures include the wrapper's own small cost.
 */

import { DatabaseSync, StatementSync } from 'node:sqlite'
import { printTable } from './common.ts'

interface Tally {
  calls: number
  ms: number
  rows: number
}

export function countSqliteStatements(): { start(): void; stop(): void; print(): void } {
  const tallies = new Map<string, Tally>()
  const note = (text: string, started: number, rows: number) => {
    const key = text.replace(/\s+/g, ' ').trim().slice(0, 100)
    const tally = tallies.get(key) ?? { calls: 0, ms: 0, rows: 0 }
    tally.calls++
    tally.ms += performance.now() - started
    tally.rows += rows
    tallies.set(key, tally)
  }
  const statement = StatementSync.prototype
  const originals = { all: statement.all, run: statement.run, get: statement.get }
  const exec = DatabaseSync.prototype.exec
  // Each wrapper calls the original with whatever arguments it got, and counts what it returned.
  const wrap = <F extends (...args: never[]) => unknown>(
    original: F,
    rows: (r: ReturnType<F>) => number,
  ) =>
    function (this: StatementSync, ...args: Parameters<F>) {
      const started = performance.now()
      const result = original.apply(this, args) as ReturnType<F>
      note(this.sourceSQL, started, rows(result))
      return result
    } as unknown as F
  const counting = {
    all: wrap(originals.all, (rows) => rows.length),
    run: wrap(originals.run, (result) => Number(result.changes)),
    get: wrap(originals.get, (row) => (row === undefined ? 0 : 1)),
  }
  const countingExec = function (this: DatabaseSync, text: string) {
    const started = performance.now()
    exec.call(this, text)
    note(text, started, 0)
  }
  return {
    start() {
      Object.assign(statement, counting)
      DatabaseSync.prototype.exec = countingExec
    },
    stop() {
      Object.assign(statement, originals)
      DatabaseSync.prototype.exec = exec
    },
    print() {
      const sorted = [...tallies].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12)
      printTable([
        ['calls', 'total ms', 'rows', 'statement'],
        ...sorted.map(([text, t]): [string, string, string, string] => [
          String(t.calls),
          t.ms.toFixed(0),
          String(t.rows),
          text,
        ]),
      ])
    },
  }
}
