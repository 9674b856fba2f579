/**
 * Automatic model events for Prisma 7: a client extension that fires `created`, `updated` and
 * `deleted` in the same transaction as the write, and adds `fireEvent` to every model for custom
 * actions. See docs/integrations/prisma.md.
 *
 * @module
 */
import type { Types } from '@prisma/client/runtime/client'
import type { DispatchResult } from '../dispatch/dispatcher.ts'
import { ConfigurationError, EventError } from '../errors.ts'
import type { Hooks } from '../hooks.ts'
import { createLoneWriteGate, type LoneWriteGate, openGate } from './prisma-lone-gate.ts'
import {
  delegateName,
  delegateOf,
  keyOf,
  type ModelDelegate,
  type Row,
  rowsFilter,
  scalarsOf,
  shapeWrite,
} from './prisma-rows.ts'
import {
  type PrismaTransactionInfo,
  type QueryCallbackArgs,
  sendIn,
  transactionOf,
  transactionView,
  withExecutor,
} from './prisma-transaction.ts'

export type { PrismaTransactionView } from './prisma-transaction.ts'

/** Options of `prismaHooks()`. */
export interface PrismaHooksOptions {
  /**
   * The model name resthooks uses for a Prisma model (in `events`, `serializers`, `owner`), when
   * it is not the Prisma model's own name.
   * @example { Book: 'Novel' } // prisma.book fires 'Novel.created', …
   */
  modelNames?: Record<string, string>
  /**
   * A model's primary-key fields, when they are not `id`. The `*Many` operations and writes with
   * `select` find their rows by it.
   * @example { Membership: ['userId', 'orgId'] }
   */
  primaryKeys?: Record<string, readonly string[]>
  /**
   * Options of the interactive transaction the extension opens around a lone change (one made
   * outside `$transaction`), as Prisma's `$transaction(fn, options)` takes them.
   */
  transactionOptions?: { maxWait?: number; timeout?: number; isolationLevel?: string }
}

/** What the extension needs of `createHooks()`'s result. */
export type HooksForPrisma = Pick<Hooks, 'modelEvent' | 'events' | 'store'>

/** `prisma.book.fireEvent(action, instance)`: dispatches a custom action of this model. */
export type FireEvent = (action: string, instance: object) => Promise<DispatchResult | null>

/** What `prisma.$extends(prismaHooks(hooks))` adds to the client's types. */
// biome-ignore lint/suspicious/noExplicitAny: any client, as Prisma.defineExtension takes it
export type PrismaHooksExtension = (client: any) => {
  $extends: {
    extArgs: Types.Extensions.InternalArgs<
      // biome-ignore lint/complexity/noBannedTypes: Prisma's "no result extension"
      {},
      { $allModels: { fireEvent: FireEvent } },
      // biome-ignore lint/complexity/noBannedTypes: Prisma's "no query extension" (in its types)
      {},
      // biome-ignore lint/complexity/noBannedTypes: Prisma's "no client extension"
      {}
    >
  }
}

const KNOWN_OPTIONS = new Set(['modelNames', 'primaryKeys', 'transactionOptions'])

/** Sent in a transaction of the extension's own to learn how Prisma names it; never executed. */
const PROBE = '/* resthooks: which transaction is this? */'

/** The actions a write may fire; `createMany` returns no rows, so it fires none. */
const ACTIONS: Record<string, readonly string[]> = {
  create: ['created'],
  createManyAndReturn: ['created'],
  update: ['updated'],
  updateMany: ['updated'],
  updateManyAndReturn: ['updated'],
  upsert: ['created', 'updated'],
  delete: ['deleted'],
  deleteMany: ['deleted'],
}

/** Writes that the lone-write gate keeps out of the extension's transactions (on SQLite). */
const WRITES = new Set([
  ...Object.keys(ACTIONS),
  'createMany',
  '$executeRaw',
  '$executeRawUnsafe',
  '$queryRaw',
  '$queryRawUnsafe',
])

/**
 * The Prisma client extension: every `create`, `update`, `upsert` and `delete` (and the `*Many`
 * operations whose rows can be known) of a model with events fires them through `hooks`, in the
 * transaction of the write: the one you opened with `prisma.$transaction(async (tx) => …)`, or
 * one the extension opens around a lone call. A custom action is one call:
 * `prisma.book.fireEvent('read', book)`.
 *
 * @example
 * const hooks = createHooks({ store: sqliteStore({ path: 'app.db' }), events: { 'book.added': 'Book.created' } })
 * const prisma = new PrismaClient({ adapter }).$extends(prismaHooks(hooks))
 * await prisma.book.create({ data: { title: 'Emma', ownerId: 'u1' } }) // book.added, with the row
 */
export function prismaHooks(
  hooks: HooksForPrisma,
  options: PrismaHooksOptions = {},
): PrismaHooksExtension {
  checkOptions(hooks, options)
  const modelNames = options.modelNames ?? {}
  const primaryKeys = options.primaryKeys ?? {}

  const extension = (client: object) => {
    checkModels(client, options)
    const gate: LoneWriteGate = hooks.store.dialect === 'sqlite' ? createLoneWriteGate() : openGate
    const scalarFields = new Map<string, readonly string[]>()
    // biome-ignore lint/suspicious/noExplicitAny: the application's own client type
    let extended: any

    const modelName = (model: string) => modelNames[model] ?? model
    const delegate = (on: object, model: string): ModelDelegate => {
      const found = delegateOf(on, model)
      if (!found) throw new EventError(`prismaHooks: the client has no model ${model}`)
      return found
    }
    const scalarsOfModel = (model: string): readonly string[] => {
      let fields = scalarFields.get(model)
      if (!fields) {
        fields = Object.keys(delegate(client, model).fields)
        scalarFields.set(model, fields)
      }
      return fields
    }
    const keysOf = (model: string): readonly string[] =>
      primaryKeys[model] ?? (scalarsOfModel(model).includes('id') ? ['id'] : [])
    const requireKeys = (model: string, why: string): readonly string[] => {
      const keys = keysOf(model)
      if (keys.length === 0) {
        throw new EventError(
          `prismaHooks: ${model} has no id field, and ${why} needs its primary key: name it in options.primaryKeys, e.g. { ${model}: ['userId', 'orgId'] }`,
        )
      }
      return keys
    }

    /** Runs `work` in a transaction of the extension's own, told how Prisma names it. */
    const inOwnTransaction = <T>(work: (transaction: PrismaTransactionInfo) => Promise<T>) =>
      gate.own(() =>
        extended.$transaction(
          async (tx: { $queryRawUnsafe(query: string): Promise<unknown> }) =>
            work((await tx.$queryRawUnsafe(PROBE)) as PrismaTransactionInfo),
          options.transactionOptions,
        ),
      ) as Promise<T>

    /** Performs the write `callback` describes in `transaction`, and fires its events there. */
    async function change(
      callback: QueryCallbackArgs & { model: string },
      actions: readonly string[],
      transaction: PrismaTransactionInfo,
      own: boolean,
      run: (args: Row) => Promise<unknown>,
    ): Promise<unknown> {
      const { model, operation } = callback
      const args = (callback.args ?? {}) as Row
      const name = modelName(model)
      const tx = transactionView(client, transaction, own)
      const table = delegate(tx, model)
      const scalars = scalarsOfModel(model)
      const fire = async (action: string, row: Row, previous?: Row) => {
        if (!actions.includes(action)) return
        await hooks.modelEvent(name, action, row, {
          tx,
          ...(previous !== undefined ? { previous } : {}),
        })
      }
      const shape = (keys: readonly string[]) => shapeWrite(args, scalars, keys)
      /** The event instances of written rows: as returned, or read again after a `select`. */
      const instancesOf = async (rows: Row[], reread: boolean): Promise<Row[]> => {
        if (!reread) return rows.map((row) => scalarsOf(row, scalars))
        const keys = requireKeys(model, `${operation} with select`)
        const found = (await table.findMany({ where: rowsFilter(rows, keys) })) as Row[]
        const byKey = new Map(found.map((row) => [keyOf(row, keys), row]))
        return rows.map((row) => byKey.get(keyOf(row, keys)) ?? scalarsOf(row, scalars))
      }

      switch (operation) {
        case 'create':
        case 'update':
        case 'upsert': {
          const select = args.select !== undefined && args.select !== null
          const written = shape(select ? requireKeys(model, `${operation} with select`) : [])
          const previous =
            operation === 'create'
              ? null
              : ((await table.findUnique({ where: args.where })) as Row | null)
          const row = (await run(written.args)) as Row
          const [instance] = await instancesOf([row], written.reread)
          if (instance) {
            const action = operation === 'create' || previous === null ? 'created' : 'updated'
            await fire(action, instance, previous ?? undefined)
          }
          return written.present(row)
        }
        case 'delete': {
          const written = shape([])
          const before = written.reread
            ? ((await table.findUnique({ where: args.where })) as Row | null)
            : null
          const row = (await run(written.args)) as Row
          await fire('deleted', before ?? scalarsOf(row, scalars))
          return written.present(row)
        }
        case 'createManyAndReturn': {
          const written = shape(args.select ? requireKeys(model, `${operation} with select`) : [])
          const rows = (await run(written.args)) as Row[]
          for (const instance of await instancesOf(rows, written.reread)) {
            await fire('created', instance)
          }
          return rows.map(written.present)
        }
        case 'updateMany':
        case 'updateManyAndReturn':
        case 'deleteMany': {
          // The rows are read first, then exactly those rows are written: what the events report
          // is what was written, even with `limit` or a concurrent insert.
          const keys = requireKeys(model, operation)
          const { limit, ...rest } = args
          const before = (await table.findMany({
            where: args.where,
            ...(limit !== undefined ? { take: limit } : {}),
          })) as Row[]
          const target = { ...rest, where: { AND: [args.where ?? {}, rowsFilter(before, keys)] } }
          if (operation === 'deleteMany') {
            const result = await run(target)
            for (const row of before) await fire('deleted', row)
            return result
          }
          const written = shape(operation === 'updateManyAndReturn' && args.select ? keys : [])
          const result = await run({ ...target, ...pick(written.args, ['select', 'omit']) })
          const rows =
            operation === 'updateMany'
              ? ((await table.findMany({ where: rowsFilter(before, keys) })) as Row[])
              : (result as Row[])
          const previous = new Map(before.map((row) => [keyOf(row, keys), row]))
          for (const instance of await instancesOf(rows, written.reread)) {
            await fire('updated', instance, previous.get(keyOf(instance, keys)))
          }
          return operation === 'updateMany' ? result : (result as Row[]).map(written.present)
        }
        default:
          return run(args)
      }
    }

    /** The actions of this write that have events, or none. */
    const mappedActions = (model: string, operation: string): readonly string[] => {
      const actions = ACTIONS[operation]
      if (!actions) return []
      const name = modelName(model)
      return actions.filter((action) => hooks.events.forModelAction(name, action) !== undefined)
    }

    extended = (
      client as { $extends(extension: object): unknown } & Record<string, unknown>
    ).$extends({
      name: 'resthooks',
      query: {
        async $allOperations(callback: QueryCallbackArgs) {
          const { model, operation, args, query } = callback
          if (model === undefined) {
            if (operation === '$queryRawUnsafe' && Array.isArray(args) && args[0] === PROBE) {
              return transactionOf(callback)
            }
          }
          const actions = model === undefined ? [] : mappedActions(model, operation)
          if (model === undefined || actions.length === 0) {
            const lone = callback.__internalParams?.transaction == null
            return lone && WRITES.has(operation)
              ? gate.lone(() => Promise.resolve(query(args)))
              : query(args)
          }
          const transaction = transactionOf(callback)
          const modelCallback = { ...callback, model }
          if (transaction?.kind === 'batch') {
            throw new EventError(
              `prismaHooks: ${model}.${operation} inside $transaction([…]) cannot fire ${modelName(model)}.${actions.join('/')} in the same transaction (a batch takes no extra statements): use an interactive transaction, prisma.$transaction(async (tx) => …). Nothing was written.`,
            )
          }
          if (transaction) {
            return change(modelCallback, actions, transaction, false, (next) =>
              Promise.resolve(query(next)),
            )
          }
          return inOwnTransaction((own) =>
            change(modelCallback, actions, own, true, (next) => sendIn(query(next), own)),
          )
        },
      },
      model: {
        $allModels: {
          async fireEvent(
            this: { $name?: unknown; $parent?: unknown },
            action: string,
            instance: object,
          ): Promise<DispatchResult | null> {
            const model = String(this.$name)
            const name = modelName(model)
            if (typeof action !== 'string' || action === '') {
              throw new EventError(
                `prisma.${delegateName(model)}.fireEvent(action, instance) takes the action as a string, e.g. 'read'`,
              )
            }
            if (!hooks.events.forModelAction(name, action)) return null
            const parent = this.$parent as Record<string, unknown> | undefined
            if (parent === null || typeof parent !== 'object') {
              throw new EventError(
                'prismaHooks: fireEvent cannot find its client (this.$parent): it supports Prisma 7',
              )
            }
            if (typeof parent.$connect !== 'function') {
              // Called on the tx of prisma.$transaction(async (tx) => …): its transaction.
              return hooks.modelEvent(name, action, instance, { tx: withExecutor(parent) })
            }
            return inOwnTransaction((own) =>
              hooks.modelEvent(name, action, instance, { tx: transactionView(client, own, true) }),
            )
          },
        },
      },
    })
    return extended
  }
  return extension as unknown as PrismaHooksExtension
}

function pick(row: Row, fields: readonly string[]): Row {
  return Object.fromEntries(fields.filter((f) => row[f] !== undefined).map((f) => [f, row[f]]))
}

function checkOptions(hooks: HooksForPrisma, options: PrismaHooksOptions): void {
  const candidate = hooks as Partial<HooksForPrisma> | null
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.modelEvent !== 'function' ||
    typeof candidate.events?.forModelAction !== 'function' ||
    (candidate.store?.dialect !== 'sqlite' && candidate.store?.dialect !== 'postgres')
  ) {
    throw new ConfigurationError('prismaHooks(hooks) takes the result of createHooks()')
  }
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('prismaHooks(hooks, options): options must be an object')
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN_OPTIONS.has(key)) {
      throw new ConfigurationError(`prismaHooks options.${key} is not an option`)
    }
  }
  for (const [model, name] of Object.entries(options.modelNames ?? {})) {
    if (typeof name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new ConfigurationError(
        `prismaHooks options.modelNames.${model} must be a model name (letters, digits, _)`,
      )
    }
  }
  for (const [model, keys] of Object.entries(options.primaryKeys ?? {})) {
    if (!Array.isArray(keys) || keys.length === 0 || keys.some((k) => typeof k !== 'string')) {
      throw new ConfigurationError(
        `prismaHooks options.primaryKeys.${model} must be a non-empty array of field names`,
      )
    }
  }
  const transaction = options.transactionOptions
  if (transaction !== undefined) {
    if (transaction === null || typeof transaction !== 'object') {
      throw new ConfigurationError('prismaHooks options.transactionOptions must be an object')
    }
    for (const key of ['maxWait', 'timeout'] as const) {
      const value = transaction[key]
      if (value !== undefined && !(typeof value === 'number' && value > 0)) {
        throw new ConfigurationError(
          `prismaHooks options.transactionOptions.${key} must be a positive number of ms`,
        )
      }
    }
  }
}

/** The models the options name must be models of the client, and their keys its fields. */
function checkModels(client: object, options: PrismaHooksOptions): void {
  const named = [
    ...Object.keys(options.modelNames ?? {}).map((model) => ['modelNames', model] as const),
    ...Object.keys(options.primaryKeys ?? {}).map((model) => ['primaryKeys', model] as const),
  ]
  for (const [option, model] of named) {
    const delegate = delegateOf(client, model)
    if (!delegate) {
      throw new ConfigurationError(
        `prismaHooks options.${option}.${model}: the Prisma client has no model ${model}`,
      )
    }
    if (option !== 'primaryKeys') continue
    for (const field of options.primaryKeys?.[model] ?? []) {
      if (!(field in delegate.fields)) {
        throw new ConfigurationError(
          `prismaHooks options.primaryKeys.${model}: ${model} has no field ${field}`,
        )
      }
    }
  }
}
