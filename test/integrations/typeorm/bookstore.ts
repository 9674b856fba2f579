/**
 * The TypeORM side of the integration tests: the bookstore's entities as EntitySchemas (no
 * decorators, so that it runs under Node's type stripping), and a DataSource on the database
 * of the store under test.
 */
import { DataSource, type EntityManager, EntitySchema } from 'typeorm'
import { bookEvents } from '../../support/bookstore.ts'

export interface Book {
  id: number
  title: string
  status: string
  pages: number | null
  ownerId: string | null
  deletedAt: Date | null
}

export interface Chapter {
  id: number
  title: string
  bookId: number
  book?: Book
}

export const BookSchema = new EntitySchema<Book>({
  name: 'Book',
  tableName: 'book',
  columns: {
    id: { type: Number, primary: true, generated: true },
    title: { type: String },
    status: { type: String, default: 'draft' },
    pages: { type: Number, nullable: true },
    ownerId: { type: String, name: 'owner_id', nullable: true },
    deletedAt: { type: Date, name: 'deleted_at', nullable: true, deleteDate: true },
  },
})

export const ChapterSchema = new EntitySchema<Chapter>({
  name: 'Chapter',
  tableName: 'chapter',
  columns: {
    id: { type: Number, primary: true, generated: true },
    title: { type: String },
    bookId: { type: Number, name: 'book_id' },
  },
  relations: {
    // The chapter's owner is its book's owner (resolved through the relation).
    book: { type: 'many-to-one', target: 'Book', joinColumn: { name: 'book_id' } },
  },
})

/**
 * An entity class (mapped by an EntitySchema's `target`) that shapes its own webhook body, and
 * carries a property of the application's own beside its columns.
 */
export class Author {
  declare id: number
  declare name: string
  declare ownerId: string
  /** Not a column: the application's own. */
  declare nickname?: string

  toHookPayload(hook: { id: string }) {
    return { author: this.name, nickname: this.nickname ?? null, subscription: hook.id }
  }
}

export const AuthorSchema = new EntitySchema<Author>({
  name: 'Author',
  target: Author,
  tableName: 'author',
  columns: {
    id: { type: Number, primary: true, generated: true },
    name: { type: String },
    ownerId: { type: String, name: 'owner_id' },
  },
})

/** The bookstore's events, with chapter and author events and the recovery of a book. */
export const typeormEvents = {
  ...bookEvents,
  'book.restored': 'Book.recovered',
  'chapter.added': 'Chapter.created',
  'author.changed': 'Author.updated',
} as const

/**
 * The owner option: a chapter's owner is its book's owner, loaded through the transaction the
 * chapter is written in (so a book created in the same transaction is found).
 */
export async function ownerOf(
  instance: { ownerId?: string | null; bookId?: number },
  model: string,
  { tx }: { tx: unknown },
): Promise<string | null | undefined> {
  if (model === 'Chapter') {
    const id = Number(instance.bookId)
    const book = await (tx as EntityManager).findOneByOrFail(BookSchema, { id })
    return book.ownerId
  }
  return instance.ownerId
}

/**
 * A DataSource on `location`: a SQLite file (better-sqlite3, TypeORM's SQLite driver for Node)
 * or a PostgreSQL URL. `synchronize` creates the app's tables beside resthooks' own.
 */
export async function openDataSource(
  kind: 'sqlite' | 'postgres',
  location: string,
): Promise<DataSource> {
  const entities = [BookSchema, ChapterSchema, AuthorSchema]
  const dataSource =
    kind === 'postgres'
      ? new DataSource({ type: 'postgres', url: location, entities, synchronize: true })
      : new DataSource({ type: 'better-sqlite3', database: location, entities, synchronize: true })
  await dataSource.initialize()
  return dataSource
}
