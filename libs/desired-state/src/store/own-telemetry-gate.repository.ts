/**
 * What the own-telemetry gate reads (issue 19 item 5): for a batch's agents,
 * which of them declare ReportsOwnMetrics, and their own-metric points
 * (migration 0250, counters stored as per-second rates) in the two windows
 * compared, per agent and window: each kind's rate, the sum over its
 * components and signals of each series' average. One statement over the
 * points' (tenant, agent, kind, time) index, both windows at once.
 */
import { AgentCapabilities } from '@opamp/protocol';
import type { SqlExecutor } from '@opamp/store';
import type { OwnTelemetryRates, TimeWindow } from '../core';
import { toNumber } from './desired-state.repository';

/** The series kinds the gate compares (libs/ingest core/own-metric-series.ts names them). */
const GATE_KINDS = [
  'receiver_accepted',
  'receiver_refused',
  'processor_dropped',
  'processor_refused',
  'processor_incoming',
  'processor_outgoing',
  'exporter_sent',
  'exporter_send_failed',
] as const;

export interface OwnTelemetryGateReading {
  /** Hex uid -> its rates before and after (absent: no point in that window). */
  readonly before: Map<string, OwnTelemetryRates>;
  readonly after: Map<string, OwnTelemetryRates>;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class OwnTelemetryGateRepository {
  constructor(private readonly db: SqlExecutor) {}

  /** The agents among `uids` that declare ReportsOwnMetrics (hex uids). */
  async reportingCapable(tenantId: string, uids: readonly Buffer[]): Promise<Set<string>> {
    if (uids.length === 0) return new Set();
    const { rows } = await this.db.query(
      `SELECT instance_uid FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND (capabilities & $3) <> 0`,
      [tenantId, uids, AgentCapabilities.ReportsOwnMetrics],
    );
    return new Set(rows.map((r) => Buffer.from(r['instance_uid'] as Buffer).toString('hex')));
  }

  async read(tenantId: string, uids: readonly Buffer[], windows: { before: TimeWindow; after: TimeWindow }): Promise<OwnTelemetryGateReading> {
    const reading: OwnTelemetryGateReading = { before: new Map(), after: new Map() };
    if (uids.length === 0) return reading;
    const { before, after } = windows;
    const { rows } = await this.db.query(
      `WITH p AS (
         SELECT instance_uid, kind, component, signal, at, value,
                CASE WHEN at >= $4 AND at < $5 THEN 'before' ELSE 'after' END AS w
           FROM agent_own_metric_points
          WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND kind = ANY($3::text[])
            AND ((at >= $4 AND at < $5) OR (at >= $6 AND at < $7))
       ), series AS (
         SELECT instance_uid, w, kind, avg(value) AS rate FROM p GROUP BY instance_uid, w, kind, component, signal
       ), readings AS (
         SELECT instance_uid, w, count(DISTINCT at) AS samples FROM p GROUP BY instance_uid, w
       )
       SELECT s.instance_uid, s.w, s.kind, sum(s.rate) AS rate, max(r.samples) AS samples
         FROM series s JOIN readings r ON r.instance_uid = s.instance_uid AND r.w = s.w
        GROUP BY s.instance_uid, s.w, s.kind`,
      [tenantId, uids, GATE_KINDS, iso(before.fromMs), iso(before.toMs), iso(after.fromMs), iso(after.toMs)],
    );
    const acc = new Map<string, { samples: number; rates: Map<string, number> }>();
    for (const r of rows) {
      const key = `${String(r['w'])}|${Buffer.from(r['instance_uid'] as Buffer).toString('hex')}`;
      let a = acc.get(key);
      if (!a) acc.set(key, (a = { samples: toNumber(r['samples']), rates: new Map() }));
      a.rates.set(String(r['kind']), toNumber(r['rate']));
    }
    for (const [key, a] of acc) {
      const [w, uid] = key.split('|');
      const k = (kind: (typeof GATE_KINDS)[number]) => a.rates.get(kind) ?? 0;
      const rates: OwnTelemetryRates = {
        samples: a.samples,
        receiverAccepted: k('receiver_accepted'),
        receiverRefused: k('receiver_refused'),
        // Older naming counts drops per processor; the newer one only items in and out (what a processor dropped is the difference).
        processorDropped: k('processor_dropped') + k('processor_refused') + Math.max(0, k('processor_incoming') - k('processor_outgoing')),
        exporterSent: k('exporter_sent'),
        exporterSendFailed: k('exporter_send_failed'),
      };
      (w === 'before' ? reading.before : reading.after).set(uid, rates);
    }
    return reading;
  }
}
