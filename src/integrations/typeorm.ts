/**
 * The TypeORM integration: an entity subscriber that records created/updated/deleted model
 * events in the outbox through the query runner of the change itself, so that they commit or
 * roll back with it. Typed structurally: resthooks never imports TypeORM at run time.
 *
 * @module
 */

import type { DispatchResult } from '../dispatch/dispatcher.ts'
import { ConfigurationError, EventError } from '../errors.ts'
import type { Hooks } from '../hooks.ts'
import type {
  TypeORMEntityManagerLike,
  TypeORMQueryRunnerLike,
  TypeORMTransactionLike,
} from '../tx/typeorm.ts'
import {
  changeOf,
  type TypeORMChangeEventLike,
  type TypeORMEntityMetadataLike,
  type TypeORMOperation,
} from './typeorm-change.ts'

export { fromTypeORM, isTypeORMLike } from '../tx/typeorm.ts'
export type {
  TypeORMEntityManagerLike,
  TypeORMEntityMetadataLike,
  TypeORMOperation,
  TypeORMQueryRunnerLike,
  TypeORMTransactionLike,
}

/** What the subscriber uses of `createHooks()`'s result. */
export type TypeORMHooks = Pick<Hooks, 'modelEvent' | 'events' | 'store'>

/** Options of `typeormSubscriber()`. */
export interface TypeORMSubscriberOptions {
  /**
   * The model name of an entity, as the `events` map names it (`'Book'` in `'Book.created'`);
   * null or undefined leaves the entity's changes alone.
   * @default the entity's name: its class name, or its EntitySchema's `name`
   * @example modelName: (entity) => (entity.name === 'BookEntity' ? 'Book' : entity.name)
   */
  modelName?: (entity: TypeORMEntityMetadataLike) => string | null | undefined
  /**
   * The model action each TypeORM operation fires; null fires nothing for it.
   * @default { insert: 'created', update: 'updated', remove: 'deleted', softRemove: 'deleted', recover: 'recovered' }
   * @example actions: { softRemove: 'updated', recover: 'updated' } // a soft delete is an update
   */
  actions?: Partial<Record<TypeORMOperation, string | null>>
}

/** The part of a TypeORM `DataSource` that `attach()` uses. */
export interface TypeORMDataSourceLike {
  readonly isInitialized: boolean
  readonly options: { readonly type: string }
  readonly subscribers: unknown[]
}

/** The part of a TypeORM `Repository` that `fire()` uses. */
export interface TypeORMRepositoryLike {
  readonly metadata: TypeORMEntityMetadataLike
  readonly manager: TypeORMEntityManagerLike
}

/** A subscriber event: the change and the transaction it runs in. */
type SubscriberEvent = TypeORMChangeEventLike & {
  manager: TypeORMEntityManagerLike
  queryRunner: TypeORMQueryRunnerLike
}

/**
 * The entity subscriber (TypeORM's `EntitySubscriberInterface`) with resthooks' helpers. It
 * listens to every entity; changes of entities whose `Model.action` no event maps cost nothing.
 */
export interface TypeORMSubscriber {
  afterInsert(event: SubscriberEvent): Promise<void>
  afterUpdate(event: SubscriberEvent): Promise<void>
  afterRemove(event: SubscriberEvent): Promise<void>
  afterSoftRemove(event: SubscriberEvent): Promise<void>
  afterRecover(event: SubscriberEvent): Promise<void>
  /**
   * Adds this subscriber to an initialized DataSource (`dataSource.subscribers.push(…)`, with
   * checks): TypeORM builds `dataSource.subscribers` anew in `initialize()` and only takes
   * decorated classes in the `subscribers` option. Throws if the DataSource is not initialized
   * or its database type cannot share a transaction with the store.
   */
  attach(dataSource: TypeORMDataSourceLike): TypeORMSubscriber
  /**
   * Fires a custom model action (`Book.read`) for `entity`, named as the repository's entity.
   * Inside a transaction (a repository of the transaction's manager) it is written in that
   * transaction; otherwise in a transaction of its own on the repository's DataSource.
   * Resolves like `modelEvent`: null when no event maps that action.
   * @example
   * const books = manager.getRepository(BookSchema)
   * await resthooks.fire(books, 'read', book)
   */
  fire(
    repository: TypeORMRepositoryLike,
    action: string,
    entity: object,
  ): Promise<DispatchResult | null>
}

const DEFAULT_ACTIONS: Record<TypeORMOperation, string | null> = {
  insert: 'created',
  update: 'updated',
  remove: 'deleted',
  softRemove: 'deleted',
  recover: 'recovered',
}

const ACTION = /^[A-Za-z_][A-Za-z0-9_]*$/

/** The TypeORM database types whose transactions can carry resthooks' rows, by store dialect. */
const DIALECT_OF_TYPE: Record<string, 'sqlite' | 'postgres'> = {
  'better-sqlite3': 'sqlite',
  postgres: 'postgres',
}

/**
 * Creates the entity subscriber that fires the `events` map's model events for TypeORM changes:
 * `save()` of a new entity → `Model.created`, of a changed one → `Model.updated` (with the row's
 * previous values, for change conditions), `remove()` → `Model.deleted` (with the last values),
 * `softRemove()` → `Model.deleted`, `recover()` → `Model.recovered`. Each is written through the
 * query runner of the change, inside its transaction (TypeORM wraps `save()` and `remove()` in
 * one), and the owner resolver gets that transaction's EntityManager as `tx`.
 *
 * Add it to an initialized DataSource with `attach()` (or `dataSource.subscribers.push()`).
 *
 * @example
 * const hooks = createHooks({ store: sqliteStore({ path: 'app.db' }), events })
 * const dataSource = new DataSource({ type: 'better-sqlite3', database: 'app.db', entities })
 * await dataSource.initialize()
 * const resthooks = typeormSubscriber(hooks).attach(dataSource)
 * await dataSource.getRepository(BookSchema).save({ title: 'Emma', ownerId: 'u1' }) // book.added
 */
export function typeormSubscriber(
  hooks: TypeORMHooks,
  options: TypeORMSubscriberOptions = {},
): TypeORMSubscriber {
  checkHooks(hooks)
  const { modelName, actions } = checkOptions(options)

  function modelOf(metadata: TypeORMEntityMetadataLike): string | null {
    const name = modelName ? modelName(metadata) : metadata.name
    if (name === null || name === undefined) return null
    if (typeof name !== 'string' || !ACTION.test(name)) {
      throw new EventError(
        `options.modelName returned ${JSON.stringify(name)} for the entity ${metadata.name}; it must return a model name such as 'Book', or null`,
      )
    }
    return name
  }

  async function onChange(operation: TypeORMOperation, event: SubscriberEvent): Promise<void> {
    const action = actions[operation]
    if (action === null) return
    const model = modelOf(event.metadata)
    // Most changes are of models no event maps: leave them before doing any work.
    if (model === null || !hooks.events.forModelAction(model, action)) return
    const change = changeOf(operation, event)
    if (change === null) return
    await dispatch(
      event.manager,
      event.queryRunner,
      model,
      action,
      change.instance,
      change.previous,
    )
  }

  /**
   * Writes the event through `manager`'s transaction, one write at a time per connection: TypeORM
   * calls the subscriber for every row of a `save([…])` at once, and resthooks' savepoints on one
   * connection must not interleave. Without an open transaction (`save(…, { transaction: false })`,
   * `QueryBuilder` calls) the event gets a transaction of its own on the same connection.
   */
  function dispatch(
    manager: TypeORMEntityManagerLike,
    runner: TypeORMQueryRunnerLike | undefined,
    model: string,
    action: string,
    instance: object,
    previous?: object,
  ): Promise<DispatchResult | null> {
    const write = (tx: TypeORMEntityManagerLike) =>
      hooks.modelEvent(model, action, instance, previous ? { tx, previous } : { tx })
    if (runner?.isTransactionActive) return serially(runner, () => write(manager))
    if (runner) return serially(runner, () => manager.transaction(write))
    return manager.transaction(write)
  }

  const subscriber: TypeORMSubscriber = {
    afterInsert: (event) => onChange('insert', event),
    afterUpdate: (event) => onChange('update', event),
    afterRemove: (event) => onChange('remove', event),
    afterSoftRemove: (event) => onChange('softRemove', event),
    afterRecover: (event) => onChange('recover', event),

    attach(dataSource) {
      checkDataSource(dataSource, hooks.store.dialect)
      if (!dataSource.subscribers.includes(subscriber)) dataSource.subscribers.push(subscriber)
      return subscriber
    },

    async fire(repository, action, entity) {
      const metadata = (repository as Partial<TypeORMRepositoryLike> | null)?.metadata
      const manager = (repository as Partial<TypeORMRepositoryLike> | null)?.manager
      if (!metadata || typeof metadata.name !== 'string' || !manager) {
        throw new EventError(
          'fire(repository, action, entity) takes a TypeORM Repository, e.g. manager.getRepository(BookSchema)',
        )
      }
      if (typeof action !== 'string' || !ACTION.test(action)) {
        throw new EventError(
          `fire(repository, action, entity): the action must be a word such as 'read', not ${JSON.stringify(action)}`,
        )
      }
      if (entity === null || typeof entity !== 'object') {
        throw new EventError(`fire(repository, '${action}', entity): the entity must be an object`)
      }
      const model = modelOf(metadata)
      if (model === null || !hooks.events.forModelAction(model, action)) return null
      return dispatch(manager, manager.queryRunner, model, action, entity)
    },
  }
  return subscriber
}

/** The write in progress on each connection (query runner). */
const inProgress = new WeakMap<object, Promise<unknown>>()

function serially<T>(runner: object, run: () => Promise<T>): Promise<T> {
  const previous = inProgress.get(runner) ?? Promise.resolve()
  const next = previous.then(run, run)
  inProgress.set(
    runner,
    next.catch(() => {}),
  )
  return next
}

function checkHooks(hooks: TypeORMHooks): void {
  const candidate = hooks as Partial<TypeORMHooks> | null
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    typeof candidate.modelEvent !== 'function' ||
    typeof candidate.events?.forModelAction !== 'function' ||
    typeof candidate.store?.dialect !== 'string'
  ) {
    throw new ConfigurationError(
      'typeormSubscriber(hooks) takes what createHooks() returned, e.g. typeormSubscriber(createHooks({ store, events }))',
    )
  }
}

function checkOptions(options: TypeORMSubscriberOptions) {
  if (options === null || typeof options !== 'object') {
    throw new ConfigurationError('typeormSubscriber(hooks, options): options must be an object')
  }
  for (const key of Object.keys(options)) {
    if (key !== 'modelName' && key !== 'actions') {
      throw new ConfigurationError(
        `options.${key} is not an option of typeormSubscriber (options: modelName, actions)`,
      )
    }
  }
  if (options.modelName !== undefined && typeof options.modelName !== 'function') {
    throw new ConfigurationError(
      'options.modelName must be a function (entity metadata) => model name or null',
    )
  }
  const actions = { ...DEFAULT_ACTIONS }
  if (options.actions !== undefined) {
    if (options.actions === null || typeof options.actions !== 'object') {
      throw new ConfigurationError(
        'options.actions must be an object of TypeORM operation → model action or null',
      )
    }
    for (const [operation, action] of Object.entries(options.actions)) {
      if (!(operation in DEFAULT_ACTIONS)) {
        throw new ConfigurationError(
          `options.actions.${operation} is not a TypeORM operation (${Object.keys(DEFAULT_ACTIONS).join(', ')})`,
        )
      }
      if (action !== null && (typeof action !== 'string' || !ACTION.test(action))) {
        throw new ConfigurationError(
          `options.actions.${operation} must be a model action such as 'updated', or null`,
        )
      }
      actions[operation as TypeORMOperation] = action
    }
  }
  return { modelName: options.modelName, actions }
}

function checkDataSource(dataSource: TypeORMDataSourceLike, dialect: string): void {
  const candidate = dataSource as Partial<TypeORMDataSourceLike> | null
  if (
    candidate === null ||
    typeof candidate !== 'object' ||
    !Array.isArray(candidate.subscribers) ||
    typeof candidate.options?.type !== 'string'
  ) {
    throw new ConfigurationError('attach(dataSource) takes a TypeORM DataSource')
  }
  if (!candidate.isInitialized) {
    throw new ConfigurationError(
      'attach(dataSource) must run after `await dataSource.initialize()`: TypeORM builds dataSource.subscribers anew when it initializes',
    )
  }
  const type = candidate.options.type
  const expected = DIALECT_OF_TYPE[type]
  if (expected !== dialect) {
    throw new ConfigurationError(
      `the TypeORM DataSource is of type '${type}', but the store is ${dialect}: resthooks' rows are written in the DataSource's transactions, so it must be ${dialect === 'sqlite' ? "'better-sqlite3' on the store's SQLite file" : "'postgres' on the store's database"}`,
    )
  }
}
