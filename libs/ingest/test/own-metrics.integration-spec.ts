/**
 * Own metrics in PostgreSQL (issue 19 item 3, real database): points and
 * rollups are written one statement per batch into daily partitions that the
 * sweep creates ahead, a rollup bucket met again is merged, and partitions
 * past retention are dropped while the recent ones stay. Points stamped far
 * from the server's clock are dropped and counted (no partition may hold
 * them); the periodic sweep makes the partitions of the oldest accepted time
 * too, and one replica at a time runs it.
 */
import { deleteTopics, ensureTopics, RecordProducer } from '@opamp/bus-kafka';
import { AgentTelemetryCodec, fleet } from '@opamp/contracts';
import { newInstanceUidV7, opentelemetry } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { OwnMetricPartitionSweeper, OwnMetricRepository, OwnMetricStore, OwnTelemetryWorker, rollupOwnPoints } from '../src';
import { IngestHarness } from './ingest-harness';

const DAY = 86_400_000;

describe('own metrics store (real PostgreSQL)', () => {
  const h = new IngestHarness();
  let repo: OwnMetricRepository;

  beforeAll(async () => {
    await h.start([`${h.runId}-gw`]);
    repo = new OwnMetricRepository(h.db);
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    await deleteTopics(h.kafka, [topic]).catch(() => undefined);
    await h.stop();
  });
  const topic = `${h.runId}.own-metrics`;
  let worker: OwnTelemetryWorker | undefined;

  const partitions = async (parent: string) =>
    (
      // Through regclass: the parent of this run's schema only (other runs share the database).
      await h.pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass ORDER BY 1`, [parent])
    ).rows.map((r) => r.relname as string);

  it('writes points and merged rollups into partitions, and the sweep drops those past retention', async () => {
    const now = Date.UTC(2026, 11, 2, 12, 0, 0);
    const retention = { pointsMs: DAY, rollupsMs: 30 * DAY };
    // Partitions as a sweep three days ago left them.
    await repo.maintainPartitions(now - 3 * DAY, retention);
    expect(await partitions('agent_own_metric_points')).toEqual(['agent_own_metric_points_20261129', 'agent_own_metric_points_20261130', 'agent_own_metric_points_20261201']);

    await repo.maintainPartitions(now, retention);
    // Days 29 and 30 Nov are wholly older than 24 h: dropped; 1 Dec (partly within) and today's plus two ahead kept.
    expect(await partitions('agent_own_metric_points')).toEqual([
      'agent_own_metric_points_20261201',
      'agent_own_metric_points_20261202',
      'agent_own_metric_points_20261203',
      'agent_own_metric_points_20261204',
    ]);
    expect(await partitions('agent_own_metric_rollups')).toHaveLength(6);

    const uid = newInstanceUidV7();
    const samples = [0, 10_000, 20_000].map((o, i) => ({ kind: 'exporter_send_failed' as const, component: 'otlphttp', signal: 'spans' as const, timeMs: now + o, value: i * 2 }));
    const queries: string[] = [];
    const counting = { query: (sql: string, params?: unknown[]) => (queries.push(sql), h.db.query(sql, params)) };
    const batchRepo = new OwnMetricRepository(counting as unknown as typeof h.db);
    await batchRepo.insertPoints(samples.map((s) => ({ ...s, tenantId: h.tenant, instanceUid: uid })));
    expect(queries).toHaveLength(1);
    const { rows } = await h.pool.query(`SELECT value, tableoid::regclass::text AS part FROM agent_own_metric_points WHERE instance_uid = $1 ORDER BY at`, [uid]);
    expect(rows).toEqual([0, 2, 4].map((value) => ({ value, part: 'agent_own_metric_points_20261202' })));

    const rollups = (values: number[]) => rollupOwnPoints(values.map((value, i) => ({ ...samples[0], timeMs: now + i * 10_000, value }))).map((r) => ({ ...r, tenantId: h.tenant, instanceUid: uid }));
    await repo.upsertRollups(rollups([0, 2, 4]));
    await repo.upsertRollups(rollups([10]));
    const r = await h.pool.query(`SELECT avg, max, count FROM agent_own_metric_rollups WHERE instance_uid = $1`, [uid]);
    expect(r.rows).toEqual([{ avg: 4, max: 10, count: 4 }]);
  });

  it('keeps records from Kafka as rates and gauges on the record\'s agent, counting unknown metrics and series past the cap', async () => {
    await ensureTopics(h.kafka, [{ name: topic, partitions: 1, retentionMs: 3_600_000, valueType: 'AgentTelemetry' }]);
    const store = new OwnMetricStore(h.db, { maxSeriesPerAgent: 3 });
    worker = new OwnTelemetryWorker({ kafka: h.kafka, topic, groupId: `${h.runId}.own-metrics`, consumer: store });
    await worker.start();
    const agent = newInstanceUidV7();
    const other = newInstanceUidV7();
    await store.repository.maintainPartitions(Date.now(), { pointsMs: DAY, rollupsMs: 30 * DAY });
    // Both readings in one 5-minute bucket.
    const t0 = Math.floor((Date.now() - 600_000) / 300_000) * 300_000 + 1_000;
    const point = (atMs: number, value: number, component?: [string, string]) => ({
      timeUnixNano: atMs * 1_000_000,
      asDouble: value,
      attributes: component ? [{ key: component[0], value: { stringValue: component[1] } }] : [],
    });
    const otlp = (atMs: number, sent: number) =>
      Buffer.from(
        opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode({
          resourceMetrics: [
            {
              // Claims another agent: the record's uid (the credential's) is what counts.
              resource: { attributes: [{ key: 'service.instance.id', value: { stringValue: other.toString('hex') } }] },
              scopeMetrics: [
                {
                  metrics: [
                    { name: 'otelcol_exporter_sent_spans', sum: { dataPoints: [point(atMs, sent, ['exporter', 'otlphttp'])] } },
                    { name: 'otelcol.exporter.queue.size', gauge: { dataPoints: [point(atMs, 7, ['exporter', 'otlphttp'])] } },
                    { name: 'otelcol_process_uptime', gauge: { dataPoints: [point(atMs, 1)] } },
                    { name: 'otelcol_receiver_accepted_spans_total', sum: { dataPoints: [point(atMs, 1, ['receiver', 'a']), point(atMs, 1, ['receiver', 'b'])] } },
                  ],
                },
              ],
            },
          ],
        }).finish(),
      );
    const producer = new RecordProducer(h.kafka);
    await producer.connect();
    for (const [i, sent] of [100, 150].entries()) {
      const at = t0 + i * 10_000;
      await producer.send(topic, {
        key: agent,
        value: AgentTelemetryCodec.encode({ tenantId: h.tenant, instanceUid: agent, signal: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS, items: 4, receivedAtMs: at, otlpRequest: otlp(at, sent), gatewayId: 'gw' }),
      });
    }
    await producer.disconnect();
    const rows = await waitFor(
      async () => (await h.pool.query(`SELECT kind, component, value FROM agent_own_metric_points WHERE tenant_id = $1 AND instance_uid = $2 ORDER BY at, kind, component`, [h.tenant, agent])).rows,
      (r) => r.length === 4,
      { description: 'the points of both records' },
    );
    // The counter's first reading gives no rate; then (150 - 100) / 10 s. Receiver "a" is 0/s, "b" is past the cap of 3 series.
    expect(rows).toEqual([
      { kind: 'exporter_queue_size', component: 'otlphttp', value: 7 },
      { kind: 'exporter_queue_size', component: 'otlphttp', value: 7 },
      { kind: 'exporter_sent', component: 'otlphttp', value: 5 },
      { kind: 'receiver_accepted', component: 'a', value: 0 },
    ]);
    expect(rows.map((r) => r.component)).not.toContain('b');
    expect(store.totals).toMatchObject({ unknownMetrics: 2, overCapPoints: 2, undecodable: 0 });
    const theirs = await h.pool.query(`SELECT count(*)::int AS n FROM agent_own_metric_points WHERE instance_uid = $1`, [other]);
    expect(theirs.rows[0].n).toBe(0);
    const rollup = await h.pool.query(`SELECT kind, avg, max, count FROM agent_own_metric_rollups WHERE instance_uid = $1 AND kind = 'exporter_queue_size'`, [agent]);
    expect(rollup.rows).toEqual([{ kind: 'exporter_queue_size', avg: 7, max: 7, count: 2 }]);
  }, 60_000);

  it('drops points stamped beyond the clock skew, and the sweep makes the day of the oldest accepted point, one replica at a time', async () => {
    const now = Date.now();
    const store = new OwnMetricStore(h.db, { clockSkewMs: 3_600_000, clock: () => now });
    const agent = newInstanceUidV7();
    const gauge = (atMs: number) => ({ name: 'otelcol_process_memory_rss', gauge: { dataPoints: [{ timeUnixNano: atMs * 1_000_000, asDouble: 5 }] } });
    const otlp = Buffer.from(
      opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest.encode({
        resourceMetrics: [{ scopeMetrics: [{ metrics: [gauge(now - 2 * 3_600_000), gauge(now - 60_000), gauge(now + 30 * DAY)] }] }],
      }).finish(),
    );
    await store.consume([{ tenantId: h.tenant, instanceUid: agent, signal: fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS, otlpRequest: otlp }]);
    expect(store.totals).toMatchObject({ points: 1, outOfWindowPoints: 2 });
    const kept = await h.pool.query(`SELECT count(*)::int AS n FROM agent_own_metric_points WHERE instance_uid = $1`, [agent]);
    expect(kept.rows[0].n).toBe(1);

    // Half an hour past midnight, an hour of skew reaches back into yesterday: its partitions are made too.
    const sweeper = new OwnMetricPartitionSweeper(h.db, { retention: { pointsMs: DAY, rollupsMs: 30 * DAY }, clockSkewMs: 3_600_000, clock: () => Date.UTC(2030, 0, 1, 0, 30) });
    await h.db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', ['opamp.own-metric-partitions']);
      // Another replica holds the sweep: this one skips the pass.
      expect(await sweeper.sweepOnce()).toBeNull();
    });
    expect(sweeper.totals).toMatchObject({ passes: 1, skipped: 1 });
    const dropped = await sweeper.sweepOnce();
    expect(dropped).toContain('agent_own_metric_points_20261202');
    expect(await partitions('agent_own_metric_points')).toEqual([
      'agent_own_metric_points_20291231',
      'agent_own_metric_points_20300101',
      'agent_own_metric_points_20300102',
      'agent_own_metric_points_20300103',
    ]);
    expect(sweeper.totals).toMatchObject({ passes: 2, skipped: 1, dropped: dropped!.length });
  });
});
