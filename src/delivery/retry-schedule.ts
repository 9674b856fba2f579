/**
 * When a failed delivery is tried again. Defaults follow Svix: after the first attempt, 5 s,
 * 5 min, 30 min, 2 h, 5 h, 10 h and 10 h (eight attempts over about 28 hours), each ±20 %.
 */
export interface RetryOptions {
  /**
   * The wait before each retry, in ms; its length is the number of retries.
   * @default [5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000]
   */
  schedule?: readonly number[]
  /**
   * Random spread of each wait, as a fraction (0.2 is ±20 %), so that retries after an outage
   * do not arrive all at once.
   * @default 0.2
   */
  jitter?: number
  /**
   * The longest `Retry-After` (on 429 and 503) that is honoured, in ms.
   * @default 86_400_000 (24 h)
   */
  maxRetryAfterMs?: number
}

export const DEFAULT_SCHEDULE: readonly number[] = [
  5_000, 300_000, 1_800_000, 7_200_000, 18_000_000, 36_000_000, 36_000_000,
]

export interface RetrySchedule {
  /** The attempts a delivery gets in all. */
  readonly maxAttempts: number
  /**
   * The wait after failed attempt number `attempt` (1-based), or null when it was the last.
   * A `Retry-After` (ms), when given, replaces the scheduled wait, up to the cap.
   */
  delayAfter(attempt: number, retryAfterMs?: number | null): number | null
}

export function createRetrySchedule(
  options: RetryOptions = {},
  random = Math.random,
): RetrySchedule {
  const schedule = options.schedule ?? DEFAULT_SCHEDULE
  const jitter = options.jitter ?? 0.2
  const cap = options.maxRetryAfterMs ?? 86_400_000
  return {
    maxAttempts: schedule.length + 1,
    delayAfter(attempt, retryAfterMs) {
      const planned = schedule[attempt - 1]
      if (planned === undefined) return null
      if (retryAfterMs !== undefined && retryAfterMs !== null) return Math.min(retryAfterMs, cap)
      return Math.max(0, Math.round(planned * (1 + jitter * (2 * random() - 1))))
    },
  }
}

/** A `Retry-After` header (seconds, or an HTTP date) in ms from `now`; null when absent or bad. */
export function parseRetryAfter(value: string | undefined, now: number): number | null {
  if (value === undefined) return null
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? null : Math.max(0, date - now)
}
