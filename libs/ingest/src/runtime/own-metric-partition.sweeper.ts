/**
 * The own-metric partition sweep (issue 19 item 3): at start and then
 * periodically, creates the daily partitions of agent_own_metric_points and
 * _rollups from the oldest time the store accepts through two days ahead,
 * and drops those past each table's retention. Replicas take turns through a
 * transaction-scoped advisory lock (concurrent CREATE ... PARTITION OF of one
 * name would fail one of them); a pass that finds the lock held is skipped.
 */
import type { SqlDatabase } from '@opamp/store';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import { OWN_METRIC_ROLLUP_MS } from '../core/own-metric-series';
import { OwnMetricRepository } from '../store/own-metric.repository';

const SWEEP_LOCK = 'opamp.own-metric-partitions';
const AHEAD_DAYS = 2;

export interface OwnMetricRetention {
  pointsMs: number;
  rollupsMs: number;
}

export interface OwnMetricPartitionTotals {
  passes: number;
  skipped: number;
  errors: number;
  dropped: number;
}

/** The sweep's totals as Prometheus counters (name after the app's prefix, help, reading). */
export const OWN_METRIC_PARTITION_COUNTERS: readonly [string, string, (t: Readonly<OwnMetricPartitionTotals>) => number][] = [
  ['own_metric_partition_sweeps_total', 'Own-metric partition sweeps run (partitions created ahead, dropped past retention)', (t) => t.passes],
  ['own_metric_partition_sweeps_skipped_total', 'Own-metric partition sweeps left to another replica (lock held)', (t) => t.skipped],
  ['own_metric_partition_sweep_errors_total', 'Own-metric partition sweeps that failed', (t) => t.errors],
  ['own_metric_partitions_dropped_total', 'Own-metric daily partitions dropped past retention', (t) => t.dropped],
];

export interface OwnMetricPartitionSweeperOptions {
  retention: OwnMetricRetention;
  intervalMs?: number;
  /** How far back the store accepts points (its clock skew): those days' partitions are made too. */
  clockSkewMs?: number;
  clock?: () => number;
}

export class OwnMetricPartitionSweeper {
  readonly totals: OwnMetricPartitionTotals = { passes: 0, skipped: 0, errors: 0, dropped: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  private readonly clock: () => number;

  constructor(
    private readonly db: SqlDatabase,
    private readonly options: OwnMetricPartitionSweeperOptions,
  ) {
    this.clock = options.clock ?? Date.now;
  }

  /** One pass now (awaited before consuming starts), then every interval. */
  async start(onError: (err: unknown) => void = () => undefined): Promise<void> {
    if (this.timer) return;
    await this.sweepOnce();
    this.timer = setInterval(() => {
      this.running = this.running.then(() =>
        this.sweepOnce().catch((err: unknown) => {
          this.totals.errors++;
          onError(err);
        }),
      );
    }, this.options.intervalMs ?? INGEST_DEFAULTS.ownMetricPartitionSweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Returns the dropped partitions' names, or null when another replica holds the lock. */
  async sweepOnce(): Promise<string[] | null> {
    const behindMs = (this.options.clockSkewMs ?? INGEST_DEFAULTS.ownMetricClockSkewMs) + OWN_METRIC_ROLLUP_MS;
    const dropped = await this.db.transaction(async (tx) => {
      const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [SWEEP_LOCK]);
      if (!lock.rows[0]?.ok) return null;
      return new OwnMetricRepository(tx).maintainPartitions(this.clock(), this.options.retention, AHEAD_DAYS, behindMs);
    });
    this.totals.passes++;
    if (dropped === null) this.totals.skipped++;
    else this.totals.dropped += dropped.length;
    return dropped;
  }
}
