/**
 * Rows as the Prisma extension sees them: a model's scalar fields, the arguments of a write
 * widened so that its result carries what the event needs, and filters that name rows by their
 * primary key.
 */

export type Row = Record<string, unknown>

/** A model's delegate (`prisma.book`), as far as the extension uses it. */
export interface ModelDelegate {
  fields: Record<string, unknown>
  findUnique(args: object): PromiseLike<unknown>
  findMany(args: object): PromiseLike<unknown>
}

/** The delegate's property name on a client: `Book` → `book` (Prisma lower-cases the first letter). */
export function delegateName(model: string): string {
  return model.charAt(0).toLowerCase() + model.slice(1)
}

/** The model's delegate on `client`, or undefined when it has no such model. */
export function delegateOf(client: object, model: string): ModelDelegate | undefined {
  const delegate = (client as Record<string, unknown>)[delegateName(model)] as
    | Partial<ModelDelegate>
    | undefined
  return delegate !== null &&
    typeof delegate === 'object' &&
    typeof delegate.findMany === 'function' &&
    delegate.fields !== null &&
    typeof delegate.fields === 'object'
    ? (delegate as ModelDelegate)
    : undefined
}

/** The row's scalar fields (relations a query included are left out). */
export function scalarsOf(row: Row, scalars: readonly string[]): Row {
  const instance: Row = {}
  for (const field of scalars) if (field in row) instance[field] = row[field]
  return instance
}

/** How a write's arguments are widened, and how its result is narrowed back for the caller. */
export interface WriteShape {
  args: Row
  /** The result lacks fields the event needs (the caller chose them with `select`): read the row. */
  reread: boolean
  /** The result as the caller asked for it. */
  present(row: unknown): unknown
}

/**
 * Widens `args` so that the write returns what the event needs, without changing what the
 * caller gets back:
 * - with `select`, the primary key is added (the row is read again in the transaction, with
 *   Prisma's default selection, so that fields omitted globally stay out of events too);
 * - with a per-query `omit`, the omitted scalars are returned to the extension.
 */
export function shapeWrite(args: Row, scalars: readonly string[], keys: readonly string[]) {
  const select = args.select as Row | undefined | null
  if (select !== undefined && select !== null) {
    const added = keys.filter((key) => !select[key])
    const widened: WriteShape = {
      args: { ...args, select: { ...select, ...Object.fromEntries(added.map((k) => [k, true])) } },
      reread: true,
      present: (row) => without(row, added),
    }
    return widened
  }
  const omit = args.omit as Row | undefined | null
  if (omit !== undefined && omit !== null) {
    const omitted = scalars.filter((field) => omit[field] === true)
    const kept = Object.fromEntries(Object.entries(omit).filter(([f]) => !omitted.includes(f)))
    return {
      args: { ...args, omit: kept },
      reread: false,
      present: (row: unknown) => without(row, omitted),
    }
  }
  return { args, reread: false, present: (row: unknown) => row }
}

function without(row: unknown, fields: readonly string[]): unknown {
  if (fields.length === 0 || row === null || typeof row !== 'object') return row
  const copy = { ...(row as Row) }
  for (const field of fields) delete copy[field]
  return copy
}

/** A filter that matches exactly these rows, by primary key. */
export function rowsFilter(rows: readonly Row[], keys: readonly string[]): Row {
  const [key] = keys
  if (keys.length === 1 && key !== undefined) return { [key]: { in: rows.map((row) => row[key]) } }
  return { OR: rows.map((row) => Object.fromEntries(keys.map((k) => [k, row[k]]))) }
}

/** The primary key of a row, as a map key. */
export function keyOf(row: Row, keys: readonly string[]): string {
  return JSON.stringify(
    keys.map((key) => row[key]),
    (_k, value) => (typeof value === 'bigint' ? `${value}n` : value),
  )
}
