/**
 * Per-agent counters of own telemetry received (migration 0231): a batch's
 * tallies added in one statement, only for agents that exist (telemetry of
 * an agent deleted meanwhile is dropped and counted, not kept as an orphan).
 */
import type { SqlExecutor } from '@opamp/store';
import type { OwnTelemetryTally } from '../core/own-telemetry-tally';

export interface OwnTelemetryCounts {
  dataPoints: number;
  spans: number;
  logRecords: number;
  lastReceivedAt: string | null;
}

const FK_VIOLATION = '23503';

export class OwnTelemetryCounterRepository {
  constructor(private readonly db: SqlExecutor) {}

  /** Adds the tallies (in their uid order); returns how many agents were unknown (their counts dropped). */
  async add(tallies: readonly OwnTelemetryTally[]): Promise<number> {
    if (tallies.length === 0) return 0;
    const params = [
      tallies.map((t) => t.tenantId),
      tallies.map((t) => t.instanceUid),
      tallies.map((t) => t.dataPoints),
      tallies.map((t) => t.spans),
      tallies.map((t) => t.logRecords),
      tallies.map((t) => new Date(t.lastReceivedAtMs).toISOString()),
    ];
    const sql = `INSERT INTO agent_own_telemetry (tenant_id, instance_uid, data_points, spans, log_records, last_received_at)
       SELECT t.tenant_id, t.instance_uid, t.data_points, t.spans, t.log_records, t.last_received_at
         FROM unnest($1::text[], $2::bytea[], $3::bigint[], $4::bigint[], $5::bigint[], $6::timestamptz[])
              AS t (tenant_id, instance_uid, data_points, spans, log_records, last_received_at)
         JOIN agents a ON a.tenant_id = t.tenant_id AND a.instance_uid = t.instance_uid
       ON CONFLICT (tenant_id, instance_uid) DO UPDATE SET
         data_points = agent_own_telemetry.data_points + EXCLUDED.data_points,
         spans = agent_own_telemetry.spans + EXCLUDED.spans,
         log_records = agent_own_telemetry.log_records + EXCLUDED.log_records,
         last_received_at = GREATEST(agent_own_telemetry.last_received_at, EXCLUDED.last_received_at)`;
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await this.db.query(sql, params);
        return tallies.length - (r.rowCount ?? tallies.length);
      } catch (err) {
        // An agent deleted between the join and the insert's key check: once more, without it.
        if ((err as { code?: string }).code !== FK_VIOLATION || attempt > 0) throw err;
      }
    }
  }

  async of(tenantId: string, instanceUid: Buffer): Promise<OwnTelemetryCounts | null> {
    const { rows } = await this.db.query(`SELECT data_points, spans, log_records, last_received_at FROM agent_own_telemetry WHERE tenant_id = $1 AND instance_uid = $2`, [tenantId, instanceUid]);
    const r = rows[0];
    if (!r) return null;
    const at = r['last_received_at'];
    return {
      dataPoints: Number(r['data_points']),
      spans: Number(r['spans']),
      logRecords: Number(r['log_records']),
      lastReceivedAt: at instanceof Date ? at.toISOString() : at ? new Date(String(at)).toISOString() : null,
    };
  }
}
