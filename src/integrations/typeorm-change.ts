/**
 * What a TypeORM subscriber event says about a row: the instance to send and, for changes of an
 * existing row, its values before. Typed structurally: resthooks never imports TypeORM.
 */

/** The part of TypeORM's `ColumnMetadata` and `RelationMetadata` used here. */
export interface TypeORMPropertyLike {
  /** `title`, or `counters.likes` for a column of an embedded object. */
  readonly propertyPath: string
}

/** The part of TypeORM's `EntityMetadata` used here. */
export interface TypeORMEntityMetadataLike {
  /** The entity's name: the class name, or an `EntitySchema`'s `name`. */
  readonly name: string
  readonly tableName: string
  readonly targetName: string
  readonly columns: readonly TypeORMPropertyLike[]
  readonly relations: readonly TypeORMPropertyLike[]
  readonly primaryColumns: readonly TypeORMPropertyLike[]
  readonly deleteDateColumn?: TypeORMPropertyLike | undefined
  readonly updateDateColumn?: TypeORMPropertyLike | undefined
  readonly versionColumn?: TypeORMPropertyLike | undefined
}

/** The TypeORM operations whose `after…` subscriber events resthooks turns into model events. */
export type TypeORMOperation = 'insert' | 'update' | 'remove' | 'softRemove' | 'recover'

/** The fields of TypeORM's Insert/Update/Remove/SoftRemove/RecoverEvent read here. */
export interface TypeORMChangeEventLike {
  entity?: object | null | undefined
  databaseEntity?: object | null | undefined
  entityId?: unknown
  /** An update's written columns and relations. */
  updatedColumns?: readonly TypeORMPropertyLike[] | undefined
  updatedRelations?: readonly TypeORMPropertyLike[] | undefined
  metadata: TypeORMEntityMetadataLike
}

/** A row's change as a model event takes it. */
export interface ModelChange {
  /** The row as it is after the change (after a delete: its last values). */
  instance: object
  /** The row before the change, when TypeORM loaded it (updates, soft removes, recovers). */
  previous?: object
}

/**
 * The instance (and previous values) of a subscriber event, or null when TypeORM does not say
 * which row changed: `QueryBuilder` updates and deletes (`repository.update(criteria, values)`,
 * `repository.delete(criteria)`, `softDelete`, `restore`) hand subscribers no entity.
 */
export function changeOf(
  operation: TypeORMOperation,
  event: TypeORMChangeEventLike,
): ModelChange | null {
  const entity = asObject(event.entity)
  const databaseEntity = asObject(event.databaseEntity)
  const { metadata } = event
  switch (operation) {
    case 'insert':
      // save(): the entity with its generated columns; QueryBuilder insert(): the values as
      // inserted, with the generated columns TypeORM read back.
      return entity ? { instance: entity } : null
    case 'update': {
      if (!entity || !databaseEntity) return null
      // The loaded row with what was written over it. The entity alone is not the row: save()
      // of a partial object ({ id, title }) writes only those columns, and TypeORM may set
      // properties on the entity that it does not write.
      const written = keysOf([
        ...(event.updatedColumns ?? []),
        ...(event.updatedRelations ?? []),
        ...[metadata.updateDateColumn, metadata.versionColumn].filter(isDefined),
      ])
      // Properties that are neither columns nor relations (the application's own) come from the
      // entity as the application holds it.
      const fields = keysOf([...metadata.columns, ...metadata.relations])
      const instance = withValues(
        databaseEntity,
        entity,
        (key) => written.has(key) || !fields.has(key),
      )
      return { instance, previous: databaseEntity }
    }
    case 'remove': {
      // The loaded row has the last values (TypeORM clears the removed entity's primary
      // columns); the entity adds only what is neither a column nor a relation.
      if (databaseEntity) {
        const fields = keysOf([...metadata.columns, ...metadata.relations])
        return { instance: withValues(databaseEntity, entity ?? {}, (key) => !fields.has(key)) }
      }
      if (!entity) return null
      const instance = withValues(entity, {}, () => false)
      restorePrimaryColumns(instance, event)
      return { instance }
    }
    case 'softRemove':
    case 'recover': {
      // Only the delete-date column was written; a stale entity's other values were not.
      if (!databaseEntity) return entity ? { instance: entity } : null
      const written = keysOf([metadata.deleteDateColumn].filter(isDefined))
      const instance = withValues(databaseEntity, entity ?? {}, (key) => written.has(key))
      return { instance, previous: databaseEntity }
    }
  }
}

function asObject(value: unknown): object | null {
  return value !== null && typeof value === 'object' ? value : null
}

function isDefined<T>(value: T | undefined): value is T {
  return value !== undefined
}

/** The entity's own properties that hold these columns or relations (`counters` for `counters.likes`). */
function keysOf(properties: readonly TypeORMPropertyLike[]): Set<string> {
  return new Set(properties.map((property) => property.propertyPath.split('.')[0] ?? ''))
}

/**
 * A new object with `base`'s own values and, over them, `over`'s defined values of the keys
 * `take` admits, on the prototype of whichever is a class instance (so that a `toHookPayload()`
 * method stays). Neither is changed.
 */
function withValues(base: object, over: object, take: (key: string) => boolean): object {
  const prototype = [over, base]
    .map((value) => Object.getPrototypeOf(value) as object | null)
    .find((proto) => proto !== null && proto !== Object.prototype)
  const result = Object.create(prototype ?? Object.prototype) as object
  Object.assign(result, base)
  copyDefined(result, over, take)
  return result
}

function copyDefined(target: object, source: object, take: (key: string) => boolean): void {
  for (const [key, value] of Object.entries(source)) {
    if (value !== undefined && take(key)) (target as Record<string, unknown>)[key] = value
  }
}

/** Puts back primary values that TypeORM removed from the entity, from the event's entityId. */
function restorePrimaryColumns(instance: object, event: TypeORMChangeEventLike): void {
  const { entityId } = event
  if (entityId === undefined || entityId === null) return
  const record = instance as Record<string, unknown>
  const keys = [...keysOf(event.metadata.primaryColumns)]
  for (const key of keys) {
    if (record[key] !== undefined) continue
    // One primary column: entityId is its value; several: an object of them.
    record[key] =
      typeof entityId === 'object' ? (entityId as Record<string, unknown>)[key] : entityId
  }
}
