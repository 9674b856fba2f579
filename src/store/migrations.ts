/**
 * Versioned, forward-only schema migrations. Each is plain SQL that both SQLite and
 * PostgreSQL accept (integers, text, partial indexes), and may add statements for PostgreSQL
 * alone; a store applies the ones above its recorded version inside one transaction that also
 * takes the store's migration lock. Both stores record every version, so their numbers agree.
 */
export interface Migration {
  version: number
  name: string
  statements: readonly string[]
  /** Run after `statements` on PostgreSQL only (what SQLite has no use for, such as functions). */
  postgres?: readonly string[]
  /** Run after `statements` on SQLite only. */
  sqlite?: readonly string[]
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: 'subscriptions, events, deliveries and attempts',
    statements: [
      `CREATE TABLE resthooks_subscriptions (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        event TEXT NOT NULL,
        target TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'active',
        disabled_reason TEXT,
        method TEXT NOT NULL DEFAULT 'POST',
        content_type TEXT NOT NULL DEFAULT 'application/json',
        headers TEXT NOT NULL DEFAULT '{}',
        filter TEXT,
        template TEXT,
        payload TEXT NOT NULL DEFAULT 'full',
        hmac_digest TEXT,
        metadata TEXT NOT NULL DEFAULT '{}',
        secret TEXT NOT NULL,
        previous_secret TEXT,
        previous_secret_expires_at BIGINT,
        failing_since BIGINT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      // Dispatch looks subscriptions up by the patterns an event matches, then by owner.
      'CREATE INDEX resthooks_subscriptions_event ON resthooks_subscriptions (event, owner)',
      'CREATE INDEX resthooks_subscriptions_owner ON resthooks_subscriptions (owner, id)',
      `CREATE TABLE resthooks_events (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        owner TEXT,
        data TEXT NOT NULL,
        ref TEXT,
        created_at BIGINT NOT NULL
      )`,
      'CREATE INDEX resthooks_events_owner ON resthooks_events (owner, id)',
      `CREATE TABLE resthooks_deliveries (
        id TEXT PRIMARY KEY,
        event_id TEXT NOT NULL,
        subscription_id TEXT NOT NULL,
        owner TEXT NOT NULL,
        status TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at BIGINT NOT NULL,
        lease_token TEXT,
        body TEXT,
        last_status INTEGER,
        last_error TEXT,
        created_at BIGINT NOT NULL,
        updated_at BIGINT NOT NULL
      )`,
      // The worker's claim: pending deliveries in due order; finished ones stay out of it.
      `CREATE INDEX resthooks_deliveries_due ON resthooks_deliveries (next_attempt_at)
        WHERE status = 'pending'`,
      'CREATE INDEX resthooks_deliveries_subscription ON resthooks_deliveries (subscription_id, id)',
      'CREATE INDEX resthooks_deliveries_event ON resthooks_deliveries (event_id)',
      `CREATE TABLE resthooks_attempts (
        id TEXT PRIMARY KEY,
        delivery_id TEXT NOT NULL,
        number INTEGER NOT NULL,
        started_at BIGINT NOT NULL,
        duration_ms INTEGER NOT NULL,
        request_headers TEXT NOT NULL,
        response_status INTEGER,
        response_headers TEXT,
        response_body TEXT,
        error TEXT
      )`,
      'CREATE INDEX resthooks_attempts_delivery ON resthooks_attempts (delivery_id, number)',
    ],
  },
  {
    version: 2,
    name: 'api keys, run-time event types, retention indexes',
    statements: [
      `CREATE TABLE resthooks_api_keys (
        id TEXT PRIMARY KEY,
        owner TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        created_at BIGINT NOT NULL
      )`,
      // prune deletes finished deliveries by age
      `CREATE INDEX resthooks_deliveries_finished ON resthooks_deliveries (created_at)
        WHERE status <> 'pending'`,
      'CREATE INDEX resthooks_events_created ON resthooks_events (created_at)',
      // Event types registered at run time (POST /event-types), shared by every process.
      `CREATE TABLE resthooks_event_types (
        name TEXT PRIMARY KEY,
        mapping TEXT,
        created_at BIGINT NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'the request of each attempt: method, URL and body excerpt',
    // Nullable columns without a default: instant on both databases, whatever the table's size.
    // Attempts recorded before this migration keep null there.
    statements: [
      'ALTER TABLE resthooks_attempts ADD COLUMN request_method TEXT',
      'ALTER TABLE resthooks_attempts ADD COLUMN request_url TEXT',
      'ALTER TABLE resthooks_attempts ADD COLUMN request_body TEXT',
    ],
  },
  {
    version: 4,
    name: 'the outbox write as a function on PostgreSQL',
    statements: [],
    // The event, its deliveries and the workers' NOTIFY in one call (the deliveries as one JSON
    // parameter), as the outbox wrote them in one statement before. The difference is planning:
    // an application's transaction sends resthooks' statements unnamed (its driver's choice), so
    // PostgreSQL planned that statement at every event, while PL/pgSQL plans the function's
    // statements once per connection. The columns are named: a later migration that adds a
    // column to resthooks_deliveries replaces the function (CREATE OR REPLACE) if it must be
    // written at dispatch.
    postgres: [
      `CREATE FUNCTION resthooks_write_event(
        p_id TEXT, p_name TEXT, p_owner TEXT, p_data TEXT, p_ref TEXT, p_created_at BIGINT,
        p_deliveries JSON, p_work_channel TEXT
      ) RETURNS INTEGER LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO resthooks_events (id, name, owner, data, ref, created_at)
        VALUES (p_id, p_name, p_owner, p_data, p_ref, p_created_at);
        INSERT INTO resthooks_deliveries (id, event_id, subscription_id, owner, status, attempts,
          next_attempt_at, lease_token, body, last_status, last_error, created_at, updated_at)
        SELECT id, event_id, subscription_id, owner, status, attempts, next_attempt_at,
          lease_token, body, last_status, last_error, created_at, updated_at
        FROM json_populate_recordset(NULL::resthooks_deliveries, p_deliveries);
        IF p_work_channel IS NOT NULL THEN
          PERFORM pg_notify(p_work_channel, '');
        END IF;
        RETURN 1;
      END
      $$`,
    ],
  },
  {
    version: 5,
    name: 'dispatch in one call on PostgreSQL: the lookup of matching subscriptions and the write',
    statements: [],
    // Without a cached answer an event took two round trips in the application's transaction:
    // the lookup of matching subscriptions, then the write. This function does both, given the
    // event, its name's patterns (JSON) and ids for its deliveries (JSON, made by the caller so
    // that ids stay ULIDs of the application's clock). It writes nothing and says why when it
    // cannot finish: `needIds` when more subscriptions match than ids were given (the caller
    // calls again with as many), `candidates` when a match has a filter, which the caller
    // evaluates before writing through resthooks_write_event. Otherwise it writes the event, one
    // delivery per match and the workers' NOTIFY, and answers `written`. It writes the rows itself
    // rather than calling resthooks_write_event, which would build and parse the deliveries' JSON
    // at every event: a column added to either table must be written by both functions.
    postgres: [
      `CREATE FUNCTION resthooks_dispatch_event(
        p_id TEXT, p_name TEXT, p_owner TEXT, p_data TEXT, p_ref TEXT, p_created_at BIGINT,
        p_patterns JSON, p_delivery_ids JSON, p_work_channel TEXT
      ) RETURNS TEXT LANGUAGE plpgsql AS $$
      DECLARE
        v_ids TEXT[];
        v_owners TEXT[];
        v_filtered BOOLEAN;
        v_matches INTEGER;
      BEGIN
        -- Two statements, so that each keeps a plan that seeks the index on (event, owner):
        -- one plan for both would have to scan every owner's subscriptions to the event.
        IF p_owner IS NULL THEN
          SELECT array_agg(id ORDER BY id), array_agg(owner ORDER BY id),
            bool_or(filter IS NOT NULL)
          INTO v_ids, v_owners, v_filtered
          FROM resthooks_subscriptions
          WHERE event = ANY(ARRAY(SELECT json_array_elements_text(p_patterns)))
            AND status = 'active';
        ELSE
          SELECT array_agg(id ORDER BY id), array_agg(owner ORDER BY id),
            bool_or(filter IS NOT NULL)
          INTO v_ids, v_owners, v_filtered
          FROM resthooks_subscriptions
          WHERE event = ANY(ARRAY(SELECT json_array_elements_text(p_patterns)))
            AND owner = p_owner AND status = 'active';
        END IF;
        v_matches := coalesce(array_length(v_ids, 1), 0);
        IF v_filtered THEN
          RETURN json_build_object('candidates', (
            SELECT json_agg(s ORDER BY s.id) FROM resthooks_subscriptions AS s WHERE s.id = ANY(v_ids)
          ))::text;
        END IF;
        IF v_matches > json_array_length(p_delivery_ids) THEN
          RETURN json_build_object('needIds', v_matches)::text;
        END IF;
        INSERT INTO resthooks_events (id, name, owner, data, ref, created_at)
        VALUES (p_id, p_name, p_owner, p_data, p_ref, p_created_at);
        IF v_matches > 0 THEN
          INSERT INTO resthooks_deliveries (id, event_id, subscription_id, owner, status, attempts,
            next_attempt_at, lease_token, body, last_status, last_error, created_at, updated_at)
          SELECT given.id, p_id, s.id, s.owner, 'pending', 0, p_created_at, NULL, NULL, NULL, NULL,
            p_created_at, p_created_at
          FROM unnest(v_ids, v_owners) WITH ORDINALITY AS s(id, owner, n)
          JOIN json_array_elements_text(p_delivery_ids) WITH ORDINALITY AS given(id, n)
            ON given.n = s.n;
          IF p_work_channel IS NOT NULL THEN
            PERFORM pg_notify(p_work_channel, '');
          END IF;
        END IF;
        RETURN json_build_object('written', v_matches)::text;
      END
      $$`,
    ],
  },
  {
    version: 6,
    name: 'the outbox table on SQLite: one row per event in the application transaction',
    statements: [],
    // An application's transaction wrote the event and each delivery into their tables, nine
    // B-trees for an event with one delivery, and each B-tree page it touched is a page that
    // SQLite writes to the WAL at the commit: the write cost of an event grew with the pages,
    // not the rows. The outbox takes one row per event instead (its deliveries as JSON, a row
    // appended to one B-tree), and the store moves the rows into the event and delivery tables
    // in batches, in transactions of its own (src/store/sqlite/outbox-relay.ts): before the
    // worker claims, and before a read of events or deliveries. PostgreSQL keeps writing the
    // tables (its cost is the round trip, not the pages): the table exists on SQLite only.
    sqlite: [
      `CREATE TABLE resthooks_outbox (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL,
        name TEXT NOT NULL,
        owner TEXT,
        data TEXT NOT NULL,
        ref TEXT,
        created_at BIGINT NOT NULL,
        deliveries TEXT
      )`,
    ],
  },
]
