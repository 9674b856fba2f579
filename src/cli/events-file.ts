import { readFileSync } from 'node:fs'
import { ConfigurationError } from '../errors.ts'
import { createEventRegistry, type EventMap } from '../events/event-registry.ts'
import { UsageError } from './cli-errors.ts'

/**
 * Reads `--events events.json`: the library's `events` map, e.g.
 * `{ "book.added": "Book.created", "user.logged_in": null }`. Every mistake is a UsageError
 * naming the file and the entry.
 */
export function loadEventsFile(path: string): EventMap {
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'no such file' : (error as Error).message
    throw new UsageError(`--events ${path}: cannot read it (${why})`)
  }
  let map: unknown
  try {
    map = JSON.parse(text)
  } catch (error) {
    throw new UsageError(`--events ${path}: not valid JSON (${(error as Error).message})`)
  }
  if (map === null || typeof map !== 'object' || Array.isArray(map)) {
    throw new UsageError(
      `--events ${path}: must be a JSON object of event name → "Model.action" or null`,
    )
  }
  try {
    createEventRegistry(map as EventMap, path)
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(`--events ${error.message}`)
    throw error
  }
  return map as EventMap
}
