/**
 * The only place the embedded server reads its environment: every setting of
 * `npm start`. The edge's limits that are settings here keep the gateway's
 * variable names, and both default to the edge lib's (EDGE_DEFAULTS); the
 * others are those defaults.
 */
import { bool, type ClientIdentitySettings, tracingEnv, tracingSettings, type TracingConfig, clientIdentityEnv, clientIdentitySettings, int, loadCredentialKey, readEnv, str } from '@opamp/config';
import { EDGE_DEFAULTS, TrustedProxies } from '@opamp/edge';
import { INGEST_DEFAULTS } from '@opamp/ingest';
import { EMBEDDED_POSTGRES_DEFAULTS, PG_POOL_DEFAULTS } from '@opamp/store';
import { DEFAULT_CRL_VALIDITY_HOURS, MAX_CRL_VALIDITY_HOURS, MIN_CRL_VALIDITY_HOURS } from '@opamp/certificate-authority';
import { DEFAULT_PACKAGE_BLOB_GRACE_MS, DEFAULT_PACKAGE_BLOB_SWEEP_MS, DEFAULT_PACKAGE_RETRY_BACKOFF_MS, MAX_PACKAGE_RETRIES, MIN_PACKAGE_BLOB_GRACE_MS, PackageUrlAllowList, parseRetryBackoff } from '@opamp/desired-state';

export const fleetServerEnv = {
  /** Off here unless OPAMP_TRACING_OTLP_ENDPOINT is set: then this process's traces go there (issue 21). */
  ...tracingEnv,
  /** Where the embedded PostgreSQL's cluster (pg/) and the generated credentials live. */
  OPAMP_DATA_DIR: str({ default: '.opamp-data' }),
  /** When the server runs as root: the OS user its PostgreSQL runs as (PostgreSQL refuses root). */
  OPAMP_EMBEDDED_PG_USER: str({ default: EMBEDDED_POSTGRES_DEFAULTS.rootRunAsUser }),
  /** The embedded PostgreSQL pool: connections (below the server's max_connections, room left for migrations and psql). */
  OPAMP_EMBEDDED_PG_POOL_MAX: int({ default: PG_POOL_DEFAULTS.max, min: 1, max: EMBEDDED_POSTGRES_DEFAULTS.maxConnections - 5 }),
  /** One try at a connection (ms), and how long a write keeps trying before the database is reported unavailable (503 to API callers; agents' messages are retried). */
  OPAMP_EMBEDDED_PG_CONNECT_TIMEOUT_MS: int({ default: EMBEDDED_POSTGRES_DEFAULTS.poolConnectTimeoutMs, min: 10, max: 600_000 }),
  OPAMP_EMBEDDED_PG_WAIT_BUDGET_MS: int({ default: EMBEDDED_POSTGRES_DEFAULTS.poolWaitBudgetMs, min: 0, max: 3_600_000 }),
  OPAMP_BIND_HOST: str({ default: '0.0.0.0' }),
  OPAMP_GATEWAY_PORT: int({ default: 4320, min: 0, max: 65535 }),
  OPAMP_GATEWAY_ADMIN_PORT: int({ default: 4321, min: 0, max: 65535 }),
  OPAMP_CONFIG_HTTP_PORT: int({ default: 4380, min: 0, max: 65535 }),
  OPAMP_CONFIG_GRPC_PORT: int({ default: 4381, min: 0, max: 65535 }),
  /** The tenant of a single-machine install. */
  OPAMP_TENANT: str({ default: 'default' }),
  /** Tokens to use instead of the ones generated on first start. */
  OPAMP_ADMIN_TOKEN: str({ default: '', secret: true }),
  OPAMP_AGENT_TOKEN: str({ default: '', secret: true }),
  /** The key agents' own credentials are derived from (base64 of 32 bytes); default: generated into the data directory. */
  OPAMP_CREDENTIAL_KEY: str({ default: '', secret: true }),
  OPAMP_CREDENTIAL_KEY_FILE: str({ default: '' }),
  /** How long each CA's CRL is valid (hours, its nextUpdate); re-signed on every revocation and once half of it is left. */
  OPAMP_CRL_VALIDITY_HOURS: int({ default: DEFAULT_CRL_VALIDITY_HOURS, min: MIN_CRL_VALIDITY_HOURS, max: MAX_CRL_VALIDITY_HOURS }),
  /** Waits before each retry of a failed package install, ms, comma-separated ("" never retries). */
  OPAMP_PACKAGE_RETRY_BACKOFF_MS: str({ default: DEFAULT_PACKAGE_RETRY_BACKOFF_MS.join(',') }),
  /** How often failed installs due for a retry are looked for (ms). */
  OPAMP_PACKAGE_RETRY_SWEEP_MS: int({ default: 15_000, min: 100, max: 3_600_000 }),
  /** URL prefixes package versions may reference files under, comma-separated; "" (default): none, files are uploaded. */
  OPAMP_PACKAGE_URL_ALLOW: str({ default: '' }),
  /** How long an uploaded package file no version names is kept after its last use (ms), and how often such files are looked for. */
  OPAMP_PACKAGE_FILE_GRACE_MS: int({ default: DEFAULT_PACKAGE_BLOB_GRACE_MS, min: MIN_PACKAGE_BLOB_GRACE_MS, max: 365 * 24 * 3_600_000 }),
  OPAMP_PACKAGE_FILE_SWEEP_MS: int({ default: DEFAULT_PACKAGE_BLOB_SWEEP_MS, min: 1_000, max: 24 * 3_600_000 }),
  /** The OpAMP URL agents are told to use in connection settings offers; default: this server's own address. */
  OPAMP_PUBLIC_OPAMP_URL: str({ default: '' }),
  OPAMP_TLS_CERT_FILE: str({ default: '' }),
  OPAMP_TLS_KEY_FILE: str({ default: '' }),
  /** Behind a mutual-TLS terminator (deploy/mtls): the headers of the verified client certificate, as the gateway's. */
  ...clientIdentityEnv,
  OPAMP_MAX_MESSAGE_BYTES: int({ default: EDGE_DEFAULTS.maxMessageBytes, min: 1024 }),
  OPAMP_HTTP_PUSH_WAIT_MS: int({ default: EDGE_DEFAULTS.httpPushWaitMs, min: 0, max: 10_000 }),
  OPAMP_MAX_CONNECTIONS: int({ default: EDGE_DEFAULTS.maxConnections, min: 1 }),
  /** New agent connections (WebSocket upgrades) accepted per second; beyond it, 503 with Retry-After. */
  OPAMP_UPGRADES_PER_SECOND: int({ default: EDGE_DEFAULTS.upgradesPerSecond, min: 1 }),
  OPAMP_HEARTBEAT_INTERVAL_S: int({ default: 30, min: 1 }),
  OPAMP_STALE_AFTER_INTERVALS: int({ default: 3, min: 1 }),
  OPAMP_OFFLINE_AFTER_INTERVALS: int({ default: 10, min: 1 }),
  OPAMP_SWEEP_INTERVAL_MS: int({ default: 15_000, min: 100 }),
  /** How often heartbeat times are written to the agent rows (the bound of last_seen's lag), as status-ingest's. */
  OPAMP_LAST_SEEN_FLUSH_MS: int({ default: INGEST_DEFAULTS.lastSeenFlushMs, min: 100 }),
  OPAMP_DRAIN_WINDOW_MS: int({ default: 10_000, min: 0 }),
  /** Agents' own metrics (issue 19 item 3), as status-ingest's: retention of 10 s points and 5-minute rollups, series cap, partition sweep. */
  OPAMP_OWN_METRICS_POINTS_RETENTION_HOURS: int({ default: INGEST_DEFAULTS.ownMetricPointsRetentionHours, min: 2, max: 24 * 366 }),
  OPAMP_OWN_METRICS_ROLLUPS_RETENTION_DAYS: int({ default: INGEST_DEFAULTS.ownMetricRollupsRetentionDays, min: 1, max: 3_660 }),
  OPAMP_OWN_METRICS_MAX_SERIES_PER_AGENT: int({ default: INGEST_DEFAULTS.maxOwnMetricSeriesPerAgent, min: 1, max: 100_000 }),
  /** An external OTLP/HTTP endpoint (base URL) agents' own telemetry is also forwarded to, unchanged; '' (default): none. */
  OPAMP_OWN_TELEMETRY_FORWARD_URL: str({ default: '' }),
  OPAMP_OWN_METRICS_PARTITION_SWEEP_MS: int({ default: INGEST_DEFAULTS.ownMetricPartitionSweepMs, min: 1_000, max: 86_400_000 }),
  OPAMP_LOG_API: bool({ default: false }),
  /** WatchAgents: merge window, and changed agents one stream may have waiting before it is ended (as config-service). */
  OPAMP_WATCH_COALESCE_MS: int({ default: 100, min: 0, max: 10_000 }),
  OPAMP_WATCH_MAX_QUEUE: int({ default: 1_000, min: 1, max: 1_000_000 }),
};

export interface FleetServerConfig {
  dataDir: string;
  /** This server's own traces; null (the default): off. */
  tracing: TracingConfig | null;
  embeddedPgUser: string;
  embeddedPgPoolMax: number;
  embeddedPgConnectTimeoutMs: number;
  embeddedPgWaitBudgetMs: number;
  bindHost: string;
  gatewayPort: number;
  adminPort: number;
  httpPort: number;
  grpcPort: number;
  tenantId: string;
  adminToken: string;
  agentToken: string;
  /** Configured credential key; null: the one kept in the data directory (generated on first start). */
  credentialKey: Buffer | null;
  crlValidityHours: number;
  packageRetryBackoffMs: number[];
  packageRetrySweepMs: number;
  packageUrlAllow: string[];
  packageBlobGraceMs: number;
  packageBlobSweepMs: number;
  /** '' = this server's own OpAMP address. */
  publicOpampUrl: string;
  tls: { certFile: string; keyFile: string } | null;
  clientIdentity: ClientIdentitySettings | null;
  maxMessageBytes: number;
  httpPushWaitMs: number;
  maxConnections: number;
  upgradesPerSecond: number;
  heartbeatIntervalS: number;
  staleAfterIntervals: number;
  offlineAfterIntervals: number;
  sweepIntervalMs: number;
  lastSeenFlushMs: number;
  drainWindowMs: number;
  ownMetrics: { retention: { pointsMs: number; rollupsMs: number }; maxSeriesPerAgent: number; partitionSweepMs: number; forwardUrl: string };
  logApi: boolean;
  watchCoalesceMs: number;
  watchMaxQueue: number;
}

export function loadFleetServerConfig(env: Record<string, string | undefined> = process.env): FleetServerConfig {
  const e = readEnv(fleetServerEnv, env);
  if ((e.OPAMP_TLS_CERT_FILE === '') !== (e.OPAMP_TLS_KEY_FILE === '')) {
    throw new Error('invalid configuration: OPAMP_TLS_CERT_FILE and OPAMP_TLS_KEY_FILE go together');
  }
  if (e.OPAMP_OFFLINE_AFTER_INTERVALS < e.OPAMP_STALE_AFTER_INTERVALS) {
    throw new Error('invalid configuration: OPAMP_OFFLINE_AFTER_INTERVALS must be >= OPAMP_STALE_AFTER_INTERVALS');
  }
  if (e.OPAMP_OWN_TELEMETRY_FORWARD_URL && !/^https?:\/\/[^\s]+$/.test(e.OPAMP_OWN_TELEMETRY_FORWARD_URL)) {
    throw new Error('invalid configuration: OPAMP_OWN_TELEMETRY_FORWARD_URL must be an http(s):// URL');
  }
  const clientIdentity = clientIdentitySettings(e);
  if (clientIdentity) new TrustedProxies(clientIdentity.trustedProxies);
  return {
    dataDir: e.OPAMP_DATA_DIR,
    tracing: tracingSettings(e),
    embeddedPgUser: e.OPAMP_EMBEDDED_PG_USER,
    embeddedPgPoolMax: e.OPAMP_EMBEDDED_PG_POOL_MAX,
    embeddedPgConnectTimeoutMs: e.OPAMP_EMBEDDED_PG_CONNECT_TIMEOUT_MS,
    embeddedPgWaitBudgetMs: e.OPAMP_EMBEDDED_PG_WAIT_BUDGET_MS,
    bindHost: e.OPAMP_BIND_HOST,
    gatewayPort: e.OPAMP_GATEWAY_PORT,
    adminPort: e.OPAMP_GATEWAY_ADMIN_PORT,
    httpPort: e.OPAMP_CONFIG_HTTP_PORT,
    grpcPort: e.OPAMP_CONFIG_GRPC_PORT,
    tenantId: e.OPAMP_TENANT,
    adminToken: e.OPAMP_ADMIN_TOKEN,
    agentToken: e.OPAMP_AGENT_TOKEN,
    credentialKey: loadCredentialKey(e.OPAMP_CREDENTIAL_KEY, e.OPAMP_CREDENTIAL_KEY_FILE, { value: 'OPAMP_CREDENTIAL_KEY', file: 'OPAMP_CREDENTIAL_KEY_FILE' }),
    crlValidityHours: e.OPAMP_CRL_VALIDITY_HOURS,
    packageRetryBackoffMs: parseRetryBackoff(e.OPAMP_PACKAGE_RETRY_BACKOFF_MS, MAX_PACKAGE_RETRIES),
    packageRetrySweepMs: e.OPAMP_PACKAGE_RETRY_SWEEP_MS,
    packageUrlAllow: new PackageUrlAllowList(e.OPAMP_PACKAGE_URL_ALLOW.split(',').filter((x) => x.trim() !== '')).shown,
    packageBlobGraceMs: e.OPAMP_PACKAGE_FILE_GRACE_MS,
    packageBlobSweepMs: e.OPAMP_PACKAGE_FILE_SWEEP_MS,
    publicOpampUrl: e.OPAMP_PUBLIC_OPAMP_URL,
    tls: e.OPAMP_TLS_CERT_FILE ? { certFile: e.OPAMP_TLS_CERT_FILE, keyFile: e.OPAMP_TLS_KEY_FILE } : null,
    clientIdentity,
    maxMessageBytes: e.OPAMP_MAX_MESSAGE_BYTES,
    httpPushWaitMs: e.OPAMP_HTTP_PUSH_WAIT_MS,
    maxConnections: e.OPAMP_MAX_CONNECTIONS,
    upgradesPerSecond: e.OPAMP_UPGRADES_PER_SECOND,
    heartbeatIntervalS: e.OPAMP_HEARTBEAT_INTERVAL_S,
    staleAfterIntervals: e.OPAMP_STALE_AFTER_INTERVALS,
    offlineAfterIntervals: e.OPAMP_OFFLINE_AFTER_INTERVALS,
    sweepIntervalMs: e.OPAMP_SWEEP_INTERVAL_MS,
    lastSeenFlushMs: e.OPAMP_LAST_SEEN_FLUSH_MS,
    drainWindowMs: e.OPAMP_DRAIN_WINDOW_MS,
    ownMetrics: {
      retention: { pointsMs: e.OPAMP_OWN_METRICS_POINTS_RETENTION_HOURS * 3_600_000, rollupsMs: e.OPAMP_OWN_METRICS_ROLLUPS_RETENTION_DAYS * 86_400_000 },
      maxSeriesPerAgent: e.OPAMP_OWN_METRICS_MAX_SERIES_PER_AGENT,
      partitionSweepMs: e.OPAMP_OWN_METRICS_PARTITION_SWEEP_MS,
      forwardUrl: e.OPAMP_OWN_TELEMETRY_FORWARD_URL,
    },
    logApi: e.OPAMP_LOG_API,
    watchCoalesceMs: e.OPAMP_WATCH_COALESCE_MS,
    watchMaxQueue: e.OPAMP_WATCH_MAX_QUEUE,
  };
}
