/**
 * What the Drizzle and Kysely helpers share: the model a table's rows are events of, and
 * dispatching one model event per written row, each update paired with its row as it was.
 */
import type { DispatchResult } from '../dispatch/dispatcher.ts'
import { ConfigurationError, ValidationError } from '../errors.ts'
import type { Hooks } from '../hooks.ts'

/** The part of `createHooks()`'s result that the ORM helpers use. */
export type HooksLike = Pick<Hooks, 'modelEvent' | 'events' | 'store'>

/** The model names the events map accepts (`Model.action`). */
const MODEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/

/**
 * The default model name of a table: its name in PascalCase, nothing more (`book` → `Book`,
 * `book_chapter` → `BookChapter`, `books` → `Books`). Singular forms are not guessed: name the
 * model when the table's name is plural.
 */
export function modelNameOf(table: string): string {
  return table
    .split(/[^A-Za-z0-9]+/)
    .filter((part) => part !== '')
    .map((part) => part[0]?.toUpperCase() + part.slice(1))
    .join('')
}

/** A table's model events, as a helper dispatches them. */
export interface ModelEvents {
  readonly model: string
  /** Whether an event is mapped to `Model.action`; when none is, the helpers write plainly. */
  fires(action: string): boolean
  /**
   * Dispatches `Model.action` for each row, in order, through `tx`. With `previous` (the rows
   * before an update), each row gets the previous row of the same primary key, when there is one.
   */
  dispatch(
    action: string,
    rows: readonly object[],
    tx: object,
    previous?: readonly object[],
  ): Promise<void>
  /** Dispatches `Model.action` for one row (a custom action such as `read`). */
  one(action: string, row: object, tx?: object): Promise<DispatchResult | null>
}

/**
 * Checks `hooks` and `model` at start-up (a model no event maps to is a configuration mistake:
 * its writes would fire nothing) and returns its dispatcher. `keys` are the primary key's
 * fields in the rows, for pairing updated rows with their previous values.
 */
export function modelEvents(
  hooks: HooksLike,
  model: string,
  keys: readonly string[],
  caller: string,
): ModelEvents {
  if (
    hooks === null ||
    typeof hooks !== 'object' ||
    typeof hooks.modelEvent !== 'function' ||
    typeof hooks.events?.forModelAction !== 'function'
  ) {
    throw new ConfigurationError(
      `${caller}: the first argument must be what createHooks() returned`,
    )
  }
  if (typeof model !== 'string' || !MODEL_NAME.test(model)) {
    throw new ConfigurationError(
      `${caller}: options.model must be a model name as the events map uses it (e.g. 'Book'), got ${JSON.stringify(model)}`,
    )
  }
  const registry = hooks.events
  const mapped = registry.names().filter((name) => registry.get(name)?.model === model)
  if (mapped.length === 0) {
    throw new ConfigurationError(
      `${caller}: no event in options.events is mapped to a ${model} action (e.g. '${model}.created'); name the model these rows are with options.model`,
    )
  }
  const fires = (action: string) => registry.forModelAction(model, action) !== undefined
  const keyOf = (row: object): string =>
    JSON.stringify(keys.map((key) => keyPart((row as Record<string, unknown>)[key])))

  return {
    model,
    fires,
    async dispatch(action, rows, tx, previous) {
      if (!fires(action)) return
      let before: Map<string, object> | undefined
      if (previous !== undefined && previous.length > 0) {
        for (const row of previous) {
          if (keys.some((key) => (row as Record<string, unknown>)[key] === undefined)) {
            throw new ConfigurationError(
              `${caller}: the rows have no ${keys.map((key) => `'${key}'`).join(', ')} to tell them apart by; name their primary key with options.primaryKey`,
            )
          }
        }
        before = new Map(previous.map((row) => [keyOf(row), row]))
      }
      for (const row of rows) {
        const was = before?.get(keyOf(row))
        await hooks.modelEvent(
          model,
          action,
          row,
          was === undefined ? { tx } : { tx, previous: was },
        )
      }
    },
    one(action, row, tx) {
      if (typeof action !== 'string' || action === '') {
        throw new ValidationError([
          {
            field: 'action',
            message: `${caller}.event(action, row) takes the action as a string, e.g. 'read'`,
          },
        ])
      }
      return hooks.modelEvent(model, action, row, tx === undefined ? {} : { tx })
    },
  }
}

/** A key value as it compares across reads: bigints and numbers alike, dates by their time. */
function keyPart(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString()
  if (typeof value === 'number') return String(value)
  if (value instanceof Date) return value.getTime()
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex')
  return value
}

/**
 * Refuses a missing `where` (Drizzle's `and()` of no conditions is undefined), so that an update
 * or delete never changes every row by accident.
 */
export function checkWhere(where: unknown, caller: string, method: string): void {
  if (where === undefined || where === null) {
    throw new ValidationError([
      {
        field: 'where',
        message: `${caller}.${method}(where, …) needs a condition (it was ${String(where)}); to ${method} every row, pass one that is always true`,
      },
    ])
  }
}

/** Refuses an empty or non-object `set`. */
export function checkSet(set: unknown, caller: string): void {
  if (set === null || typeof set !== 'object' || Object.keys(set).length === 0) {
    throw new ValidationError([
      {
        field: 'set',
        message: `${caller}.update(where, set): set must be an object with the columns to change`,
      },
    ])
  }
}
