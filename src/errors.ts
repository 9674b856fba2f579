/**
 * The errors resthooks throws. Each has a stable `code` so that callers (and the HTTP API)
 * can tell them apart without parsing messages.
 */

/** A mistake in the options given to `createHooks()` or a store; thrown at start-up. */
export class ConfigurationError extends Error {
  readonly code = 'configuration_error'
  override name = 'ConfigurationError'
}

/** One invalid field of an input, as the HTTP API reports it (`errors: [{field, message}]`). */
export interface FieldError {
  field: string
  message: string
}

/** Input that cannot be accepted; nothing was changed. */
export class ValidationError extends Error {
  readonly code = 'validation_error'
  override name = 'ValidationError'
  readonly errors: readonly FieldError[]

  constructor(errors: readonly FieldError[]) {
    super(errors.map((e) => (e.field ? `${e.field}: ${e.message}` : e.message)).join('; '))
    this.errors = errors
  }
}

/** An event name that is not registered, or a model event that cannot be dispatched. */
export class EventError extends Error {
  readonly code = 'event_error'
  override name = 'EventError'
}

/** A payload over the configured maximum body size. */
export class PayloadTooLargeError extends Error {
  readonly code = 'payload_too_large'
  override name = 'PayloadTooLargeError'
}
