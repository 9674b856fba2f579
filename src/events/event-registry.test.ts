import { describe, expect, it } from 'vitest'
import { ConfigurationError } from '../errors.ts'
import { isPatternShape, patternMatches, patternsMatching } from './event-pattern.ts'
import { createEventRegistry, type EventMap } from './event-registry.ts'

/** Subscriptions by label, as the pattern table names them. */
const subscriptions = {
  A: 'foo.*',
  B: 'foo.created',
  D: 'foo.deleted',
  E: '*.created',
  F: 'bar.updated',
  H: '*',
} as const
type Label = keyof typeof subscriptions
const labels = Object.keys(subscriptions) as Label[]

/** The configuration error `fn` throws; fails the test when it throws nothing or something else. */
function configurationError(fn: () => unknown): ConfigurationError {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError)
    return error as ConfigurationError
  }
  throw new Error('expected a ConfigurationError, but nothing was thrown')
}

describe('subscription patterns', () => {
  const table: [string, Label[]][] = [
    ['foo.created', ['A', 'B', 'E', 'H']],
    ['foo.updated', ['A', 'H']],
    ['foo.deleted', ['A', 'D', 'H']],
    ['bar.updated', ['F', 'H']],
    ['bar.deleted', ['H']],
  ]

  it.each(table)('event %s reaches exactly the subscriptions %j (patternMatches)', (name, want) => {
    const got = labels.filter((label) => patternMatches(subscriptions[label], name))
    expect(got).toEqual(want)
  })

  it.each(table)(
    'event %s reaches exactly the subscriptions %j (index lookup keys)',
    (name, want) => {
      const keys = patternsMatching(name)
      const got = labels.filter((label) => keys.includes(subscriptions[label]))
      expect(got).toEqual(want)
    },
  )

  const multiWord = 'shop.order.paid'
  const matching = ['shop.order.paid', '*', 'shop.*', 'shop.order.*', '*.paid', '*.order.paid']
  const notMatching = [
    'order.*',
    'shop.paid',
    '*.shop',
    '*.order',
    'shop.order',
    'order.paid',
    'shop.orders.*',
    '*.rder.paid',
    'sho.*',
  ]

  it.each(matching)(`a multi-word event ${multiWord} reaches a subscription to %s`, (pattern) => {
    expect(patternMatches(pattern, multiWord)).toBe(true)
    expect(patternsMatching(multiWord)).toContain(pattern)
  })

  it.each(notMatching)(
    `a multi-word event ${multiWord} does not reach a subscription to %s`,
    (pattern) => {
      expect(patternMatches(pattern, multiWord)).toBe(false)
      expect(patternsMatching(multiWord)).not.toContain(pattern)
    },
  )

  it('the index lookup keys of an event are exactly the patterns that match it, each once', () => {
    for (const name of ['foo.created', 'shop.order.paid', 'a.b.c.d']) {
      const keys = patternsMatching(name)
      expect(new Set(keys).size).toBe(keys.length)
      for (const key of keys) {
        expect(isPatternShape(key), key).toBe(true)
        expect(patternMatches(key, name), `${key} ~ ${name}`).toBe(true)
      }
    }
    expect(patternsMatching('a.b.c.d').sort()).toEqual(
      ['a.b.c.d', '*', 'a.*', 'a.b.*', 'a.b.c.*', '*.d', '*.c.d', '*.b.c.d'].sort(),
    )
  })

  it('a prefix or suffix pattern matches whole words only', () => {
    expect(patternMatches('foo.*', 'foobar.created')).toBe(false)
    expect(patternMatches('*.created', 'foo.uncreated')).toBe(false)
    expect(patternsMatching('foobar.created')).not.toContain('foo.*')
    expect(patternsMatching('foo.uncreated')).not.toContain('*.created')
  })
})

describe('the event registry', () => {
  const events: EventMap = {
    'book.added': 'Book.created',
    'book.changed': 'Book.updated+',
    'book.removed': 'Book.deleted',
    'book.read': 'Book.read',
    'user.logged_in': null,
  }

  it('lists the registered event names, sorted', () => {
    const registry = createEventRegistry(events)
    expect(registry.names()).toEqual([
      'book.added',
      'book.changed',
      'book.read',
      'book.removed',
      'user.logged_in',
    ])
  })

  it('finds the event a model change fires, by Model.action', () => {
    const registry = createEventRegistry(events)
    expect(registry.forModelAction('Book', 'created')).toEqual({
      name: 'book.added',
      model: 'Book',
      action: 'created',
      broadcast: false,
    })
    expect(registry.forModelAction('Book', 'deleted')?.name).toBe('book.removed')
    expect(registry.forModelAction('Author', 'created')).toBeUndefined()
    expect(registry.forModelAction('Book', 'archived')).toBeUndefined()
  })

  it('marks a mapping ending in + as going to every owner, without the + in the action', () => {
    const registry = createEventRegistry(events)
    expect(registry.get('book.changed')).toEqual({
      name: 'book.changed',
      model: 'Book',
      action: 'updated',
      broadcast: true,
    })
    expect(registry.forModelAction('Book', 'updated')?.name).toBe('book.changed')
    expect(registry.forModelAction('Book', 'updated+')).toBeUndefined()
  })

  it('fires a custom model action such as Book.read like any other model change', () => {
    const registry = createEventRegistry(events)
    expect(registry.forModelAction('Book', 'read')).toEqual({
      name: 'book.read',
      model: 'Book',
      action: 'read',
      broadcast: false,
    })
  })

  it('registers a null mapping as a custom event that no model change fires', () => {
    const registry = createEventRegistry(events)
    expect(registry.get('user.logged_in')).toEqual({
      name: 'user.logged_in',
      model: null,
      action: null,
      broadcast: false,
    })
    expect(registry.get('user.logged_out')).toBeUndefined()
  })

  it('refuses two event names mapped to the same Model.action, naming the option and both', () => {
    const error = configurationError(() =>
      createEventRegistry({ 'book.added': 'Book.created', 'book.new': 'Book.created' }),
    )
    expect(error.message).toContain(`options.events['book.new']`)
    expect(error.message).toContain('book.added')
    expect(error.message).toContain('Book.created')
  })

  it('refuses the same Model.action mapped twice even when only one has +', () => {
    const error = configurationError(() =>
      createEventRegistry({ 'book.added': 'Book.created', 'book.new': 'Book.created+' }),
    )
    expect(error.message).toContain(`options.events['book.new']`)
    expect(error.message).toContain('book.added')
  })

  it('refuses a Model.action added at run time that an existing event already uses', () => {
    const registry = createEventRegistry(events)
    const error = configurationError(() =>
      registry.register({ 'book.created': 'Book.created' }, 'body.events'),
    )
    expect(error.message).toContain(`body.events['book.created']`)
    expect(error.message).toContain('book.added')
    expect(registry.get('book.created')).toBeUndefined()
  })

  it('adds events at run time that dispatch and subscriptions then see', () => {
    const registry = createEventRegistry(events)
    registry.register({ 'author.added': 'Author.created' })
    expect(registry.forModelAction('Author', 'created')?.name).toBe('author.added')
    expect(registry.patternProblem('author.*')).toBeNull()
  })

  it.each([
    ['uppercase letters', 'Book.added'],
    ['no dot', 'book'],
    ['more than 64 characters', `book.${'a'.repeat(60)}`],
    ['an empty word', 'book..added'],
    ['a leading dot', '.book'],
    ['a trailing dot', 'book.'],
    ['a space', 'book. added'],
    ['a hyphen', 'book.was-added'],
  ])('refuses an event name with %s, naming the option', (_why, name) => {
    const error = configurationError(() => createEventRegistry({ [name]: null }))
    expect(error.message).toContain(`options.events['${name}']`)
    expect(error.message).toMatch(/event name/)
  })

  it('accepts an event name of exactly 64 characters', () => {
    const name = `book.${'a'.repeat(59)}`
    expect(name).toHaveLength(64)
    expect(createEventRegistry({ [name]: null }).names()).toEqual([name])
  })

  it('refuses to register hook.test, which test deliveries use', () => {
    const error = configurationError(() => createEventRegistry({ 'hook.test': null }))
    expect(error.message).toContain(`options.events['hook.test']`)
    expect(error.message).toContain('reserved')
  })

  it.each<[string, unknown]>([
    ['a model without an action', 'Book'],
    ['three parts', 'Book.created.x'],
    ['a number', 42],
    ['an empty string', ''],
    ['a + in the middle', 'Book.+created'],
  ])('refuses a mapping that is %s, naming the option', (_why, mapping) => {
    const error = configurationError(() =>
      createEventRegistry({ 'book.added': mapping } as unknown as EventMap),
    )
    expect(error.message).toContain(`options.events['book.added']`)
    expect(error.message).toContain('Model.action')
  })

  it('uses the option path it is given in its messages', () => {
    const error = configurationError(() => createEventRegistry({ Bad: null }, 'events.json'))
    expect(error.message).toContain(`events.json['Bad']`)
  })

  it('registers nothing from a map that has a mistake', () => {
    const registry = createEventRegistry(events)
    configurationError(() => registry.register({ 'order.paid': 'Order.paid', 'Order.x': null }))
    expect(registry.get('order.paid')).toBeUndefined()
    expect(registry.forModelAction('Order', 'paid')).toBeUndefined()
  })

  describe('what can be subscribed to', () => {
    const registry = createEventRegistry(events)

    it.each(['book.added', 'user.logged_in', '*', 'book.*', 'user.*', '*.added', '*.logged_in'])(
      'accepts %s',
      (pattern) => {
        expect(registry.patternProblem(pattern)).toBeNull()
      },
    )

    it.each(['book.sold', 'order.paid', 'hook.test'])('refuses the unknown name %s', (name) => {
      expect(registry.patternProblem(name)).toBe(
        `'${name}' matches no registered event (registered: book.added, book.changed, book.read, book.removed, user.logged_in)`,
      )
    })

    it.each(['order.*', '*.sold', 'book.added.*', '*.book.added'])(
      'refuses the pattern %s, which matches no registered event',
      (pattern) => {
        expect(registry.patternProblem(pattern)).toMatch(
          new RegExp(`^'${pattern.replace(/[.*]/g, '\\$&')}' matches no registered event`),
        )
      },
    )

    it.each([
      'foo*',
      '*.*',
      '**',
      'foo.*.bar',
      '',
      'book',
      'Book.added',
      '*book.added',
      'book.added*',
      '.*',
      '*.',
    ])('refuses the malformed pattern %j as not a name or pattern', (pattern) => {
      expect(registry.patternProblem(pattern)).toBe(
        `'${pattern}' is not an event name or pattern ('name.verb', '*', 'prefix.*' or '*.suffix')`,
      )
    })

    it('says so when no event is registered at all', () => {
      expect(createEventRegistry().patternProblem('*')).toBe(
        `'*' matches no registered event (registered: none)`,
      )
    })
  })
})
