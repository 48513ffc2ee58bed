import type { BatchStats, LastSeenFlushTotals, RetentionTotals, SweepTotals } from '@opamp/ingest';
import { StatusIngestMetrics, type IngestMetricsSource } from './status-ingest.metrics';

/** A worker's counters, writable by the test. */
interface FakeWorker extends IngestMetricsSource {
  processor: { totals: BatchStats };
  sweeper: { totals: SweepTotals };
  lastSeen: { totals: LastSeenFlushTotals };
  retention: { totals: RetentionTotals };
  consumerCrashes: number;
  joined: boolean;
}

function source(): FakeWorker {
  return {
    processor: { totals: { records: 0, heartbeats: 0, poisoned: 0, ignored: 0, refused: 0, rowsWritten: 0, events: 0, pushes: 0 } },
    sweeper: { totals: { passes: 0, skipped: 0, errors: 0, stale: 0, offline: 0 } },
    lastSeen: { totals: { flushes: 0, rowsWritten: 0, errors: 0 } },
    retention: { totals: { passes: 0, removed: 0, errors: 0, noticesLost: 0 } },
    consumerCrashes: 0,
    joined: false,
  };
}

/** The value of one sample line (`name{labels} value`), or undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('status-ingest metrics', () => {
  it('renders zeros before a worker is attached', async () => {
    const metrics = new StatusIngestMetrics({ defaultMetrics: false });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'opamp_ingest_records_total')).toBe(0);
    expect(sample(text, 'opamp_ingest_consumer_joined')).toBe(0);
  });

  it('renders the worker counters as they are at scrape time', async () => {
    const metrics = new StatusIngestMetrics({ defaultMetrics: false });
    const src = source();
    metrics.watch(src);
    Object.assign(src.processor.totals, { records: 10, heartbeats: 6, poisoned: 1, ignored: 1, rowsWritten: 2, events: 2, pushes: 1 });
    Object.assign(src.sweeper.totals, { passes: 4, skipped: 1, errors: 1, stale: 3, offline: 2 });
    Object.assign(src.lastSeen.totals, { flushes: 7, rowsWritten: 1200, errors: 1 });
    Object.assign(src.retention.totals, { passes: 2, removed: 7, errors: 1, noticesLost: 3 });
    src.consumerCrashes = 1;
    src.joined = true;
    metrics.observeBatch(30);
    metrics.observeBatch(2_000);

    let text = await metrics.registry.metrics();
    expect(sample(text, 'opamp_ingest_records_total')).toBe(10);
    expect(sample(text, 'opamp_ingest_heartbeats_fast_path_total')).toBe(6);
    expect(sample(text, 'opamp_ingest_records_full_path_total')).toBe(3);
    expect(sample(text, 'opamp_ingest_records_poisoned_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_agents_removed_total')).toBe(7);
    expect(sample(text, 'opamp_ingest_retention_sweeps_total')).toBe(2);
    expect(sample(text, 'opamp_ingest_retention_sweep_errors_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_retention_notices_lost_total')).toBe(3);
    expect(sample(text, 'opamp_ingest_records_ignored_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_rows_written_total')).toBe(2);
    expect(sample(text, 'opamp_ingest_events_published_total')).toBe(2);
    expect(sample(text, 'opamp_ingest_pushes_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_liveness_sweeps_total')).toBe(4);
    expect(sample(text, 'opamp_ingest_liveness_sweeps_skipped_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_liveness_sweep_errors_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_liveness_marked_total{state="stale"}')).toBe(3);
    expect(sample(text, 'opamp_ingest_liveness_marked_total{state="offline"}')).toBe(2);
    expect(sample(text, 'opamp_ingest_last_seen_flushes_total')).toBe(7);
    expect(sample(text, 'opamp_ingest_last_seen_rows_written_total')).toBe(1200);
    expect(sample(text, 'opamp_ingest_last_seen_flush_errors_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_consumer_crashes_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_consumer_joined')).toBe(1);
    expect(sample(text, 'opamp_ingest_batch_duration_seconds_count')).toBe(2);
    expect(sample(text, 'opamp_ingest_batch_duration_seconds_bucket{le="0.05"}')).toBe(1);
    expect(sample(text, 'opamp_ingest_batch_duration_seconds_sum')).toBeCloseTo(2.03);

    // Counters follow the worker's totals on the next scrape.
    src.processor.totals.records += 5;
    src.processor.totals.heartbeats += 5;
    text = await metrics.registry.metrics();
    expect(sample(text, 'opamp_ingest_records_total')).toBe(15);
    expect(sample(text, 'opamp_ingest_heartbeats_fast_path_total')).toBe(11);
    expect(sample(text, 'opamp_ingest_records_full_path_total')).toBe(3);
  });

  it('includes the Node process metrics by default', async () => {
    const text = await new StatusIngestMetrics().registry.metrics();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
  });

  it("renders the own-telemetry worker's counters (issue 19)", async () => {
    const metrics = new StatusIngestMetrics({ defaultMetrics: false });
    const own = { poisoned: 0, totals: { records: 0, unknownAgents: 0 } };
    metrics.watchOwnTelemetry(own);
    Object.assign(own, { poisoned: 2 });
    Object.assign(own.totals, { records: 40, unknownAgents: 3 });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'opamp_ingest_own_telemetry_records_total')).toBe(40);
    expect(sample(text, 'opamp_ingest_own_telemetry_unknown_agents_total')).toBe(3);
    expect(sample(text, 'opamp_ingest_own_telemetry_poisoned_total')).toBe(2);
  });
});

describe("status-ingest agents' own-metric metrics", () => {
  it('renders the own-metric store and partition sweep totals as opamp_ingest_own_metric_* counters', async () => {
    const metrics = new StatusIngestMetrics({ defaultMetrics: false });
    expect(sample(await metrics.registry.metrics(), 'opamp_ingest_own_metric_points_stored_total')).toBe(0);
    const store = { points: 40, unknownMetrics: 3, overCapPoints: 2, outOfWindowPoints: 1, undecodable: 4 };
    const partitions = { passes: 5, skipped: 1, errors: 1, dropped: 2 };
    metrics.watchOwnMetrics({ store, partitions });
    const text = await metrics.registry.metrics();
    expect(sample(text, 'opamp_ingest_own_metric_points_stored_total')).toBe(40);
    expect(sample(text, 'opamp_ingest_own_metric_unknown_metrics_total')).toBe(3);
    expect(sample(text, 'opamp_ingest_own_metric_points_over_series_cap_total')).toBe(2);
    expect(sample(text, 'opamp_ingest_own_metric_points_out_of_window_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_own_metric_records_refused_total')).toBe(4);
    expect(sample(text, 'opamp_ingest_own_metric_partition_sweeps_total')).toBe(5);
    expect(sample(text, 'opamp_ingest_own_metric_partition_sweeps_skipped_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_own_metric_partition_sweep_errors_total')).toBe(1);
    expect(sample(text, 'opamp_ingest_own_metric_partitions_dropped_total')).toBe(2);
  });
});
