/** Limits of the store lib: the pg pool's timeouts and waits, what a statement may carry into PGlite, and the embedded PostgreSQL server's settings. */

/**
 * Deepest nesting of `[` / `{` (outside JSON strings) a text parameter may have
 * on PGlite. PGlite's WebAssembly stack is smaller than its max_stack_depth
 * (2MB) assumes, so a deep jsonb value overflows it before PostgreSQL's own
 * check fires: measured on 0.5.16, 6,000 levels already answer with no rows
 * and no error, and the next such statement never returns (PostgreSQL on a
 * server parses 10,000 and refuses 20,000 cleanly). Agent data is at most ~50
 * deep (protobuf's recursion limit), so 256 refuses nothing real.
 */
export const PGLITE_MAX_JSON_DEPTH = 256;

/**
 * The pg pool of every process (pg-pool.ts) and how long a caller waits for
 * one of its connections (sql-database.ts). pg's own defaults wait forever for
 * a connection and let a statement run forever.
 */
export const PG_POOL_DEFAULTS = {
  max: 10,
  /** One try at a connection (waiting for a free one or opening one), as pg's connectionTimeoutMillis. */
  connectTimeoutMs: 5_000,
  idleTimeoutMs: 10_000,
  statementTimeoutMs: 30_000,
  idleInTransactionTimeoutMs: 60_000,
  /**
   * How long a caller keeps trying for a connection (tries of connectTimeoutMs,
   * with backoff between failures) before the store is reported unavailable
   * (StoreUnavailableError: the API answers 503/UNAVAILABLE, an inbound batch is
   * retried). Covers a short database restart; the last try may end up to one
   * connectTimeoutMs later. Kept near the Kafka consumers' session timeout
   * (10 s): a status-ingest batch waiting much longer loses its group membership.
   */
  waitBudgetMs: 10_000,
  /** Callers waiting for a connection at most; one more is refused at once (unavailable, counted). */
  maxWaiting: 1_000,
  /** Backoff between failed tries: doubling from min to max, jittered. */
  retryMinMs: 50,
  retryMaxMs: 2_000,
} as const;

/** The embedded PostgreSQL server's fixed settings (embedded-postgres.cluster.ts). */
export const EMBEDDED_POSTGRES_DEFAULTS = {
  /** Only names the socket file (.s.PGSQL.<port>): the server opens no TCP port. */
  socketPort: 5432,
  /** sun_path holds 104 bytes on macOS, 108 on Linux, the terminating NUL included. */
  maxSocketPathBytes: 103,
  /** The pool's 10 connections, migrations' one, and room for an operator's psql. */
  maxConnections: 30,
  /** As root, PostgreSQL (which refuses root) runs as this OS user. */
  rootRunAsUser: 'nobody',
  /** Crash recovery after a kill -9 replays the WAL before the server accepts connections. */
  startTimeoutMs: 60_000,
  stopTimeoutMs: 30_000,
  readyPollMs: 50,
  /**
   * Its pool over the unix socket: no network to lose, so a slow connection
   * means a starved CPU (the event loop stalled for seconds), which a longer
   * try and a longer wait ride out instead of failing agents' writes.
   */
  poolConnectTimeoutMs: 30_000,
  poolWaitBudgetMs: 120_000,
  /** The server's own log, inside the cluster directory. */
  logFile: 'postgres.log',
} as const;

/**
 * Size of one stored chunk of an uploaded package file (package-blob.store.ts):
 * what an upload holds in memory before it writes a row, and the unit a Range
 * read fetches. 1 MiB rows stay far below PostgreSQL's 1 GB bytea limit and
 * TOAST them without surprises.
 */
export const PACKAGE_BLOB_CHUNK_BYTES = 1024 * 1024;

/**
 * An upload whose blob still has no hash this long after it began broke off
 * (its process died mid-way): the next upload of the tenant removes its rows.
 */
export const PACKAGE_UPLOAD_ABANDONED_MS = 60 * 60 * 1000;

/**
 * How often a blob in use (a download reading it, an upload writing it) records
 * that it is (package_blobs.last_used_at) at most: one row write per blob and
 * process per interval, however many agents download it. The collection's grace
 * must be well above it, so a running download never loses its blob.
 */
export const PACKAGE_BLOB_TOUCH_MS = 60_000;
/** Blobs whose last touch a process remembers; beyond, those past the interval are forgotten (touched again on next use). */
export const PACKAGE_BLOB_TOUCHES_REMEMBERED = 10_000;
