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
  /**
   * Longest stretch of decoding a batch before it lets other callbacks run
   * (runtime/inbound-processor.ts): the embedded server's gateway and API share
   * the loop (issue 15: no synchronous work over 50 ms).
   */
  batchSliceMs: 20,
  /**
   * Records applied in one transaction of the full path in the embedded server
   * (more in a batch: one transaction after another). 100 new agents' first
   * reports are ~30-60 ms of synchronous work on one core (500 were hundreds of
   * ms, the embedded server's loop stalled), and each transaction still writes
   * its rows in multi-row statements.
   */
  recordsPerTransaction: 100,
  /**
   * The same for status-ingest's IngestWorker, a process of its own whose loop
   * serves nothing else: larger transactions spread each one's round trips
   * (load, upsert, events to Kafka, COMMIT, cursors, pushes) over more records,
   * and a bound still keeps one transaction's row locks and statements small.
   */
  workerRecordsPerTransaction: 1_000,
  /** Rows per last-seen UPDATE statement and transaction (four array parameters, one round trip; its row locks last one statement). */
  lastSeenRowsPerStatement: 500,
  /**
   * Bytes of an agent's CSR carried on its event (issue 18): one byte more than
   * config-service accepts (libs/certificate-authority MAX_CSR_BYTES), so a
   * larger one is still refused there as too large while a hostile agent's
   * megabytes never reach Kafka (an event over the broker's limit would stall
   * everyone's batch).
   */
  maxCertificateRequestBytes: 16 * 1024 + 1,
  /**
   * Own-metric series kept per agent (issue 19: kind x component x signal,
   * core/own-metric-series.ts). A Collector with a few pipelines has 20-60;
   * points of series beyond this are dropped and counted.
   */
  maxOwnMetricSeriesPerAgent: 200,
  /** How long own-metric 10 s points are kept (issue 19: 24 h), dropped a daily partition at a time. */
  ownMetricPointsRetentionHours: 24,
  /** How long own-metric 5-minute rollups are kept (issue 19: 30 days). */
  ownMetricRollupsRetentionDays: 30,
  /** How often own-metric partitions are created ahead and dropped past retention. */
  ownMetricPartitionSweepMs: 3_600_000,
  /**
   * Own-metric points whose time is further than this from the server's clock
   * are dropped and counted: no partition may exist for them (an insert there
   * would fail the whole batch), and a Collector's points are stamped now.
   */
  ownMetricClockSkewMs: 3_600_000,
});
