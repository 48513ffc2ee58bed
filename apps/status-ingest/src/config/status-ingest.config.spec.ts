import { EnvConfigError } from '@opamp/config';
import { loadStatusIngestConfig } from './status-ingest.config';

describe('status-ingest configuration', () => {
  it('defaults to the local infrastructure of infra:up', () => {
    const cfg = loadStatusIngestConfig({});
    expect(cfg.kafkaBrokers).toEqual(['127.0.0.1:19092']);
    expect(cfg.databaseUrl).toBe('postgres://opamp:opamp@127.0.0.1:54320/opamp');
    expect(cfg.redisUrl).toBe('redis://127.0.0.1:63790');
  });

  it('takes overrides and refuses bad values with the variable named', () => {
    expect(loadStatusIngestConfig({ OPAMP_KAFKA_BROKERS: 'k1:9092,k2:9092' }).kafkaBrokers).toEqual(['k1:9092', 'k2:9092']);
    expect(() => loadStatusIngestConfig({ OPAMP_DATABASE_URL: 'mysql://x' })).toThrow(EnvConfigError);
    expect(() => loadStatusIngestConfig({ OPAMP_PG_POOL_MAX: '0' })).toThrow(/OPAMP_PG_POOL_MAX must be >= 1/);
  });
});

describe('status-ingest liveness and topics configuration', () => {
  it('defaults to the shared topics, the group and 3/10 heartbeat intervals of 30 s', () => {
    const cfg = loadStatusIngestConfig({});
    expect(cfg.inboundTopic).toBe('opamp.agent-inbound');
    expect(cfg.eventsTopic).toBe('opamp.agent-events');
    expect(cfg.groupId).toBe('opamp.status-ingest');
    expect(cfg.liveness).toEqual({ heartbeatIntervalMs: 30_000, staleAfterIntervals: 3, offlineAfterIntervals: 10, sweepIntervalMs: 15_000 });
  });

  it('flushes last-seen times every minute by default', () => {
    expect(loadStatusIngestConfig({}).lastSeenFlushMs).toBe(60_000);
    expect(loadStatusIngestConfig({ OPAMP_INGEST_LAST_SEEN_FLUSH_MS: '5000' }).lastSeenFlushMs).toBe(5_000);
    expect(() => loadStatusIngestConfig({ OPAMP_INGEST_LAST_SEEN_FLUSH_MS: '10' })).toThrow(/OPAMP_INGEST_LAST_SEEN_FLUSH_MS/);
  });

  it('refuses an offline threshold below the stale one', () => {
    expect(() =>
      loadStatusIngestConfig({ OPAMP_INGEST_STALE_AFTER_INTERVALS: '5', OPAMP_INGEST_OFFLINE_AFTER_INTERVALS: '2' }),
    ).toThrow(/OFFLINE_AFTER_INTERVALS must be >=/);
  });
});

describe('status-ingest metrics port configuration', () => {
  it('serves metrics on 9464 by default and not at all with port 0', () => {
    expect(loadStatusIngestConfig({}).metrics).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(loadStatusIngestConfig({ OPAMP_INGEST_METRICS_PORT: '0' }).metrics).toBeNull();
    expect(loadStatusIngestConfig({ OPAMP_INGEST_METRICS_PORT: '9100', OPAMP_INGEST_METRICS_HOST: '127.0.0.1' }).metrics).toEqual({
      host: '127.0.0.1',
      port: 9100,
    });
    expect(() => loadStatusIngestConfig({ OPAMP_INGEST_METRICS_PORT: '70000' })).toThrow(/OPAMP_INGEST_METRICS_PORT/);
  });
});

describe("status-ingest agents' own metrics configuration", () => {
  it('keeps points 24 h and rollups 30 days by default, in a group of its own', () => {
    expect(loadStatusIngestConfig({}).ownMetrics).toEqual({
      groupId: 'opamp.own-metrics',
      retention: { pointsMs: 24 * 3_600_000, rollupsMs: 30 * 86_400_000 },
      maxSeriesPerAgent: 200,
      partitionSweepMs: 3_600_000,
      forwardUrl: '',
    });
    expect(loadStatusIngestConfig({ OPAMP_INGEST_OWN_METRICS_POINTS_RETENTION_HOURS: '48', OPAMP_INGEST_OWN_METRICS_ROLLUPS_RETENTION_DAYS: '90' }).ownMetrics.retention).toEqual({
      pointsMs: 48 * 3_600_000,
      rollupsMs: 90 * 86_400_000,
    });
    // Below 2 h the day of the oldest accepted point could be dropped as it is made.
    expect(() => loadStatusIngestConfig({ OPAMP_INGEST_OWN_METRICS_POINTS_RETENTION_HOURS: '1' })).toThrow(/OPAMP_INGEST_OWN_METRICS_POINTS_RETENTION_HOURS/);
  });
});

describe("status-ingest forwarding of agents' own telemetry", () => {
  it('forwards nowhere by default, to an http(s) URL when set', () => {
    expect(loadStatusIngestConfig({ OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL: 'https://otlp.example:4318' }).ownMetrics.forwardUrl).toBe('https://otlp.example:4318');
    expect(() => loadStatusIngestConfig({ OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL: 'otlp.example:4318' })).toThrow(/OPAMP_INGEST_OWN_TELEMETRY_FORWARD_URL/);
  });
});
