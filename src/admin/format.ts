/**
 * How the dashboard writes and reads times, durations and rates. Times are shown and entered
 * in UTC, the same for every operator and the same as the API's ISO timestamps.
 */

/** `2026-11-22 10:00:05 UTC`. */
export function formatTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} UTC`
}

/** `12 ms`, `1.5 s`, `3 min`, `2 h`, `4 d`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms)
  if (abs < 1000) return `${Math.round(ms)} ms`
  if (abs < 60_000) return `${(ms / 1000).toFixed(abs < 10_000 ? 1 : 0)} s`
  if (abs < 3_600_000) return `${Math.round(ms / 60_000)} min`
  if (abs < 86_400_000) return `${Math.round(ms / 3_600_000)} h`
  return `${Math.round(ms / 86_400_000)} d`
}

/** `5 min ago`, `in 3 s`, `just now`. */
export function formatRelative(ms: number, now: number): string {
  const delta = ms - now
  if (Math.abs(delta) < 1000) return 'just now'
  return delta < 0 ? `${formatDuration(-delta)} ago` : `in ${formatDuration(delta)}`
}

/** `97 %` of attempts that succeeded, or null without attempts. */
export function formatRate(succeeded: number, attempts: number): string | null {
  if (attempts === 0) return null
  const rate = (succeeded / attempts) * 100
  // 99.6 % is not 100 %: never round a failure away.
  const shown = rate > 99 && rate < 100 ? Math.floor(rate * 10) / 10 : Math.round(rate)
  return `${shown} %`
}

/** The value of a `datetime-local` input (UTC) for `ms`: `2026-11-22T10:00`. */
export function toTimeInput(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16)
}

const LOCAL = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,3})?)?$/

/**
 * Reads a time an operator entered: a `datetime-local` value (`2026-11-22T10:00`, read as UTC)
 * or an ISO 8601 time with its offset (`2026-11-22T10:00:00Z`). Null when it is neither.
 */
export function parseTimeInput(value: string): number | null {
  const text = value.trim()
  const local = LOCAL.exec(text)
  if (local) {
    const [, y, mo, d, h, mi, s] = local
    const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0))
    const back = new Date(ms)
    // Date.UTC rolls 2026-02-31 over to March: refuse dates that do not exist.
    if (back.getUTCDate() !== Number(d) || back.getUTCMonth() !== Number(mo) - 1) return null
    return ms
  }
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/i.test(text))
    return null
  const ms = Date.parse(text)
  return Number.isNaN(ms) ? null : ms
}
