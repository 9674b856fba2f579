import { randomUUID } from 'node:crypto'
import { CompiledQuery, type Kysely, sql, type Transaction } from 'kysely'
import { PREPARED_STATEMENT } from './prepared-statement.ts'
import type { AttemptTable, DeliveryTable, Schema, SubscriptionTable } from './schema.ts'
import type {
  ClaimedDelivery,
  ClaimFilter,
  ClaimRequest,
  DeliveryOutcome,
  DeliveryPage,
  RecordedOutcomes,
} from './store.ts'

type Db = Kysely<Schema>

/**
 * Claims due deliveries by moving their `next_attempt_at` to the lease's end under a fresh
 * token, in one UPDATE: SQLite runs it under its write lock, then reads the claimed rows with
 * their events and subscriptions; PostgreSQL does it all in one statement that skips rows
 * another claim has locked (`FOR UPDATE SKIP LOCKED`), so workers never wait on each other.
 */
export async function claimDeliveries(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  limit: number,
  leaseMs: number,
  now: number,
  only?: ClaimFilter,
): Promise<ClaimedDelivery[]> {
  const leaseToken = randomUUID()
  if (dialect === 'postgres') {
    return claimOnPostgres(db, limit, now, now + leaseMs, leaseToken, only)
  }
  if (!only) return claimOnSqlite(db, limit, now, now + leaseMs, leaseToken)
  let due = db
    .selectFrom('resthooks_deliveries')
    .select('id')
    .where('status', '=', 'pending')
    .where('next_attempt_at', '<=', now)
    .orderBy('next_attempt_at')
    .limit(limit)
  if (only?.deliveryIds) due = due.where('id', 'in', nonEmpty(only.deliveryIds))
  if (only?.subscriptionIds) {
    due = due.where('subscription_id', 'in', nonEmpty(only.subscriptionIds))
  }
  const claimed = await db
    .updateTable('resthooks_deliveries')
    .set({ next_attempt_at: now + leaseMs, lease_token: leaseToken })
    .where('id', 'in', due)
    .returning('id')
    .execute()
  if (claimed.length === 0) return []

  const ids = claimed.map((row) => row.id)
  const rows = await db
    .selectFrom('resthooks_deliveries as d')
    .innerJoin('resthooks_events as e', 'e.id', 'd.event_id')
    .select([
      'd.id',
      'd.subscription_id',
      'd.owner',
      'd.attempts',
      'd.body',
      'd.lease_token',
      'd.created_at',
      'e.id as event_id',
      'e.name as event_name',
      'e.data as event_data',
      'e.ref as event_ref',
      'e.created_at as event_created_at',
    ])
    .where('d.id', 'in', ids)
    .execute()
  const subscriptionIds = [...new Set(rows.map((row) => row.subscription_id))]
  const subscriptions = await db
    .selectFrom('resthooks_subscriptions')
    .selectAll()
    .where('id', 'in', subscriptionIds)
    .execute()
  const byId = new Map(subscriptions.map((s) => [s.id, s]))
  return rows.map((row) =>
    claimedDelivery(row, eventOf(row), byId.get(row.subscription_id) ?? null),
  )
}

/**
 * SQLite's claim of any due delivery (the worker's hot path), in three statements of fixed text
 * (prepared once): the claim returns the deliveries, then their events and subscriptions are
 * read by id lists passed as one JSON parameter.
 */
async function claimOnSqlite(
  db: Db,
  limit: number,
  now: number,
  leaseEnd: number,
  leaseToken: string,
): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<
    Omit<ClaimedDelivery['delivery'], 'lease_token'> & {
      event_id: string
      lease_token: string
    }
  >`
    UPDATE resthooks_deliveries SET next_attempt_at = ${leaseEnd}, lease_token = ${leaseToken}
    WHERE id IN (
      SELECT id FROM resthooks_deliveries
      WHERE status = 'pending' AND next_attempt_at <= ${now}
      ORDER BY next_attempt_at LIMIT ${limit}
    )
    RETURNING id, event_id, subscription_id, owner, attempts, body, lease_token, created_at`.execute(
    db,
  )
  if (rows.length === 0) return []
  const eventIds = JSON.stringify([...new Set(rows.map((row) => row.event_id))])
  const subscriptionIds = JSON.stringify([...new Set(rows.map((row) => row.subscription_id))])
  const events = await sql<ClaimedDelivery['event']>`
    SELECT id, name, data, ref, created_at FROM resthooks_events
    WHERE id IN (SELECT value FROM json_each(${eventIds}))`.execute(db)
  const subscriptions = await sql<SubscriptionTable>`
    SELECT * FROM resthooks_subscriptions
    WHERE id IN (SELECT value FROM json_each(${subscriptionIds}))`.execute(db)
  const eventById = new Map(events.rows.map((event) => [event.id, event]))
  const subscriptionById = new Map(subscriptions.rows.map((row) => [row.id, row]))
  const claimed: ClaimedDelivery[] = []
  for (const row of rows) {
    const event = eventById.get(row.event_id)
    // An event cannot go while its deliveries stay (prune removes deliveries first).
    if (!event) continue
    claimed.push(
      claimedDelivery(
        row,
        { ...event, created_at: Number(event.created_at) },
        subscriptionById.get(row.subscription_id) ?? null,
      ),
    )
  }
  return claimed
}

/**
 * On PostgreSQL, the worker's own bookkeeping (claims, outcomes) commits without waiting for
 * its WAL to reach the disk (`synchronous_commit = off` for that transaction only). A crash of
 * the database server can then forget its last fraction of a second of bookkeeping, never the
 * events and deliveries the application committed: the deliveries concerned are sent again
 * with the same `webhook-id` (at-least-once, as after a worker crash). Evaluated inside the
 * statement (a CTE the statement reads), so an autocommitted statement needs no BEGIN.
 */
const RELAXED_COMMIT = sql`SELECT set_config('synchronous_commit', 'off', true) AS setting`

/** Prepared once per connection by the PostgreSQL store: the worker runs these all the time. */
const PREPARED = sql.raw(PREPARED_STATEMENT)

interface ClaimedRow {
  id: string
  subscription_id: string
  owner: string
  attempts: number
  body: string | null
  lease_token: string
  created_at: number
  event_id: string
  event_name: string
  event_data: string
  event_ref: string | null
  event_created_at: number
  subscription: SubscriptionTable | null
}

/**
 * PostgreSQL's claim, in one round trip: lock due rows that no other claim holds
 * (`FOR UPDATE SKIP LOCKED`), move them to the lease's end under the token, and return them
 * with their event and subscription. With `recording` (successes, see recordingCtes) the same
 * statement records them first, one commit for both; the claim then leaves the deliveries being
 * recorded alone (a delivery whose lease ended while its request ran is due again, and one
 * statement must not update a row twice).
 */
async function claimOnPostgres(
  db: Db,
  limit: number,
  now: number,
  leaseEnd: number,
  leaseToken: string,
  only: ClaimFilter | undefined,
  recording?: readonly SucceededOutcome[],
): Promise<ClaimedDelivery[]> {
  const narrowed = [
    ...(only?.deliveryIds ? [sql`AND id = ANY(${[...only.deliveryIds]})`] : []),
    ...(only?.subscriptionIds
      ? [sql`AND subscription_id = ANY(${[...only.subscriptionIds]})`]
      : []),
    ...(recording ? [sql`AND id <> ALL(${recording.map((outcome) => outcome.deliveryId)})`] : []),
  ]
  // Fixed text for each combination of filters (lists travel as one array parameter each).
  const { rows } = await sql<ClaimedRow>`${PREPARED}
    WITH relaxed AS (${RELAXED_COMMIT}), ${recording ? sql`${recordingCtes(recording, now)}, ` : sql``}due AS (
      SELECT id FROM resthooks_deliveries
      WHERE status = 'pending' AND next_attempt_at <= ${now} ${sql.join(narrowed, sql` `)}
      ORDER BY next_attempt_at
      LIMIT ${limit}
      FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE resthooks_deliveries AS d
      SET next_attempt_at = ${leaseEnd}, lease_token = ${leaseToken}
      FROM due WHERE d.id = due.id
      RETURNING d.id, d.subscription_id, d.owner, d.attempts, d.body, d.lease_token,
        d.created_at, d.event_id
    )
    SELECT c.*, e.name AS event_name, e.data AS event_data, e.ref AS event_ref,
      e.created_at AS event_created_at, s.subscription
    FROM claimed AS c
    CROSS JOIN relaxed
    -- Each claimed row's event and subscription by their primary keys (LIMIT 1 keeps the
    -- planner from turning these into hash joins that scan the whole events table).
    CROSS JOIN LATERAL (
      SELECT name, data, ref, created_at FROM resthooks_events WHERE id = c.event_id LIMIT 1
    ) AS e
    LEFT JOIN LATERAL (
      SELECT row_to_json(r) AS subscription FROM resthooks_subscriptions AS r
      WHERE r.id = c.subscription_id LIMIT 1
    ) AS s ON true`.execute(db)
  return rows.map((row) => claimedDelivery(row, eventOf(row), row.subscription))
}

/**
 * Records the outcomes in one transaction; with `claim`, claims in it too, after the recording
 * (and after `beforeClaim`, SQLite's outbox relay). On PostgreSQL a batch of successes is one
 * statement, with the claim in it.
 */
export async function recordOutcomes(
  db: Db,
  dialect: 'sqlite' | 'postgres',
  outcomes: readonly DeliveryOutcome[],
  now: number,
  claim?: ClaimRequest,
  beforeClaim?: (trx: Db) => Promise<void>,
): Promise<RecordedOutcomes> {
  const recorded: RecordedOutcomes = { disabled: [], removed: [] }
  if (outcomes.length === 0 && !claim) return recorded
  if (dialect === 'postgres') outcomes = outcomes.map(withPostgresText)
  const succeeded = (outcome: DeliveryOutcome): outcome is SucceededOutcome =>
    outcome.result === 'succeeded'
  if (dialect === 'postgres' && outcomes.length > 0 && !claim?.only && outcomes.every(succeeded)) {
    // The common case in one statement, which commits by itself: one round trip for the batch
    // (or the lone success), where a transaction would take six; with the claim too.
    if (!claim) await recordSucceededOnPostgres(db, outcomes, now)
    else {
      const leaseEnd = now + claim.leaseMs
      const token = randomUUID()
      recorded.claimed = await claimOnPostgres(
        db,
        claim.limit,
        now,
        leaseEnd,
        token,
        undefined,
        outcomes,
      )
    }
    return recorded
  }
  await db.transaction().execute(async (trx) => {
    if (dialect === 'postgres') await sql`SET LOCAL synchronous_commit = off`.execute(trx)
    // Successes, the common case, are recorded a run at a time in a few statements; anything
    // else one by one. Runs keep the batch's order, so the result is the same as one by one.
    let run: SucceededOutcome[] = []
    for (const outcome of outcomes) {
      if (succeeded(outcome)) {
        run.push(outcome)
        continue
      }
      await recordSucceeded(trx, dialect, run, now)
      run = []
      await recordOne(trx, outcome, now, recorded)
    }
    await recordSucceeded(trx, dialect, run, now)
    if (claim) {
      await beforeClaim?.(trx)
      recorded.claimed = await claimDeliveries(
        trx,
        dialect,
        claim.limit,
        claim.leaseMs,
        now,
        claim.only,
      )
    }
  })
  return recorded
}

/**
 * PostgreSQL's text cannot hold NUL, which a receiver may well answer with: on PostgreSQL the
 * attempt's excerpts carry U+FFFD in its place, as they do for bytes that are not UTF-8.
 */
function withPostgresText(outcome: DeliveryOutcome): DeliveryOutcome {
  const { attempt } = outcome
  if (!attempt) return outcome
  let changed = false
  const clean = (text: string | null): string | null => {
    if (text === null || !text.includes('\u0000')) return text
    changed = true
    return text.replaceAll('\u0000', '\uFFFD')
  }
  const cleaned: AttemptTable = {
    ...attempt,
    request_headers: clean(attempt.request_headers) ?? '',
    request_url: clean(attempt.request_url),
    request_body: clean(attempt.request_body),
    response_headers: clean(attempt.response_headers),
    response_body: clean(attempt.response_body),
    error: clean(attempt.error),
  }
  return changed ? { ...outcome, attempt: cleaned } : outcome
}

/** Records successful outcomes on PostgreSQL in one statement, which commits by itself. */
async function recordSucceededOnPostgres(
  db: Db,
  outcomes: readonly SucceededOutcome[],
  now: number,
): Promise<void> {
  await sql`${PREPARED}
    WITH relaxed AS (${RELAXED_COMMIT}), ${recordingCtes(outcomes, now)}
    SELECT setting FROM relaxed`.execute(db)
}

/**
 * The CTEs that record successful outcomes on PostgreSQL: the attempts inserted, each delivery
 * marked succeeded if it still holds the claim's token, and the subscriptions' failing streaks
 * ended. Data-modifying CTEs run exactly once, whether or not the statement reads them.
 */
function recordingCtes(outcomes: readonly SucceededOutcome[], now: number) {
  const attempts = outcomes.flatMap((outcome) => (outcome.attempt ? [outcome.attempt] : []))
  const claims = outcomes.map((outcome) => ({
    id: outcome.deliveryId,
    token: outcome.leaseToken,
    status: outcome.attempt?.response_status ?? null,
  }))
  const subscriptionIds = [...new Set(outcomes.map((outcome) => outcome.subscriptionId))]
  return sql`attempts AS (
      INSERT INTO resthooks_attempts
      SELECT * FROM json_populate_recordset(NULL::resthooks_attempts, ${JSON.stringify(attempts)}::json)
    ), deliveries AS (
      UPDATE resthooks_deliveries AS d
      SET lease_token = NULL, updated_at = ${now}, last_status = c.status,
        status = 'succeeded', last_error = NULL, attempts = d.attempts + 1
      FROM json_to_recordset(${JSON.stringify(claims)}::json) AS c(id text, token text, status integer)
      -- The id list lets the planner find the rows by primary key: it cannot size the JSON's
      -- rows, and would otherwise scan the whole deliveries table to join them.
      WHERE d.id = ANY(${claims.map((claim) => claim.id)}) AND d.id = c.id AND d.lease_token = c.token
    ), subscriptions AS (
      UPDATE resthooks_subscriptions SET failing_since = NULL
      WHERE id = ANY(${subscriptionIds}) AND failing_since IS NOT NULL
    )`
}

type SucceededOutcome = Extract<DeliveryOutcome, { result: 'succeeded' }>

// Rows per statement: well under the bound-parameter limits.
const ATTEMPT_ROWS = 50
const DELIVERY_ROWS = 250

/** Records successful outcomes as `recordOne` would, in a few statements for the whole run. */
async function recordSucceeded(
  trx: Transaction<Schema>,
  dialect: 'sqlite' | 'postgres',
  outcomes: readonly SucceededOutcome[],
  now: number,
): Promise<void> {
  if (outcomes.length === 0) return
  if (outcomes.length === 1 && outcomes[0]) {
    await recordOne(trx, outcomes[0], now, { disabled: [], removed: [] })
    return
  }
  if (dialect === 'sqlite') await recordSucceededOnSqlite(trx, outcomes, now)
  else await recordSucceededInRuns(trx, outcomes, now)
}

const INSERT_ATTEMPT = `INSERT INTO resthooks_attempts (id, delivery_id, number, started_at,
  duration_ms, request_headers, request_method, request_url, request_body, response_status,
  response_headers, response_body, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/**
 * Records successful outcomes on SQLite in statements of fixed text (prepared once): the
 * attempts one by one, the deliveries and subscriptions by lists passed as one JSON parameter.
 */
async function recordSucceededOnSqlite(
  trx: Transaction<Schema>,
  outcomes: readonly SucceededOutcome[],
  now: number,
): Promise<void> {
  const attempts = outcomes.flatMap((outcome) => (outcome.attempt ? [outcome.attempt] : []))
  // One prepared INSERT per attempt: as fast in SQLite as a multi-row one (the row's writing is
  // the cost) and faster than unpacking JSON, with no query to build.
  for (const attempt of attempts) {
    await trx.executeQuery(
      CompiledQuery.raw(INSERT_ATTEMPT, [
        attempt.id,
        attempt.delivery_id,
        attempt.number,
        attempt.started_at,
        attempt.duration_ms,
        attempt.request_headers,
        attempt.request_method,
        attempt.request_url,
        attempt.request_body,
        attempt.response_status,
        attempt.response_headers,
        attempt.response_body,
        attempt.error,
      ]),
    )
  }
  const claims = outcomes.map((outcome) => ({
    id: outcome.deliveryId,
    token: outcome.leaseToken,
    status: outcome.attempt?.response_status ?? null,
  }))
  // Each delivery only if it still holds the claim's token.
  await sql`
    UPDATE resthooks_deliveries
    SET lease_token = NULL, updated_at = ${now}, last_status = c.value ->> 'status',
      status = 'succeeded', last_error = NULL, attempts = attempts + 1
    FROM json_each(${JSON.stringify(claims)}) AS c
    WHERE resthooks_deliveries.id = c.value ->> 'id'
      AND resthooks_deliveries.lease_token = c.value ->> 'token'`.execute(trx)
  const subscriptionIds = [...new Set(outcomes.map((o) => o.subscriptionId))]
  await sql`
    UPDATE resthooks_subscriptions SET failing_since = NULL
    WHERE failing_since IS NOT NULL
      AND id IN (SELECT value FROM json_each(${JSON.stringify(subscriptionIds)}))`.execute(trx)
}

/**
 * Records successful outcomes amid others on PostgreSQL, in a few statements: attempts in
 * multi-row INSERTs, deliveries by one UPDATE per response status.
 */
async function recordSucceededInRuns(
  trx: Transaction<Schema>,
  outcomes: readonly SucceededOutcome[],
  now: number,
): Promise<void> {
  const attempts = outcomes.flatMap((outcome) => (outcome.attempt ? [outcome.attempt] : []))
  for (const rows of chunks(attempts, ATTEMPT_ROWS)) {
    await trx.insertInto('resthooks_attempts').values(rows).execute()
  }
  // One UPDATE per response status (nearly always one): each row still only if it holds the
  // claim's token, `lease_token = CASE id WHEN <id> THEN <its token> END`.
  const byStatus = new Map<number | null, SucceededOutcome[]>()
  for (const outcome of outcomes) {
    const status = outcome.attempt?.response_status ?? null
    const group = byStatus.get(status)
    if (group) group.push(outcome)
    else byStatus.set(status, [outcome])
  }
  for (const [status, group] of byStatus) {
    for (const rows of chunks(group, DELIVERY_ROWS)) {
      const token = sql<string>`case ${sql.ref('id')} ${sql.join(
        rows.map((o) => sql`when ${o.deliveryId} then ${o.leaseToken}`),
        sql` `,
      )} end`
      await trx
        .updateTable('resthooks_deliveries')
        .set((eb) => ({
          lease_token: null,
          updated_at: now,
          last_status: status,
          status: 'succeeded',
          last_error: null,
          attempts: eb('attempts', '+', 1),
        }))
        .where(
          'id',
          'in',
          rows.map((o) => o.deliveryId),
        )
        .where('lease_token', '=', token)
        .execute()
    }
  }
  const subscriptionIds = [...new Set(outcomes.map((o) => o.subscriptionId))]
  for (const ids of chunks(subscriptionIds, DELIVERY_ROWS)) {
    await trx
      .updateTable('resthooks_subscriptions')
      .set({ failing_since: null })
      .where('id', 'in', ids)
      .where('failing_since', 'is not', null)
      .execute()
  }
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

async function recordOne(
  trx: Transaction<Schema>,
  outcome: DeliveryOutcome,
  now: number,
  recorded: RecordedOutcomes,
): Promise<void> {
  const { attempt } = outcome
  if (attempt && outcome.result !== 'gone') {
    await trx.insertInto('resthooks_attempts').values(attempt).execute()
  }
  const claim = trx
    .updateTable('resthooks_deliveries')
    .where('id', '=', outcome.deliveryId)
    .where('lease_token', '=', outcome.leaseToken)
  const base = {
    lease_token: null,
    updated_at: now,
    last_status: attempt?.response_status ?? null,
  }
  const failingSince = trx
    .updateTable('resthooks_subscriptions')
    .set({ failing_since: attempt?.started_at ?? now })
    .where('id', '=', outcome.subscriptionId)
    .where('failing_since', 'is', null)

  switch (outcome.result) {
    case 'succeeded':
      await claim
        .set((eb) => ({
          ...base,
          status: 'succeeded',
          last_error: null,
          attempts: eb('attempts', '+', 1),
        }))
        .execute()
      await trx
        .updateTable('resthooks_subscriptions')
        .set({ failing_since: null })
        .where('id', '=', outcome.subscriptionId)
        .where('failing_since', 'is not', null)
        .execute()
      return
    case 'retry':
      await claim
        .set((eb) => ({
          ...base,
          status: 'pending',
          last_error: outcome.error,
          next_attempt_at: outcome.nextAttemptAt,
          attempts: eb('attempts', '+', 1),
        }))
        .execute()
      await failingSince.execute()
      return
    case 'exhausted': {
      await claim
        .set((eb) => ({
          ...base,
          status: 'failed',
          last_error: outcome.error,
          attempts: eb('attempts', '+', 1),
        }))
        .execute()
      await failingSince.execute()
      const reason = `deliveries failed without a success since before ${new Date(outcome.disableBefore).toISOString()}; last error: ${outcome.error}`
      const disabled = await trx
        .updateTable('resthooks_subscriptions')
        .set({ status: 'disabled', disabled_reason: reason, updated_at: now })
        .where('id', '=', outcome.subscriptionId)
        .where('status', '=', 'active')
        .where('failing_since', '<=', outcome.disableBefore)
        .returning(['id', 'owner'])
        .execute()
      for (const row of disabled) recorded.disabled.push({ ...row, reason })
      return
    }
    case 'gone': {
      const removed = await trx
        .deleteFrom('resthooks_subscriptions')
        .where('id', '=', outcome.subscriptionId)
        .returning(['id', 'owner'])
        .execute()
      await trx
        .deleteFrom('resthooks_attempts')
        .where('delivery_id', 'in', (eb) =>
          eb
            .selectFrom('resthooks_deliveries')
            .select('id')
            .where('subscription_id', '=', outcome.subscriptionId),
        )
        .execute()
      await trx
        .deleteFrom('resthooks_deliveries')
        .where('subscription_id', '=', outcome.subscriptionId)
        .execute()
      recorded.removed.push(...removed)
      return
    }
    case 'dropped':
      await claim.set({ ...base, status: 'failed', last_error: outcome.error }).execute()
      return
  }
}

export async function findDelivery(
  db: Db,
  id: string,
  owner?: string,
): Promise<DeliveryTable | undefined> {
  let query = db.selectFrom('resthooks_deliveries').selectAll().where('id', '=', id)
  if (owner !== undefined) query = query.where('owner', '=', owner)
  return query.executeTakeFirst()
}

export async function listDeliveries(db: Db, page: DeliveryPage): Promise<DeliveryTable[]> {
  let query = db
    .selectFrom('resthooks_deliveries')
    .selectAll()
    .where('subscription_id', '=', page.subscriptionId)
    .orderBy('id', 'desc')
    .limit(page.limit)
  if (page.before !== undefined) query = query.where('id', '<', page.before)
  if (page.status !== undefined) query = query.where('status', '=', page.status)
  return query.execute()
}

export async function listAttempts(db: Db, deliveryId: string): Promise<AttemptTable[]> {
  return db
    .selectFrom('resthooks_attempts')
    .selectAll()
    .where('delivery_id', '=', deliveryId)
    .orderBy('number')
    .orderBy('id')
    .execute()
}

export async function retryDelivery(
  db: Db,
  id: string,
  owner: string | undefined,
  now: number,
): Promise<boolean> {
  let query = db
    .updateTable('resthooks_deliveries')
    .set({ status: 'pending', next_attempt_at: now, lease_token: null, updated_at: now })
    .where('id', '=', id)
  if (owner !== undefined) query = query.where('owner', '=', owner)
  // A delivery a worker holds right now (claimed, lease running) is left to that worker: clearing
  // its token would make the worker's outcome stale and the delivery go out twice.
  const result = await query
    .where((eb) =>
      eb.not(
        eb.and([
          eb('status', '=', 'pending'),
          eb('lease_token', 'is not', null),
          eb('next_attempt_at', '>', now),
        ]),
      ),
    )
    .executeTakeFirst()
  if (result.numUpdatedRows > 0n) return true
  // Not updated: unknown (false), or in flight (true: it is being attempted now).
  return (await findDelivery(db, id, owner)) !== undefined
}

export async function replayFailed(
  db: Db,
  subscriptionId: string,
  since: number,
  now: number,
): Promise<number> {
  const result = await db
    .updateTable('resthooks_deliveries')
    .set({ status: 'pending', next_attempt_at: now, lease_token: null, updated_at: now })
    .where('subscription_id', '=', subscriptionId)
    .where('status', '=', 'failed')
    .where('created_at', '>=', since)
    .executeTakeFirst()
  return Number(result.numUpdatedRows)
}

/** `IN ()` is not valid SQL: an empty list matches an id that cannot exist. */
function nonEmpty(ids: readonly string[]): readonly string[] {
  return ids.length > 0 ? ids : ['']
}

/** The columns of a claimed delivery, as the claims read them (numbers may come as text). */
interface ClaimedColumns {
  id: string
  subscription_id: string
  owner: string
  attempts: number
  body: string | null
  lease_token: string | null
  created_at: number
}

function claimedDelivery(
  row: ClaimedColumns,
  event: ClaimedDelivery['event'],
  subscription: SubscriptionTable | null,
): ClaimedDelivery {
  return {
    delivery: {
      id: row.id,
      subscription_id: row.subscription_id,
      owner: row.owner,
      attempts: Number(row.attempts),
      body: row.body,
      lease_token: row.lease_token,
      created_at: Number(row.created_at),
    },
    event,
    subscription,
  }
}

/** The event of a claim that read it joined, its columns prefixed `event_`. */
function eventOf(row: {
  event_id: string
  event_name: string
  event_data: string
  event_ref: string | null
  event_created_at: number
}): ClaimedDelivery['event'] {
  return {
    id: row.event_id,
    name: row.event_name,
    data: row.event_data,
    ref: row.event_ref,
    created_at: Number(row.event_created_at),
  }
}
