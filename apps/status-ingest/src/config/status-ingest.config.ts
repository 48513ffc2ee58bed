/** The only place status-ingest reads its environment. */
import { ConsumerGroups, KafkaTopics } from '@opamp/contracts';
import { EnvConfigError, int, tracingEnv, tracingSettings, type TracingConfig, kafkaSecuritySettings, type KafkaSecuritySettings, readEnv, str, workerBackendEnv } from '@opamp/config';
import { INGEST_DEFAULTS } from '@opamp/ingest';

export const statusIngestEnv = {
  ...workerBackendEnv,
  ...tracingEnv,
  OPAMP_INGEST_CLIENT_ID: str({ default: 'status-ingest' }),
  OPAMP_INGEST_PARTITION_CONCURRENCY: int({ default: 4, min: 1, max: 64 }),
  OPAMP_INGEST_INBOUND_TOPIC: str({ default: KafkaTopics.agentInbound.name }),
  OPAMP_INGEST_EVENTS_TOPIC: str({ default: KafkaTopics.agentEvents.name }),
  OPAMP_INGEST_GROUP_ID: str({ default: ConsumerGroups.statusIngest }),
  /** Agents' own telemetry the gateways' OTLP receivers accepted (issue 19), and the group that counts it. */
  OPAMP_INGEST_OWN_TELEMETRY_TOPIC: str({ default: KafkaTopics.agentTelemetry.name }),
  OPAMP_INGEST_OWN_TELEMETRY_GROUP_ID: str({ default: ConsumerGroups.ownTelemetry }),
  /** The group that stores agents' own metrics from the same topic (issue 19 item 3), and how long they are kept. */
  OPAMP_INGEST_OWN_METRICS_GROUP_ID: str({ default: ConsumerGroups.ownMetrics }),
  OPAMP_INGEST_OWN_METRICS_POINTS_RETENTION_HOURS: int({ default: INGEST_DEFAULTS.ownMetricPointsRetentionHours, min: 2, max: 24 * 366 }),
  OPAMP_INGEST_OWN_METRICS_ROLLUPS_RETENTION_DAYS: int({ default: INGEST_DEFAULTS.ownMetricRollupsRetentionDays, min: 1, max: 3_660 }),
  /** Own-metric series kept per agent; points of further series are dropped and counted. */
  OPAMP_INGEST_OWN_METRICS_MAX_SERIES_PER_AGENT: int({ default: INGEST_DEFAULTS.maxOwnMetricSeriesPerAgent, min: 1, max: 100_000 }),
  /** An external OTLP/HTTP endpoint (base URL) agents' own telemetry is also forwarded to, unchanged; '' (default): none. */
  OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL: str({ default: '' }),
  OPAMP_INGEST_OWN_METRICS_PARTITION_SWEEP_MS: int({ default: INGEST_DEFAULTS.ownMetricPartitionSweepMs, min: 1_000, max: 86_400_000 }),
  /** The heartbeat interval agents use (the OpAMP default is 30 s). */
  OPAMP_INGEST_HEARTBEAT_INTERVAL_S: int({ default: 30, min: 1, max: 86_400 }),
  /** Silent for this many intervals: stale. */
  OPAMP_INGEST_STALE_AFTER_INTERVALS: int({ default: 3, min: 1, max: 1_000 }),
  /** Silent for this many intervals: offline. */
  OPAMP_INGEST_OFFLINE_AFTER_INTERVALS: int({ default: 10, min: 1, max: 10_000 }),
  OPAMP_INGEST_SWEEP_INTERVAL_MS: int({ default: 15_000, min: 100, max: 3_600_000 }),
  /** How often last-seen times of heartbeats are written to the agent rows (the bound of last_seen's lag). */
  OPAMP_INGEST_LAST_SEEN_FLUSH_MS: int({ default: INGEST_DEFAULTS.lastSeenFlushMs, min: 100, max: 3_600_000 }),
  /** HTTP port of GET /metrics and GET /healthz; 0 turns it off. */
  OPAMP_INGEST_METRICS_PORT: int({ default: 9464, min: 0, max: 65_535 }),
  OPAMP_INGEST_METRICS_HOST: str({ default: '0.0.0.0' }),
};

export interface StatusIngestConfig {
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
  inboundTopic: string;
  eventsTopic: string;
  groupId: string;
  ownTelemetry: { topic: string; groupId: string };
  /** Agents' own metrics (issue 19 item 3): their consumer group on ownTelemetry.topic, retention, series cap, partition sweep. */
  ownMetrics: { groupId: string; retention: { pointsMs: number; rollupsMs: number }; maxSeriesPerAgent: number; partitionSweepMs: number; forwardUrl: string };
  lastSeenFlushMs: number;
  /** null: no metrics / health port. */
  metrics: { host: string; port: number } | null;
  liveness: {
    heartbeatIntervalMs: number;
    staleAfterIntervals: number;
    offlineAfterIntervals: number;
    sweepIntervalMs: number;
  };
}

export function loadStatusIngestConfig(env: Record<string, string | undefined> = process.env): StatusIngestConfig {
  const e = readEnv(statusIngestEnv, env);
  if (e.OPAMP_INGEST_OFFLINE_AFTER_INTERVALS < e.OPAMP_INGEST_STALE_AFTER_INTERVALS) {
    throw new EnvConfigError(['OPAMP_INGEST_OFFLINE_AFTER_INTERVALS must be >= OPAMP_INGEST_STALE_AFTER_INTERVALS']);
  }
  if (e.OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL && !/^https?:\/\/[^\s]+$/.test(e.OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL)) {
    throw new EnvConfigError(['OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL must be an http(s):// URL']);
  }
  return {
    kafkaBrokers: e.OPAMP_KAFKA_BROKERS,
    kafkaSecurity: kafkaSecuritySettings(e),
    redisUrl: e.OPAMP_REDIS_URL,
    databaseUrl: e.OPAMP_DATABASE_URL,
    clientId: e.OPAMP_INGEST_CLIENT_ID,
    tracing: tracingSettings(e),
    partitionConcurrency: e.OPAMP_INGEST_PARTITION_CONCURRENCY,
    pgPoolMax: e.OPAMP_PG_POOL_MAX,
    consumerLagSampleMs: e.OPAMP_CONSUMER_LAG_SAMPLE_MS,
    inboundTopic: e.OPAMP_INGEST_INBOUND_TOPIC,
    eventsTopic: e.OPAMP_INGEST_EVENTS_TOPIC,
    groupId: e.OPAMP_INGEST_GROUP_ID,
    ownTelemetry: { topic: e.OPAMP_INGEST_OWN_TELEMETRY_TOPIC, groupId: e.OPAMP_INGEST_OWN_TELEMETRY_GROUP_ID },
    ownMetrics: {
      groupId: e.OPAMP_INGEST_OWN_METRICS_GROUP_ID,
      retention: { pointsMs: e.OPAMP_INGEST_OWN_METRICS_POINTS_RETENTION_HOURS * 3_600_000, rollupsMs: e.OPAMP_INGEST_OWN_METRICS_ROLLUPS_RETENTION_DAYS * 86_400_000 },
      maxSeriesPerAgent: e.OPAMP_INGEST_OWN_METRICS_MAX_SERIES_PER_AGENT,
      partitionSweepMs: e.OPAMP_INGEST_OWN_METRICS_PARTITION_SWEEP_MS,
      forwardUrl: e.OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL,
    },
    lastSeenFlushMs: e.OPAMP_INGEST_LAST_SEEN_FLUSH_MS,
    metrics: e.OPAMP_INGEST_METRICS_PORT === 0 ? null : { host: e.OPAMP_INGEST_METRICS_HOST, port: e.OPAMP_INGEST_METRICS_PORT },
    liveness: {
      heartbeatIntervalMs: e.OPAMP_INGEST_HEARTBEAT_INTERVAL_S * 1_000,
      staleAfterIntervals: e.OPAMP_INGEST_STALE_AFTER_INTERVALS,
      offlineAfterIntervals: e.OPAMP_INGEST_OFFLINE_AFTER_INTERVALS,
      sweepIntervalMs: e.OPAMP_INGEST_SWEEP_INTERVAL_MS,
    },
  };
}
