/**
 * The comment a statement of fixed text starts with to ask the PostgreSQL store to prepare it
 * once per connection (a named statement: parsed and planned once, not on every call). Only the
 * worker's hot statements carry it: a named statement stays on its connection for good, so a
 * text that varies from call to call must never ask.
 */
export const PREPARED_STATEMENT = '/* resthooks: prepared */'
