/**
 * The Nest application as deployed (config from the environment, topics
 * ensured, migrations applied, worker started), against the real Kafka, Redis
 * and PostgreSQL, with its own topics and schema; then a graceful close.
 * Its metrics port is scraped to see what it consumed and which path took it.
 * Agents' own metrics on the telemetry topic are stored as own-metric points
 * in the partitions the app's sweep made (issue 19 item 3).
 */
import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { createKafkaClient, deleteTopics } from '@opamp/bus-kafka';
import { AgentTelemetryCodec, fleet } from '@opamp/contracts';
import { decodeOtlpRequest, encodeOtlpRequest } from '@opamp/protocol';
import { AgentRepository, ingestTesting } from '@opamp/ingest';
import { createPgPool, PgSqlDatabase } from '@opamp/store';
import { collectorOwnMetrics, testInfra, uniqueName, waitFor } from '@opamp/testing';
import { APP_CONFIG, METRICS_SERVER, StatusIngestModule } from '../src/status-ingest.module';
import { loadStatusIngestConfig } from '../src/config/status-ingest.config';
import type { MetricsServer } from '../src/metrics/metrics.server';

/** The value of one sample line of Prometheus text, or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('status-ingest app (real Kafka, Redis, PostgreSQL)', () => {
  it('starts, ingests what the gateway produces, and shuts down cleanly', async () => {
    const infra = testInfra();
    const run = uniqueName('app').replace(/[^a-z0-9]/gi, '_').toLowerCase();
    const admin = createPgPool({ connectionString: infra.databaseUrl, applicationName: 'app-test', max: 1 });
    await admin.query(`CREATE SCHEMA "${run}"`);
    const env = {
      OPAMP_KAFKA_BROKERS: infra.kafkaBrokers.join(','),
      OPAMP_REDIS_URL: infra.redisUrl,
      OPAMP_DATABASE_URL: `${infra.databaseUrl}?options=${encodeURIComponent(`-c search_path=${run}`)}`,
      OPAMP_INGEST_INBOUND_TOPIC: `${run}.inbound`,
      OPAMP_INGEST_EVENTS_TOPIC: `${run}.events`,
      OPAMP_INGEST_GROUP_ID: `${run}.group`,
      OPAMP_INGEST_OWN_TELEMETRY_TOPIC: `${run}.telemetry`,
      OPAMP_INGEST_OWN_TELEMETRY_GROUP_ID: `${run}.telemetry-group`,
      OPAMP_INGEST_OWN_METRICS_GROUP_ID: `${run}.own-metrics-group`,
    };
    const kafka = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: run });
    const moduleRef = await Test.createTestingModule({ imports: [StatusIngestModule] })
      .overrideProvider(APP_CONFIG)
      // Port 0 here is "any free port" (in the environment it means off): runs do not collide.
      .useValue({ ...loadStatusIngestConfig(env), metrics: { host: '127.0.0.1', port: 0 } })
      .compile();
    const producer = kafka.producer();
    try {
      await moduleRef.init();
      const base = `http://127.0.0.1:${moduleRef.get<MetricsServer>(METRICS_SERVER).port}`;
      const health = await waitFor(
        () => fetch(`${base}/healthz`).then((r) => r.status),
        (status) => status === 200,
        { timeoutMs: 30_000, description: 'healthz 200 (consumer joined)' },
      );
      expect(health).toBe(200);
      await producer.connect();
      const agent = new ingestTesting.FakeAgent({ tenantId: run, startMs: Date.now() });
      await producer.send({ topic: env.OPAMP_INGEST_INBOUND_TOPIC, messages: [agent.toKafka(agent.connect()), agent.toKafka(agent.full())] });
      const pool = createPgPool({ connectionString: env.OPAMP_DATABASE_URL, applicationName: 'app-test-read', max: 1 });
      const repo = new AgentRepository();
      const state = await waitFor(
        () => repo.get(new PgSqlDatabase(pool), run, agent.uid),
        (s) => s !== null && s.descriptionReported,
        { timeoutMs: 30_000, description: 'agent row' },
      );
      expect(state!.connected).toBe(true);
      await pool.end();

      // In a later batch than the full report, so the agent's cursor is there: the fast path takes them.
      await producer.send({
        topic: env.OPAMP_INGEST_INBOUND_TOPIC,
        messages: [agent.heartbeat(), agent.heartbeat(), agent.heartbeat()].map((e) => agent.toKafka(e)),
      });
      await producer.send({ topic: env.OPAMP_INGEST_INBOUND_TOPIC, messages: [{ key: Buffer.from('not-a-uid'), value: Buffer.from('x') }] });
      const produced = 6;
      const scrape = await waitFor(
        async () => {
          const res = await fetch(`${base}/metrics`);
          return { contentType: res.headers.get('content-type') ?? '', text: await res.text() };
        },
        ({ text }) => sample(text, 'opamp_ingest_records_total') === produced,
        { timeoutMs: 30_000, description: `opamp_ingest_records_total = ${produced}` },
      );
      expect(scrape.contentType).toContain('text/plain');
      expect(sample(scrape.text, 'opamp_ingest_heartbeats_fast_path_total')).toBe(3);
      expect(sample(scrape.text, 'opamp_ingest_records_full_path_total')).toBe(2);
      expect(sample(scrape.text, 'opamp_ingest_records_poisoned_total')).toBe(1);
      expect(sample(scrape.text, 'opamp_ingest_rows_written_total')).toBeGreaterThan(0);
      expect(sample(scrape.text, 'opamp_ingest_events_published_total')).toBeGreaterThan(0);
      expect(sample(scrape.text, 'opamp_ingest_batch_duration_seconds_count')).toBeGreaterThanOrEqual(3);
      expect(sample(scrape.text, 'opamp_ingest_consumer_joined')).toBe(1);
      expect(sample(scrape.text, 'opamp_ingest_consumer_crashes_total')).toBe(0);
      expect(scrape.text).toContain('process_resident_memory_bytes');
      // Sampled once at start (then every OPAMP_CONSUMER_LAG_SAMPLE_MS): every partition of both groups has a series.
      expect(scrape.text).toMatch(new RegExp(`opamp_ingest_consumer_lag_records\\{group="${env.OPAMP_INGEST_GROUP_ID}",topic="${env.OPAMP_INGEST_INBOUND_TOPIC}",partition="\\d+"\\} \\d+`));
      expect(sample(scrape.text, 'opamp_ingest_db_pool_max_connections')).toBe(loadStatusIngestConfig(env).pgPoolMax);
      expect(scrape.text).toMatch(/opamp_ingest_db_pool_connections\{state="in_use"\} \d+/);
      expect((await fetch(`${base}/nothing`)).status).toBe(404);

      // Own metrics as the gateway's receiver produces them: the RSS gauge is stored at once, the counters from their second reading.
      const otlp = encodeOtlpRequest(decodeOtlpRequest('metrics', Buffer.from(JSON.stringify(collectorOwnMetrics({ points: 3 }))), 'json'));
      const record = AgentTelemetryCodec.encode({ tenantId: run, instanceUid: agent.uid, signal: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS, items: 3, receivedAtMs: Date.now(), otlpRequest: otlp, gatewayId: 'gw' });
      await producer.send({ topic: env.OPAMP_INGEST_OWN_TELEMETRY_TOPIC, messages: [{ key: agent.uid, value: record }] });
      const read = createPgPool({ connectionString: env.OPAMP_DATABASE_URL, applicationName: 'app-test-read', max: 1 });
      try {
        const points = await waitFor(
          () => read.query(`SELECT kind, component, value FROM agent_own_metric_points WHERE tenant_id = $1 AND instance_uid = $2`, [run, agent.uid]).then((r) => r.rows),
          (rows) => rows.length > 0,
          { timeoutMs: 30_000, description: 'own-metric points of the agent' },
        );
        expect(points).toEqual([{ kind: 'process_memory_rss', component: '', value: 100 }]);
        const rollups = await read.query(`SELECT kind, avg, count FROM agent_own_metric_rollups WHERE instance_uid = $1`, [agent.uid]);
        expect(rollups.rows).toEqual([{ kind: 'process_memory_rss', avg: 100, count: 1 }]);
      } finally {
        await read.end();
      }
      const own = await fetch(`${base}/metrics`).then((r) => r.text());
      expect(sample(own, 'opamp_ingest_own_metric_points_stored_total')).toBe(1);
      expect(sample(own, 'opamp_ingest_own_metric_partition_sweeps_total')).toBeGreaterThanOrEqual(1);
    } finally {
      await producer.disconnect();
      await moduleRef.close();
      await deleteTopics(kafka, [env.OPAMP_INGEST_INBOUND_TOPIC, env.OPAMP_INGEST_EVENTS_TOPIC, env.OPAMP_INGEST_OWN_TELEMETRY_TOPIC]).catch(() => undefined);
      await admin.query(`DROP SCHEMA IF EXISTS "${run}" CASCADE`);
      await admin.end();
    }
  });
});
