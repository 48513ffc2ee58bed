/**
 * status-ingest's Prometheus metrics, on a registry of its own (several
 * workers can live in one test process). The worker keeps plain counters
 * (libs/ingest stays free of prom-client); they are read at scrape time. Only
 * the batch duration is observed as it happens, from the worker's onBatch.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { registerProcessMetrics } from '@opamp/process-runtime';
import {
  OWN_METRIC_PARTITION_COUNTERS,
  OWN_METRIC_STORE_COUNTERS,
  type BatchStats,
  type LastSeenFlushTotals,
  type OwnMetricPartitionTotals,
  type OwnMetricStoreTotals,
  type OwnTelemetryCounterTotals,
  type RetentionTotals,
  type SweepTotals,
} from '@opamp/ingest';

/** What the metrics read: an IngestWorker satisfies it. */
export interface IngestMetricsSource {
  readonly processor: { readonly totals: Readonly<BatchStats> };
  readonly sweeper: { readonly totals: Readonly<SweepTotals> };
  readonly lastSeen: { readonly totals: Readonly<LastSeenFlushTotals> };
  /** The retention sweep (agents disconnected longer than their tenant keeps them). */
  readonly retention?: { readonly totals: Readonly<RetentionTotals> };
  readonly consumerCrashes: number;
  readonly joined: boolean;
}

/** What the own-telemetry metrics read (issue 19): the worker's poisoned records and its counters' totals. */
export interface OwnTelemetryMetricsSource {
  readonly poisoned: number;
  readonly totals: Readonly<OwnTelemetryCounterTotals>;
}

/** What the own-metric metrics read (issue 19 item 3): the store's and the partition sweep's totals. */
export interface OwnMetricsMetricsSource {
  readonly store: Readonly<OwnMetricStoreTotals>;
  readonly partitions: Readonly<OwnMetricPartitionTotals>;
}

const RECORD_COUNTERS: Array<[string, string, (t: Readonly<BatchStats>) => number]> = [
  ['opamp_ingest_records_total', 'Inbound records consumed (every record of every processed batch, poisoned ones included)', (t) => t.records],
  ['opamp_ingest_heartbeats_fast_path_total', 'Records taken by the heartbeat fast path (a Redis compare-and-set, no PostgreSQL)', (t) => t.heartbeats],
  ['opamp_ingest_records_full_path_total', 'Records processed through the full path (PostgreSQL transaction)', (t) => t.records - t.heartbeats - t.poisoned - t.refused],
  ['opamp_ingest_records_poisoned_total', 'Records skipped as undecodable', (t) => t.poisoned],
  ['opamp_ingest_refusals_total', 'Refusals gateways reported (a credential used for an agent it does not speak for, duplicates), written to the audit log', (t) => t.refused],
  ['opamp_ingest_records_ignored_total', 'Records the full path applied without any change (duplicates, replays)', (t) => t.ignored],
  ['opamp_ingest_rows_written_total', 'Agent rows written', (t) => t.rowsWritten],
  ['opamp_ingest_events_published_total', 'AgentEvents published by the inbound path', (t) => t.events],
  ['opamp_ingest_pushes_total', 'Pushes to gateways (after coalescing)', (t) => t.pushes],
];

/** A counter whose value is read from a plain number at scrape time. */
function mirrorCounter(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export class StatusIngestMetrics {
  readonly registry = new Registry();
  private source: IngestMetricsSource | null = null;
  private ownTelemetry: OwnTelemetryMetricsSource | null = null;
  private ownMetrics: OwnMetricsMetricsSource | null = null;
  private readonly batchSeconds = new Histogram({
    name: 'opamp_ingest_batch_duration_seconds',
    help: 'Time to process one partition batch of inbound records (before its offsets commit)',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    // Node's process metrics, the event-loop delay among them (one implementation for every process).
    if (options.defaultMetrics !== false) registerProcessMetrics(this.registry);
    // Zero until a worker is attached: the worker is built after the metrics (it reports batches to them).
    const totals = (): Readonly<BatchStats> | undefined => this.source?.processor.totals;
    for (const [name, help, read] of RECORD_COUNTERS) {
      mirrorCounter(this.registry, name, help, () => {
        const t = totals();
        return t ? read(t) : 0;
      });
    }
    const sweep = (key: keyof SweepTotals) => () => this.source?.sweeper.totals[key] ?? 0;
    mirrorCounter(this.registry, 'opamp_ingest_liveness_sweeps_total', 'Liveness sweep passes run', sweep('passes'));
    mirrorCounter(this.registry, 'opamp_ingest_liveness_sweeps_skipped_total', 'Liveness sweep passes left to another replica (lock held)', sweep('skipped'));
    mirrorCounter(this.registry, 'opamp_ingest_liveness_sweep_errors_total', 'Liveness sweep passes that failed', sweep('errors'));
    const flush = (key: keyof LastSeenFlushTotals) => () => this.source?.lastSeen.totals[key] ?? 0;
    mirrorCounter(this.registry, 'opamp_ingest_last_seen_flushes_total', 'Last-seen flushes run (heartbeat times written to the agent rows)', flush('flushes'));
    mirrorCounter(this.registry, 'opamp_ingest_last_seen_rows_written_total', 'Agent rows whose last_seen_at (and plain-HTTP owner) a flush advanced', flush('rowsWritten'));
    mirrorCounter(this.registry, 'opamp_ingest_last_seen_flush_errors_total', 'Last-seen flushes that failed (their times are kept for the next one)', flush('errors'));
    const retention = (key: keyof RetentionTotals) => () => this.source?.retention?.totals[key] ?? 0;
    mirrorCounter(this.registry, 'opamp_ingest_agents_removed_total', 'Agents removed by the retention sweep (disconnected longer than the tenant keeps them)', retention('removed'));
    mirrorCounter(this.registry, 'opamp_ingest_retention_sweeps_total', 'Retention sweep passes run', retention('passes'));
    mirrorCounter(this.registry, 'opamp_ingest_retention_sweep_errors_total', 'Retention sweep passes that failed', retention('errors'));
    mirrorCounter(this.registry, 'opamp_ingest_retention_notices_lost_total', 'Agents removed by retention whose removal the agent-change feed was not told of (watches show them until relisted)', retention('noticesLost'));
    const own = () => this.ownTelemetry;
    mirrorCounter(this.registry, 'opamp_ingest_own_telemetry_records_total', "Agents' own-telemetry records counted (opamp.agent-telemetry)", () => own()?.totals.records ?? 0);
    mirrorCounter(this.registry, 'opamp_ingest_own_telemetry_unknown_agents_total', 'Own-telemetry tallies of agents that no longer exist (dropped)', () => own()?.totals.unknownAgents ?? 0);
    mirrorCounter(this.registry, 'opamp_ingest_own_telemetry_poisoned_total', 'Own-telemetry records skipped as undecodable', () => own()?.poisoned ?? 0);
    for (const [name, help, read] of OWN_METRIC_STORE_COUNTERS) {
      mirrorCounter(this.registry, `opamp_ingest_${name}`, help, () => (this.ownMetrics ? read(this.ownMetrics.store) : 0));
    }
    for (const [name, help, read] of OWN_METRIC_PARTITION_COUNTERS) {
      mirrorCounter(this.registry, `opamp_ingest_${name}`, help, () => (this.ownMetrics ? read(this.ownMetrics.partitions) : 0));
    }
    const source = () => this.source;
    new Counter({
      name: 'opamp_ingest_liveness_marked_total',
      help: 'Agents the liveness sweep marked, by state (stale, offline)',
      labelNames: ['state'] as const,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc({ state: 'stale' }, source()?.sweeper.totals.stale ?? 0);
        this.inc({ state: 'offline' }, source()?.sweeper.totals.offline ?? 0);
      },
    });
    mirrorCounter(
      this.registry,
      'opamp_ingest_consumer_crashes_total',
      'Inbound consumer crashes kafkajs did not recover from (each rebuilds the consumer; uncommitted records replay)',
      () => this.source?.consumerCrashes ?? 0,
    );
    new Gauge({
      name: 'opamp_ingest_consumer_joined',
      help: '1 while the inbound consumer is in its group',
      registers: [this.registry],
      collect() {
        this.set(source()?.joined ? 1 : 0);
      },
    });
  }

  /** Reads the counters of this worker from now on. */
  watch(source: IngestMetricsSource): void {
    this.source = source;
  }

  /** Reads the own-telemetry worker's counters from now on. */
  watchOwnTelemetry(source: OwnTelemetryMetricsSource): void {
    this.ownTelemetry = source;
  }

  /** Reads the own-metric store's and partition sweep's counters from now on. */
  watchOwnMetrics(source: OwnMetricsMetricsSource): void {
    this.ownMetrics = source;
  }

  observeBatch(durationMs: number): void {
    this.batchSeconds.observe(durationMs / 1_000);
  }
}
