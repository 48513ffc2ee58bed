/**
 * The store of agents' own metrics (issue 19 item 3): an AgentTelemetryConsumer
 * that reads the OTLP metrics of each record (already bound to its agent by
 * the gateway), keeps the kinds of core/own-metric-series.ts, turns counters
 * into rates against the agent's previous reading, and writes a batch's points
 * and 5-minute rollups in one statement each. Per agent it remembers its
 * series (for the cap) and last counter readings, in memory: after a restart
 * the first reading of each counter gives no rate, the next one does. Points
 * stamped far from the server's clock are dropped and counted (no partition
 * may hold them: one such insert would fail, and replay, the whole batch).
 */
import { decodeOtlpRequest, OtlpRequestError } from '@opamp/protocol';
import { fleet } from '@opamp/contracts';
import type { SqlExecutor } from '@opamp/store';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import { counterRate, extractOwnMetrics, OWN_METRIC_COUNTERS, ownSeriesId, rollupOwnPoints, type OtlpMetricsLike } from '../core/own-metric-series';
import { OwnMetricRepository, type OwnMetricPoint, type OwnMetricRollupRow } from '../store/own-metric.repository';
import type { AgentTelemetryConsumer } from './own-telemetry.consumer';

export interface OwnMetricStoreTotals {
  points: number;
  /** Metrics whose names are not kept (status-ingest exports it as a counter). */
  unknownMetrics: number;
  /** Points of series beyond an agent's cap. */
  overCapPoints: number;
  /** Points stamped further than the clock skew from now. */
  outOfWindowPoints: number;
  /** Records refused: OTLP payload that did not decode. */
  undecodable: number;
}

/** The store's totals as Prometheus counters (name after the app's prefix, help, reading); the apps register them. */
export const OWN_METRIC_STORE_COUNTERS: readonly [string, string, (t: Readonly<OwnMetricStoreTotals>) => number][] = [
  ['own_metric_points_stored_total', "Agents' own-metric points stored (10 s points; counters as rates)", (t) => t.points],
  ['own_metric_unknown_metrics_total', "Agents' own metrics dropped as not kept (names outside the Collector's internal metrics this server keeps)", (t) => t.unknownMetrics],
  ['own_metric_points_over_series_cap_total', "Agents' own-metric points dropped: their series is beyond the agent's series cap", (t) => t.overCapPoints],
  ['own_metric_points_out_of_window_total', "Agents' own-metric points dropped: stamped further from the server's clock than the allowed skew", (t) => t.outOfWindowPoints],
  ['own_metric_records_refused_total', "Agents' own-metric records refused (OTLP that did not decode)", (t) => t.undecodable],
];

export interface OwnMetricStoreOptions {
  maxSeriesPerAgent?: number;
  clockSkewMs?: number;
  clock?: () => number;
}

interface AgentMemory {
  series: Set<string>;
  lastCounter: Map<string, { timeMs: number; value: number }>;
}

export class OwnMetricStore implements AgentTelemetryConsumer {
  readonly totals: OwnMetricStoreTotals = { points: 0, unknownMetrics: 0, overCapPoints: 0, outOfWindowPoints: 0, undecodable: 0 };
  private readonly repo: OwnMetricRepository;
  private readonly agents = new Map<string, AgentMemory>();
  private readonly maxSeriesPerAgent: number;
  private readonly clockSkewMs: number;
  private readonly clock: () => number;

  constructor(db: SqlExecutor, options: OwnMetricStoreOptions = {}) {
    this.repo = new OwnMetricRepository(db);
    this.maxSeriesPerAgent = options.maxSeriesPerAgent ?? INGEST_DEFAULTS.maxOwnMetricSeriesPerAgent;
    this.clockSkewMs = options.clockSkewMs ?? INGEST_DEFAULTS.ownMetricClockSkewMs;
    this.clock = options.clock ?? Date.now;
  }

  get repository(): OwnMetricRepository {
    return this.repo;
  }

  async consume(records: readonly fleet.v1.IAgentTelemetry[]): Promise<void> {
    const points: OwnMetricPoint[] = [];
    const rollups: OwnMetricRollupRow[] = [];
    const now = this.clock();
    for (const r of records) {
      if (r.signal !== fleet.v1.AgentTelemetrySignal.AGENT_TELEMETRY_SIGNAL_METRICS || !r.tenantId || r.instanceUid?.length !== 16 || !r.otlpRequest) continue;
      let request: OtlpMetricsLike;
      try {
        request = decodeOtlpRequest('metrics', r.otlpRequest, 'protobuf').request as OtlpMetricsLike;
      } catch (err) {
        if (!(err instanceof OtlpRequestError)) throw err;
        this.totals.undecodable++;
        continue;
      }
      const uid = Buffer.from(r.instanceUid);
      const key = `${r.tenantId}/${uid.toString('hex')}`;
      let memory = this.agents.get(key);
      if (!memory) {
        memory = { series: new Set(), lastCounter: new Map() };
        this.agents.set(key, memory);
      }
      const extract = extractOwnMetrics(request, memory.series, this.maxSeriesPerAgent);
      this.totals.unknownMetrics += extract.unknownMetrics;
      this.totals.overCapPoints += extract.overCapPoints;
      const kept = [];
      for (const s of extract.samples) {
        if (Math.abs(s.timeMs - now) > this.clockSkewMs) {
          this.totals.outOfWindowPoints++;
          continue;
        }
        if (!OWN_METRIC_COUNTERS.has(s.kind)) {
          kept.push(s);
          continue;
        }
        const id = ownSeriesId(s);
        const rate = counterRate(memory.lastCounter.get(id), s);
        memory.lastCounter.set(id, { timeMs: s.timeMs, value: s.value });
        if (rate !== null) kept.push({ ...s, value: rate });
      }
      for (const s of kept) points.push({ ...s, tenantId: r.tenantId, instanceUid: uid });
      for (const ro of rollupOwnPoints(kept)) rollups.push({ ...ro, tenantId: r.tenantId, instanceUid: uid });
    }
    await this.repo.insertPoints(points);
    await this.repo.upsertRollups(mergeRollups(rollups));
    this.totals.points += points.length;
  }
}

/** One row per key (one INSERT ... ON CONFLICT may not touch a row twice). */
function mergeRollups(rows: OwnMetricRollupRow[]): OwnMetricRollupRow[] {
  const byKey = new Map<string, OwnMetricRollupRow>();
  for (const r of rows) {
    const k = `${r.tenantId}/${r.instanceUid.toString('hex')}|${ownSeriesId(r)}|${r.bucketMs}`;
    const m = byKey.get(k);
    if (!m) byKey.set(k, { ...r });
    else {
      m.avg = (m.avg * m.count + r.avg * r.count) / (m.count + r.count);
      m.max = Math.max(m.max, r.max);
      m.count += r.count;
    }
  }
  return [...byKey.values()];
}
