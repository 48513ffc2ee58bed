/** The only place config-service reads its environment. */
import { consumerLagEnv, int, kafkaSecurityEnv, tracingEnv, tracingSettings, type TracingConfig, kafkaSecuritySettings, type KafkaSecuritySettings, list, loadCredentialKey, readEnv, str, url } from '@opamp/config';
import { DEFAULT_MAX_PACKAGE_FILE_BYTES, DEFAULT_PACKAGE_BLOB_GRACE_MS, DEFAULT_PACKAGE_BLOB_SWEEP_MS, DEFAULT_PACKAGE_FETCH_TIMEOUT_MS, MIN_PACKAGE_BLOB_GRACE_MS, PackageUrlAllowList, DEFAULT_PACKAGE_RETRY_BACKOFF_MS, MAX_PACKAGE_RETRIES, parseRetryBackoff } from '@opamp/desired-state';
import { DEFAULT_CREDENTIAL_OFFERS_PER_S } from '@opamp/desired-state';
import { DEFAULT_CRL_VALIDITY_HOURS, MAX_CRL_VALIDITY_HOURS, MIN_CRL_VALIDITY_HOURS } from '@opamp/certificate-authority';

export const configServiceEnv = {
  OPAMP_KAFKA_BROKERS: list({ default: ['127.0.0.1:19092'] }),
  ...kafkaSecurityEnv,
  ...tracingEnv,
  ...consumerLagEnv,
  OPAMP_REDIS_URL: url({ default: 'redis://127.0.0.1:63790', protocols: ['redis', 'rediss'], secret: true }),
  OPAMP_DATABASE_URL: url({
    default: 'postgres://opamp:opamp@127.0.0.1:54320/opamp',
    protocols: ['postgres', 'postgresql'],
    secret: true,
  }),
  OPAMP_CONFIG_CLIENT_ID: str({ default: 'config-service' }),
  OPAMP_CONFIG_PARTITION_CONCURRENCY: int({ default: 4, min: 1, max: 64 }),
  OPAMP_PG_POOL_MAX: int({ default: 10, min: 1, max: 200 }),
  /** Interface the HTTP (REST mirror) and gRPC servers bind to. */
  OPAMP_CONFIG_BIND_HOST: str({ default: '0.0.0.0' }),
  OPAMP_CONFIG_HTTP_PORT: int({ default: 4380, min: 0, max: 65535 }),
  OPAMP_CONFIG_GRPC_PORT: int({ default: 4381, min: 0, max: 65535 }),
  /** Agent-events topic and consumer group (overridable for tests and side-by-side deployments). */
  OPAMP_CONFIG_EVENTS_TOPIC: str({ default: 'opamp.agent-events' }),
  OPAMP_CONFIG_CONSUMER_GROUP: str({ default: 'opamp.config-service' }),
  /** Agents per page when a desired-state change re-evaluates agents. */
  OPAMP_CONFIG_REEVALUATE_PAGE_SIZE: int({ default: 500, min: 1, max: 10_000 }),
  /** How long a replica's lease on a re-evaluation job lasts without a page done (takeover after a crash). */
  OPAMP_CONFIG_REEVALUATION_LEASE_MS: int({ default: 30_000, min: 100, max: 600_000 }),
  /** WatchAgents: how long changes are merged before they are read and sent, and how many changed agents one stream may have waiting before it is ended (RESOURCE_EXHAUSTED). */
  OPAMP_CONFIG_WATCH_COALESCE_MS: int({ default: 100, min: 0, max: 10_000 }),
  OPAMP_CONFIG_WATCH_MAX_QUEUE: int({ default: 1_000, min: 1, max: 1_000_000 }),
  /** Rollout driver: time between ticks, and how long a replica's lease on a rollout lasts without renewal (takeover after a crash). */
  OPAMP_CONFIG_ROLLOUT_TICK_MS: int({ default: 1_000, min: 20, max: 60_000 }),
  OPAMP_CONFIG_ROLLOUT_LEASE_MS: int({ default: 15_000, min: 100, max: 600_000 }),
  /** Name of this replica's rollout driver (default: host name, process id and a random suffix). */
  OPAMP_CONFIG_ROLLOUT_DRIVER_ID: str({ default: '' }),
  /** Admin API tokens registered at start, "tenant=token,tenant2=token2" (only their hashes are stored). */
  OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS: str({ default: '', secret: true }),
  /** The key agents' own credentials are derived from (base64 of 32 bytes); the same on every replica. Or: */
  OPAMP_CREDENTIAL_KEY: str({ default: '', secret: true }),
  /** ... a file holding it (a mounted Secret). Without either, no per-agent credentials are issued. */
  OPAMP_CREDENTIAL_KEY_FILE: str({ default: '' }),
  /** The OpAMP URL agents reach the gateways at (https://host/v1/opamp), put in connection settings offers. */
  OPAMP_PUBLIC_OPAMP_URL: str({ default: '' }),
  /** Heartbeat interval put in offers to agents that report heartbeats (seconds). */
  OPAMP_OFFER_HEARTBEAT_S: int({ default: 30, min: 1, max: 86_400 }),
  /** How often rotation deadlines and scheduled rotations are swept (ms). */
  OPAMP_CREDENTIAL_SWEEP_MS: int({ default: 60_000, min: 100, max: 3_600_000 }),
  /** How long each CA's CRL is valid (hours, its nextUpdate); re-signed on every revocation and once half of it is left. */
  OPAMP_CRL_VALIDITY_HOURS: int({ default: DEFAULT_CRL_VALIDITY_HOURS, min: MIN_CRL_VALIDITY_HOURS, max: MAX_CRL_VALIDITY_HOURS }),
  /** Largest package file uploaded or verified from its URL (bytes). */
  OPAMP_PACKAGE_MAX_FILE_BYTES: int({ default: DEFAULT_MAX_PACKAGE_FILE_BYTES, min: 1, max: Number.MAX_SAFE_INTEGER }),
  /** Longest the download that verifies a package file's URL may take (ms). */
  OPAMP_PACKAGE_FETCH_TIMEOUT_MS: int({ default: DEFAULT_PACKAGE_FETCH_TIMEOUT_MS, min: 100, max: 3_600_000 }),
  /** Where agents reach the gateways for package downloads (https://host); default: the origin of OPAMP_PUBLIC_OPAMP_URL. */
  OPAMP_PACKAGE_DOWNLOAD_URL: str({ default: '' }),
  /** Waits before each retry of a failed package install, ms, comma-separated ("" never retries). */
  OPAMP_PACKAGE_RETRY_BACKOFF_MS: str({ default: DEFAULT_PACKAGE_RETRY_BACKOFF_MS.join(',') }),
  /** How often failed installs due for a retry are looked for (ms). */
  OPAMP_PACKAGE_RETRY_SWEEP_MS: int({ default: 15_000, min: 100, max: 3_600_000 }),
  /** The key download addresses of uploaded package files are signed with (base64 of 32 bytes), the gateways' OPAMP_PACKAGE_URL_KEY. Or: */
  OPAMP_PACKAGE_URL_KEY: str({ default: '', secret: true }),
  /** ... a file holding it. Without either, uploaded files are not offered to agents (URL files are). */
  OPAMP_PACKAGE_URL_KEY_FILE: str({ default: '' }),
  /** How long an uploaded package file no version names is kept after its last use (an upload, a download, ms), and how often such files are looked for. */
  /** URL prefixes package versions may reference files under (https://artifacts.example.com/otelcol/), comma-separated; "" (default): none, files are uploaded. */
  OPAMP_PACKAGE_URL_ALLOW: str({ default: '' }),
  OPAMP_PACKAGE_FILE_GRACE_MS: int({ default: DEFAULT_PACKAGE_BLOB_GRACE_MS, min: MIN_PACKAGE_BLOB_GRACE_MS, max: 365 * 24 * 3_600_000 }),
  OPAMP_PACKAGE_FILE_SWEEP_MS: int({ default: DEFAULT_PACKAGE_BLOB_SWEEP_MS, min: 1_000, max: 24 * 3_600_000 }),
  /** Credential offers (a rotation, a connection profile change) this replica sends per second at most: each makes an agent reconnect. 0: no pacing. */
  OPAMP_CREDENTIAL_OFFERS_PER_S: int({ default: DEFAULT_CREDENTIAL_OFFERS_PER_S, min: 0, max: 1_000_000 }),
};

export interface ConfigServiceConfig {
  kafkaBrokers: string[];
  kafkaSecurity: KafkaSecuritySettings;
  redisUrl: string;
  databaseUrl: string;
  clientId: string;
  /** This server's own traces (issue 21); null: off. */
  tracing: TracingConfig | null;
  partitionConcurrency: number;
  pgPoolMax: number;
  /** Consumer lag sampling period (OPAMP_CONSUMER_LAG_SAMPLE_MS); 0: not sampled. */
  consumerLagSampleMs: number;
  bindHost: string;
  httpPort: number;
  grpcPort: number;
  eventsTopic: string;
  consumerGroup: string;
  reevaluatePageSize: number;
  reevaluationLeaseMs: number;
  watchCoalesceMs: number;
  watchMaxQueue: number;
  rolloutTickMs: number;
  rolloutLeaseMs: number;
  rolloutDriverId: string;
  bootstrapAdminTokens: Array<{ tenantId: string; token: string }>;
  credentialKey: Buffer | null;
  publicOpampUrl: string | null;
  offerHeartbeatS: number;
  credentialSweepMs: number;
  crlValidityHours: number;
  packageMaxFileBytes: number;
  packageFetchTimeoutMs: number;
  /** Origin of the gateways' package downloads, and the key their addresses are signed with. */
  packageDownloadUrl: string | null;
  packageRetryBackoffMs: number[];
  packageRetrySweepMs: number;
  packageUrlKey: Buffer | null;
  packageUrlAllow: string[];
  packageBlobGraceMs: number;
  packageBlobSweepMs: number;
  credentialOffersPerS: number;
}

function publicUrl(text: string): string | null {
  if (!text) return null;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error('OPAMP_PUBLIC_OPAMP_URL must be a URL such as https://opamp.example.com/v1/opamp');
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new Error('OPAMP_PUBLIC_OPAMP_URL must be http(s) or ws(s)');
  return u.toString();
}

/** The origin (scheme, host, port) package downloads are offered under: the one given, else the public OpAMP URL's, as http(s). */
function downloadOrigin(given: string, publicOpamp: string): string | null {
  const text = given || publicOpamp;
  if (!text) return null;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    throw new Error('OPAMP_PACKAGE_DOWNLOAD_URL must be a URL such as https://opamp.example.com');
  }
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(u.protocol)) throw new Error('OPAMP_PACKAGE_DOWNLOAD_URL must be http(s)');
  const scheme = u.protocol === 'wss:' || u.protocol === 'https:' ? 'https' : 'http';
  return `${scheme}://${u.host}`;
}

function parseTokens(text: string): Array<{ tenantId: string; token: string }> {
  if (!text.trim()) return [];
  return text.split(',').map((pair) => {
    const eq = pair.indexOf('=');
    const tenantId = pair.slice(0, eq).trim();
    const token = pair.slice(eq + 1).trim();
    if (eq <= 0 || !tenantId || token.length < 16) {
      throw new Error('OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS must be "tenant=token,..." with tokens of at least 16 characters');
    }
    return { tenantId, token };
  });
}

export function loadConfigServiceConfig(env: Record<string, string | undefined> = process.env): ConfigServiceConfig {
  const e = readEnv(configServiceEnv, env);
  return {
    kafkaBrokers: e.OPAMP_KAFKA_BROKERS,
    kafkaSecurity: kafkaSecuritySettings(e),
    redisUrl: e.OPAMP_REDIS_URL,
    databaseUrl: e.OPAMP_DATABASE_URL,
    clientId: e.OPAMP_CONFIG_CLIENT_ID,
    tracing: tracingSettings(e),
    partitionConcurrency: e.OPAMP_CONFIG_PARTITION_CONCURRENCY,
    pgPoolMax: e.OPAMP_PG_POOL_MAX,
    consumerLagSampleMs: e.OPAMP_CONSUMER_LAG_SAMPLE_MS,
    bindHost: e.OPAMP_CONFIG_BIND_HOST,
    httpPort: e.OPAMP_CONFIG_HTTP_PORT,
    grpcPort: e.OPAMP_CONFIG_GRPC_PORT,
    eventsTopic: e.OPAMP_CONFIG_EVENTS_TOPIC,
    consumerGroup: e.OPAMP_CONFIG_CONSUMER_GROUP,
    reevaluatePageSize: e.OPAMP_CONFIG_REEVALUATE_PAGE_SIZE,
    reevaluationLeaseMs: e.OPAMP_CONFIG_REEVALUATION_LEASE_MS,
    watchCoalesceMs: e.OPAMP_CONFIG_WATCH_COALESCE_MS,
    watchMaxQueue: e.OPAMP_CONFIG_WATCH_MAX_QUEUE,
    rolloutTickMs: e.OPAMP_CONFIG_ROLLOUT_TICK_MS,
    rolloutLeaseMs: e.OPAMP_CONFIG_ROLLOUT_LEASE_MS,
    rolloutDriverId: e.OPAMP_CONFIG_ROLLOUT_DRIVER_ID,
    bootstrapAdminTokens: parseTokens(e.OPAMP_CONFIG_BOOTSTRAP_ADMIN_TOKENS),
    credentialKey: loadCredentialKey(e.OPAMP_CREDENTIAL_KEY, e.OPAMP_CREDENTIAL_KEY_FILE, { value: 'OPAMP_CREDENTIAL_KEY', file: 'OPAMP_CREDENTIAL_KEY_FILE' }),
    publicOpampUrl: publicUrl(e.OPAMP_PUBLIC_OPAMP_URL),
    offerHeartbeatS: e.OPAMP_OFFER_HEARTBEAT_S,
    packageMaxFileBytes: e.OPAMP_PACKAGE_MAX_FILE_BYTES,
    packageFetchTimeoutMs: e.OPAMP_PACKAGE_FETCH_TIMEOUT_MS,
    packageDownloadUrl: downloadOrigin(e.OPAMP_PACKAGE_DOWNLOAD_URL, e.OPAMP_PUBLIC_OPAMP_URL),
    packageRetryBackoffMs: parseRetryBackoff(e.OPAMP_PACKAGE_RETRY_BACKOFF_MS, MAX_PACKAGE_RETRIES),
    packageRetrySweepMs: e.OPAMP_PACKAGE_RETRY_SWEEP_MS,
    packageUrlAllow: new PackageUrlAllowList(e.OPAMP_PACKAGE_URL_ALLOW.split(',').filter((x) => x.trim() !== '')).shown,
    packageBlobGraceMs: e.OPAMP_PACKAGE_FILE_GRACE_MS,
    packageBlobSweepMs: e.OPAMP_PACKAGE_FILE_SWEEP_MS,
    packageUrlKey: loadCredentialKey(e.OPAMP_PACKAGE_URL_KEY, e.OPAMP_PACKAGE_URL_KEY_FILE, { value: 'OPAMP_PACKAGE_URL_KEY', file: 'OPAMP_PACKAGE_URL_KEY_FILE' }),
    credentialSweepMs: e.OPAMP_CREDENTIAL_SWEEP_MS,
    crlValidityHours: e.OPAMP_CRL_VALIDITY_HOURS,
    credentialOffersPerS: e.OPAMP_CREDENTIAL_OFFERS_PER_S,
  };
}
