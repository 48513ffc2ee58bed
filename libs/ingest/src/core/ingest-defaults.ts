/**
 * status-ingest's limits and intervals where nothing else is configured (the
 * apps' typed config modules use them as the defaults of their settings).
 */
export const INGEST_DEFAULTS = Object.freeze({
  /**
   * How often the last-seen times the heartbeat fast path keeps off PostgreSQL are
   * written to the rows (core/last-seen-buffer.ts). A row's last_seen_at trails the
   * agent's latest message by at most this plus one flush: at 100,000 agents with
   * 30 s heartbeats, one row write per agent a minute (~1,700 a second, in batched
   * statements) instead of one per heartbeat (3,300 a second).
   */
  lastSeenFlushMs: 60_000,
  /** Rows per last-seen UPDATE statement (four array parameters, one round trip). */
  lastSeenRowsPerStatement: 1_000,
});
