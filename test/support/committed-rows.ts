/**
 * SQL that counts a table's committed rows. On SQLite an event written by an application's
 * transaction waits in `resthooks_outbox` (migration 6) until the store relays it into
 * `resthooks_events` and `resthooks_deliveries`: it counts there as well, once for the event and
 * once per delivery, which is what the transaction committed.
 */
export function countSql(table: string, dialect: 'sqlite' | 'postgres'): string {
  const plain = `SELECT count(*) AS n FROM ${table}`
  if (dialect !== 'sqlite') return plain
  if (table === 'resthooks_events') {
    return `SELECT (${plain}) + (SELECT count(*) FROM resthooks_outbox) AS n`
  }
  if (table === 'resthooks_deliveries') {
    return `SELECT (${plain}) + (SELECT coalesce(sum(json_array_length(deliveries)), 0) FROM resthooks_outbox) AS n`
  }
  return plain
}
