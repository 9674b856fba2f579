import { ConfigurationError } from '../errors.ts'
import { eventNameProblem, isPatternShape, patternMatches } from './event-pattern.ts'

/**
 * The application's events, declared once as django-rest-hooks' `HOOK_EVENTS`:
 * a `Model.action` mapping fires on that model change (`+` sends it to every owner's
 * subscriptions), `null` declares a custom event dispatched with `hooks.rawEvent()`.
 *
 * @example
 * { 'book.added': 'Book.created', 'book.changed': 'Book.updated+', 'user.logged_in': null }
 */
export type EventMap = Record<string, string | null>

/** One registered event. */
export interface RegisteredEvent {
  name: string
  /** The model, for `Model.action` events; null for custom events. */
  model: string | null
  action: string | null
  /** `+`: the event goes to matching subscriptions of every owner. */
  broadcast: boolean
}

/** The registry of events: names, their `Model.action` mappings and subscription patterns. */
export interface EventRegistry {
  /** The registered event names, sorted. */
  names(): string[]
  get(name: string): RegisteredEvent | undefined
  /** The event mapped to `Model.action`, if any. */
  forModelAction(model: string, action: string): RegisteredEvent | undefined
  /**
   * Why `pattern` cannot be subscribed to (not a name or pattern, or it matches no registered
   * event), or null when it can.
   */
  patternProblem(pattern: string): string | null
  /** Adds events at run time (the service's `POST /event-types`); same checks as at start-up. */
  register(events: EventMap, optionPath?: string): void
}

const MAPPING = /^([A-Za-z_][A-Za-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)(\+?)$/

/** Builds the registry from the `events` option; a mistake throws a ConfigurationError naming it. */
export function createEventRegistry(
  events: EventMap = {},
  optionPath = 'options.events',
): EventRegistry {
  const byName = new Map<string, RegisteredEvent>()
  const byModelAction = new Map<string, RegisteredEvent>()

  function register(map: EventMap, path = optionPath): void {
    if (map === null || typeof map !== 'object' || Array.isArray(map)) {
      throw new ConfigurationError(
        `${path} must be an object of event name → 'Model.action' or null`,
      )
    }
    const added: RegisteredEvent[] = []
    const pending = new Map<string, RegisteredEvent>()
    for (const [name, mapping] of Object.entries(map)) {
      const at = `${path}['${name}']`
      const problem = eventNameProblem(name)
      if (problem) throw new ConfigurationError(`${at}: event name ${problem}`)
      if (name === 'hook.test') {
        throw new ConfigurationError(`${at}: 'hook.test' is reserved for test deliveries`)
      }
      const event = parseMapping(name, mapping, at)
      const existing = byName.get(name)
      if (existing && !sameEvent(existing, event)) {
        throw new ConfigurationError(`${at}: event '${name}' is already registered differently`)
      }
      if (event.model !== null) {
        const key = `${event.model}.${event.action}`
        const owner = byModelAction.get(key) ?? pending.get(key)
        if (owner && owner.name !== name) {
          throw new ConfigurationError(
            `${at} maps to '${key}', which '${owner.name}' already uses; one model action fires one event`,
          )
        }
        pending.set(key, event)
      }
      if (!existing) added.push(event)
    }
    for (const event of added) byName.set(event.name, event)
    for (const [key, event] of pending) byModelAction.set(key, event)
  }

  register(events)

  return {
    names: () => [...byName.keys()].sort(),
    get: (name) => byName.get(name),
    forModelAction: (model, action) => byModelAction.get(`${model}.${action}`),
    patternProblem(pattern) {
      if (!isPatternShape(pattern)) {
        return `'${pattern}' is not an event name or pattern ('name.verb', '*', 'prefix.*' or '*.suffix')`
      }
      for (const name of byName.keys()) if (patternMatches(pattern, name)) return null
      return `'${pattern}' matches no registered event (registered: ${[...byName.keys()].sort().join(', ') || 'none'})`
    },
    register,
  }
}

function parseMapping(name: string, mapping: unknown, at: string): RegisteredEvent {
  if (mapping === null) return { name, model: null, action: null, broadcast: false }
  if (typeof mapping !== 'string') {
    throw new ConfigurationError(`${at} must be 'Model.action' (optionally ending in '+') or null`)
  }
  const match = MAPPING.exec(mapping)
  if (!match) {
    throw new ConfigurationError(
      `${at} is '${mapping}'; expected 'Model.action' such as 'Book.created' (optionally ending in '+') or null`,
    )
  }
  return { name, model: match[1] ?? '', action: match[2] ?? '', broadcast: match[3] === '+' }
}

function sameEvent(a: RegisteredEvent, b: RegisteredEvent): boolean {
  return a.model === b.model && a.action === b.action && a.broadcast === b.broadcast
}
