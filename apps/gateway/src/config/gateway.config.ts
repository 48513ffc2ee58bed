/** The only place the gateway reads its environment. The edge's limits default to the edge lib's own (EDGE_DEFAULTS). */
import { hostname } from 'node:os';
import { bool, type ClientIdentitySettings, tracingEnv, tracingSettings, type TracingConfig, clientIdentityEnv, clientIdentitySettings, int, kafkaEnv, kafkaSecuritySettings, type KafkaSecuritySettings, loadCredentialKey, readEnv, redisEnv, str } from '@opamp/config';
import { KafkaTopics } from '@opamp/contracts';
import { EDGE_DEFAULTS, TrustedProxies } from '@opamp/edge';

export const gatewayEnv = {
  OPAMP_GATEWAY_ID: str({ default: '' }),
  OPAMP_GATEWAY_HOST: str({ default: '0.0.0.0' }),
  OPAMP_GATEWAY_PORT: int({ default: 4320, min: 0, max: 65535 }),
  OPAMP_GATEWAY_ADMIN_PORT: int({ default: 4321, min: 0, max: 65535 }),
  /** tenant=token pairs, comma-separated. */
  OPAMP_AGENT_TOKENS: str({ default: '', secret: true }),
  OPAMP_TLS_CERT_FILE: str({ default: '' }),
  OPAMP_TLS_KEY_FILE: str({ default: '' }),
  /** mTLS is terminated by a proxy in front (deploy/mtls), which passes the verified certificate in headers. */
  ...clientIdentityEnv,
  OPAMP_ACCEPT_LEGACY_ULID: bool({ default: false }),
  /** Advertise AcceptsConnectionSettingsRequest (0x40): set where config-service issues client certificates (a credential key and tenant CAs; issue 18). */
  OPAMP_ACCEPT_CERTIFICATE_REQUESTS: bool({ default: false }),
  /** Inbound and outbound limit per OpAMP message, after decompression (spec default 64 MiB). */
  OPAMP_MAX_MESSAGE_BYTES: int({ default: EDGE_DEFAULTS.maxMessageBytes, min: 1024 }),
  OPAMP_WS_COMPRESSION: bool({ default: EDGE_DEFAULTS.wsCompression }),
  OPAMP_MESSAGES_PER_SECOND: int({ default: EDGE_DEFAULTS.messagesPerSecond, min: 1 }),
  OPAMP_MESSAGE_BURST: int({ default: EDGE_DEFAULTS.messageBurst, min: 1 }),
  OPAMP_MAX_CONNECTIONS: int({ default: EDGE_DEFAULTS.maxConnections, min: 1 }),
  OPAMP_UPGRADES_PER_SECOND: int({ default: EDGE_DEFAULTS.upgradesPerSecond, min: 1 }),
  OPAMP_UPGRADE_BURST: int({ default: EDGE_DEFAULTS.upgradeBurst, min: 1 }),
  /** Retry-After sent with 503, drawn uniformly from this range (seconds). */
  OPAMP_RETRY_AFTER_MIN_S: int({ default: EDGE_DEFAULTS.retryAfterMinS, min: 1 }),
  OPAMP_RETRY_AFTER_MAX_S: int({ default: EDGE_DEFAULTS.retryAfterMaxS, min: 1 }),
  /** The same while this gateway drains (a restart): short, so agents come back as soon as it or another is up. */
  OPAMP_DRAIN_RETRY_AFTER_MIN_S: int({ default: EDGE_DEFAULTS.drainRetryAfterMinS, min: 1 }),
  OPAMP_DRAIN_RETRY_AFTER_MAX_S: int({ default: EDGE_DEFAULTS.drainRetryAfterMaxS, min: 1 }),
  /** How long a plain-HTTP request waits for pushes for its agent. */
  OPAMP_HTTP_PUSH_WAIT_MS: int({ default: EDGE_DEFAULTS.httpPushWaitMs, min: 0, max: 10_000 }),
  OPAMP_IDLE_TIMEOUT_S: int({ default: 120, min: 8 }),
  OPAMP_DRAIN_WINDOW_MS: int({ default: 30_000, min: 0 }),
  /** Records waiting for Kafka beyond which the gateway answers UNAVAILABLE. */
  OPAMP_MAX_PENDING_INBOUND: int({ default: EDGE_DEFAULTS.maxPendingInbound, min: 1 }),
  /** Bytes waiting for Kafka beyond which the gateway answers UNAVAILABLE. */
  OPAMP_MAX_PENDING_INBOUND_BYTES: int({ default: EDGE_DEFAULTS.maxPendingInboundBytes, min: 1024 }),
  ...kafkaEnv,
  /** The inbound topic (opamp.agent-inbound); other values isolate test runs. */
  OPAMP_GATEWAY_INBOUND_TOPIC: str({ default: 'opamp.agent-inbound' }),
  ...redisEnv,
  ...tracingEnv,
  /**
   * Package downloads (GET /v1/packages/files/<sha256>): the PostgreSQL the
   * uploaded files are stored in (a role with SELECT on package_blobs and
   * package_blob_chunks is enough), read through a small pool of its own.
   * Empty: this gateway serves no package files (404).
   */
  OPAMP_PACKAGE_DATABASE_URL: str({ default: '', secret: true }),
  OPAMP_PACKAGE_DB_POOL_MAX: int({ default: 4, min: 1, max: 64 }),
  /** The key signed download addresses are checked with (base64 of 32 bytes), config-service's OPAMP_PACKAGE_URL_KEY. Or: */
  OPAMP_PACKAGE_URL_KEY: str({ default: '', secret: true }),
  /** ... a file holding it. Without either, only agents' credentials open downloads. */
  OPAMP_PACKAGE_URL_KEY_FILE: str({ default: '' }),
  /** Package downloads at once on this gateway (beyond: 503 + Retry-After), and their bytes per second together. */
  OPAMP_PACKAGE_DOWNLOADS_MAX: int({ default: EDGE_DEFAULTS.packageDownloadsMax, min: 1, max: 100_000 }),
  OPAMP_PACKAGE_BYTES_PER_SECOND: int({ default: EDGE_DEFAULTS.packageBytesPerSecond, min: EDGE_DEFAULTS.packagePieceBytes }),
  /**
   * The OTLP receiver of agents' own telemetry (POST /v1/metrics, /v1/traces,
   * /v1/logs on the agent port): on unless false; the topic it produces to;
   * requests at once and the largest body (raw and inflated).
   */
  OPAMP_OWN_TELEMETRY_RECEIVER: bool({ default: true }),
  OPAMP_OWN_TELEMETRY_TOPIC: str({ default: KafkaTopics.agentTelemetry.name }),
  OPAMP_OWN_TELEMETRY_REQUESTS_MAX: int({ default: EDGE_DEFAULTS.telemetryRequestsMax, min: 1, max: 10_000 }),
  OPAMP_OWN_TELEMETRY_MAX_BODY_BYTES: int({ default: EDGE_DEFAULTS.telemetryMaxBodyBytes, min: 1024, max: 64 * 1024 * 1024 }),
};

export interface GatewayConfig {
  gatewayId: string;
  /** This server's own traces (issue 21); null: off. */
  tracing: TracingConfig | null;
  host: string;
  port: number;
  adminPort: number;
  agentTokens: string;
  tls: { certFile: string; keyFile: string } | null;
  clientIdentity: ClientIdentitySettings | null;
  acceptLegacyUlid: boolean;
  acceptsCertificateRequests: boolean;
  maxMessageBytes: number;
  wsCompression: boolean;
  messagesPerSecond: number;
  messageBurst: number;
  maxConnections: number;
  upgradesPerSecond: number;
  upgradeBurst: number;
  retryAfterRangeS: [number, number];
  drainRetryAfterRangeS: [number, number];
  httpPushWaitMs: number;
  idleTimeoutS: number;
  drainWindowMs: number;
  maxPendingInbound: number;
  maxPendingInboundBytes: number;
  kafkaBrokers: string[];
  kafkaSecurity: KafkaSecuritySettings;
  inboundTopic: string;
  redisUrl: string;
  /** Package downloads: where the files are read, and their limits (null: not served). */
  packages: { databaseUrl: string; poolMax: number; urlKey: Buffer | null; maxConcurrent: number; bytesPerSecond: number } | null;
  /** The OTLP receiver of agents' own telemetry (null: not served, 404). */
  ownTelemetry: { topic: string; maxConcurrent: number; maxBodyBytes: number } | null;
}

export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const e = readEnv(gatewayEnv, env);
  if ((e.OPAMP_TLS_CERT_FILE === '') !== (e.OPAMP_TLS_KEY_FILE === '')) {
    throw new Error('invalid configuration: OPAMP_TLS_CERT_FILE and OPAMP_TLS_KEY_FILE go together');
  }
  const clientIdentity = clientIdentitySettings(e);
  // Fail at start on a range that is no range.
  if (clientIdentity) new TrustedProxies(clientIdentity.trustedProxies);
  if (e.OPAMP_RETRY_AFTER_MAX_S < e.OPAMP_RETRY_AFTER_MIN_S) {
    throw new Error('invalid configuration: OPAMP_RETRY_AFTER_MAX_S must be >= OPAMP_RETRY_AFTER_MIN_S');
  }
  if (e.OPAMP_DRAIN_RETRY_AFTER_MAX_S < e.OPAMP_DRAIN_RETRY_AFTER_MIN_S) {
    throw new Error('invalid configuration: OPAMP_DRAIN_RETRY_AFTER_MAX_S must be >= OPAMP_DRAIN_RETRY_AFTER_MIN_S');
  }
  if (e.OPAMP_PACKAGE_DATABASE_URL && !/^postgres(ql)?:\/\//.test(e.OPAMP_PACKAGE_DATABASE_URL)) {
    throw new Error('invalid configuration: OPAMP_PACKAGE_DATABASE_URL must be a postgres:// URL');
  }
  const urlKey = loadCredentialKey(e.OPAMP_PACKAGE_URL_KEY, e.OPAMP_PACKAGE_URL_KEY_FILE, { value: 'OPAMP_PACKAGE_URL_KEY', file: 'OPAMP_PACKAGE_URL_KEY_FILE' });
  return {
    gatewayId: e.OPAMP_GATEWAY_ID || `${hostname()}-${process.pid}`,
    tracing: tracingSettings(e),
    host: e.OPAMP_GATEWAY_HOST,
    port: e.OPAMP_GATEWAY_PORT,
    adminPort: e.OPAMP_GATEWAY_ADMIN_PORT,
    agentTokens: e.OPAMP_AGENT_TOKENS,
    tls: e.OPAMP_TLS_CERT_FILE ? { certFile: e.OPAMP_TLS_CERT_FILE, keyFile: e.OPAMP_TLS_KEY_FILE } : null,
    clientIdentity,
    acceptLegacyUlid: e.OPAMP_ACCEPT_LEGACY_ULID,
    acceptsCertificateRequests: e.OPAMP_ACCEPT_CERTIFICATE_REQUESTS,
    maxMessageBytes: e.OPAMP_MAX_MESSAGE_BYTES,
    wsCompression: e.OPAMP_WS_COMPRESSION,
    messagesPerSecond: e.OPAMP_MESSAGES_PER_SECOND,
    messageBurst: e.OPAMP_MESSAGE_BURST,
    maxConnections: e.OPAMP_MAX_CONNECTIONS,
    upgradesPerSecond: e.OPAMP_UPGRADES_PER_SECOND,
    upgradeBurst: e.OPAMP_UPGRADE_BURST,
    retryAfterRangeS: [e.OPAMP_RETRY_AFTER_MIN_S, e.OPAMP_RETRY_AFTER_MAX_S],
    drainRetryAfterRangeS: [e.OPAMP_DRAIN_RETRY_AFTER_MIN_S, e.OPAMP_DRAIN_RETRY_AFTER_MAX_S],
    httpPushWaitMs: e.OPAMP_HTTP_PUSH_WAIT_MS,
    idleTimeoutS: e.OPAMP_IDLE_TIMEOUT_S,
    drainWindowMs: e.OPAMP_DRAIN_WINDOW_MS,
    maxPendingInbound: e.OPAMP_MAX_PENDING_INBOUND,
    maxPendingInboundBytes: e.OPAMP_MAX_PENDING_INBOUND_BYTES,
    kafkaBrokers: e.OPAMP_KAFKA_BROKERS,
    kafkaSecurity: kafkaSecuritySettings(e),
    inboundTopic: e.OPAMP_GATEWAY_INBOUND_TOPIC,
    redisUrl: e.OPAMP_REDIS_URL,
    packages: e.OPAMP_PACKAGE_DATABASE_URL
      ? {
          databaseUrl: e.OPAMP_PACKAGE_DATABASE_URL,
          poolMax: e.OPAMP_PACKAGE_DB_POOL_MAX,
          urlKey,
          maxConcurrent: e.OPAMP_PACKAGE_DOWNLOADS_MAX,
          bytesPerSecond: e.OPAMP_PACKAGE_BYTES_PER_SECOND,
        }
      : null,
    ownTelemetry: e.OPAMP_OWN_TELEMETRY_RECEIVER
      ? { topic: e.OPAMP_OWN_TELEMETRY_TOPIC, maxConcurrent: e.OPAMP_OWN_TELEMETRY_REQUESTS_MAX, maxBodyBytes: e.OPAMP_OWN_TELEMETRY_MAX_BODY_BYTES }
      : null,
  };
}
