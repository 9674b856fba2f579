import { renderEnvelope } from '../dispatch/envelope.ts'
import { isPatternShape, patternMatches } from '../events/event-pattern.ts'
import type { Hooks } from '../hooks.ts'
import { defaultBody, isContentType } from '../payloads/content-type.ts'
import { renderTemplate, templateContext } from '../payloads/template.ts'
import { compileFilter, type Filter, filterProblems } from '../subscriptions/filter.ts'
import type { SubscriptionFormValues } from './subscription-form.ts'

/** What the form's preview panel shows. */
export interface Preview {
  /** The event the sample stands for, e.g. `book.added`; '' when none can be chosen. */
  event: string
  /** The body a delivery of the sample would carry; null when it cannot be rendered. */
  body: string | null
  /** Why there is no body (a template error, sample data that is not JSON…). */
  problem: string | null
  /** Whether the sample passes the filter, in words; null without a filter. */
  filter: string | null
  /** The sample data used (JSON), to fill the sample field when it was left empty. */
  sample: string
  /** Where the sample came from. */
  sampleSource: 'form' | 'stored event' | 'none'
}

/**
 * Renders the body a subscription with the form's values would receive for a sample event,
 * through the same code as a delivery (`renderEnvelope`, the content type's default body or
 * `renderTemplate`). The sample is the form's own, else the latest stored event of that type
 * (of any owner: the operator sees them all), else `{}`.
 */
export async function previewOf(
  hooks: Hooks,
  values: SubscriptionFormValues,
  hookId: string,
  now: number,
): Promise<Preview> {
  const names = hooks.events.names()
  const event = names.includes(values.event)
    ? values.event
    : (names.find((name) => safeMatches(values.event, name)) ?? '')
  const result: Preview = {
    event,
    body: null,
    problem: null,
    filter: null,
    sample: values.sample,
    sampleSource: 'form',
  }
  if (event === '') {
    result.problem = 'Choose an event (a registered name or a pattern) to preview its body.'
    return result
  }

  let data: string
  let ref: string | null = null
  let createdAt = now
  if (values.sample.trim() !== '') {
    try {
      data = JSON.stringify(JSON.parse(values.sample))
    } catch (error) {
      result.problem = `The sample data is not valid JSON (${(error as Error).message}).`
      return result
    }
  } else {
    const stored = await hooks.store.admin.latestEvent([event])
    data = stored?.data ?? '{}'
    ref = stored?.ref ?? null
    createdAt = stored?.created_at ?? now
    result.sample = JSON.stringify(JSON.parse(data), null, 2)
    result.sampleSource = stored ? 'stored event' : 'none'
  }

  const parsedData = JSON.parse(data) as unknown
  result.filter = filterVerdict(values.filter, parsedData)

  if (!isContentType(values.contentType)) {
    result.problem = 'Choose a content type.'
    return result
  }
  try {
    const envelope = renderEnvelope(
      { name: event, created_at: createdAt, data, ref },
      { id: hookId, event: values.event, target: values.target },
      values.payload === 'thin' ? 'thin' : 'full',
    )
    const template = values.template.trim() === '' ? null : values.template
    result.body =
      template === null
        ? defaultBody(envelope, values.contentType)
        : renderTemplate(template, values.contentType, templateContext(envelope))
  } catch (error) {
    result.problem = (error as Error).message
  }
  return result
}

function safeMatches(pattern: string, name: string): boolean {
  return isPatternShape(pattern) && patternMatches(pattern, name)
}

function filterVerdict(text: string, data: unknown): string | null {
  if (text.trim() === '') return null
  let filter: unknown
  try {
    filter = JSON.parse(text)
  } catch {
    return 'The filter is not valid JSON.'
  }
  const problems = filterProblems(filter)
  if (problems.length > 0) {
    return `The filter is invalid: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}.`
  }
  return compileFilter(filter as Filter)({ data })
    ? 'This sample passes the filter: it would be delivered.'
    : 'This sample does not pass the filter: it would not be delivered.'
}
