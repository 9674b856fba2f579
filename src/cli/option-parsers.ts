import { InvalidArgumentError } from 'commander'

/** `--port`: an integer from 0 (any free port) to 65535. */
export function parsePort(value: string): number {
  const port = Number(value)
  if (!/^\d+$/.test(value) || port > 65_535) {
    throw new InvalidArgumentError('Must be a port number from 0 to 65535.')
  }
  return port
}

/** A whole number of at least 1 (`--concurrency`, `--limit`). */
export function parsePositiveInteger(value: string): number {
  const number = Number(value)
  if (!/^\d+$/.test(value) || number < 1 || !Number.isSafeInteger(number)) {
    throw new InvalidArgumentError('Must be a whole number of at least 1.')
  }
  return number
}

/** A whole number of milliseconds from 0 to `max` (`--subscription-cache-ms`). */
export function parseMillisecondsUpTo(max: number): (value: string) => number {
  return (value) => {
    const number = Number(value)
    if (!/^\d+$/.test(value) || number > max) {
      throw new InvalidArgumentError(`Must be a whole number of ms from 0 to ${max}.`)
    }
    return number
  }
}

/** A number of at least 0, fractions allowed (`--days`, `--minutes`). */
export function parseNonNegativeNumber(value: string): number {
  const number = Number(value)
  if (!/^\d+(\.\d+)?$/.test(value) || !Number.isFinite(number)) {
    throw new InvalidArgumentError('Must be a number of at least 0.')
  }
  return number
}

/** A number above 0, fractions allowed (`--minutes`). */
export function parsePositiveNumber(value: string): number {
  const number = parseNonNegativeNumber(value)
  if (number === 0) throw new InvalidArgumentError('Must be a number above 0.')
  return number
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** An ISO 8601 date or date-time (`--since 2025-01-31T12:00:00Z`). */
export function parseIsoDate(value: string): Date {
  const date = new Date(value)
  if (!ISO_DATE.test(value) || Number.isNaN(date.getTime())) {
    throw new InvalidArgumentError('Must be an ISO 8601 date, such as 2025-01-31T12:00:00Z.')
  }
  return date
}
