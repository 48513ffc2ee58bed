/**
 * Agents' own metrics in PostgreSQL (migration 0250): 10 s points and
 * 5-minute rollups, both in daily range partitions. Writes are one statement
 * per batch (unnest of arrays); a rollup bucket met again (a later batch of
 * the same five minutes) is merged, its average weighted by the counts.
 * Partitions are created ahead and dropped past retention by
 * maintainPartitions (the ingest calls it at start and then periodically).
 */
import type { SqlExecutor } from '@opamp/store';
import type { OwnMetricSample, OwnRollup } from '../core/own-metric-series';

export interface OwnMetricPoint extends OwnMetricSample {
  tenantId: string;
  instanceUid: Buffer;
}
export interface OwnMetricRollupRow extends OwnRollup {
  tenantId: string;
  instanceUid: Buffer;
}

const DAY_MS = 86_400_000;
export const OWN_METRIC_TABLES = { points: 'agent_own_metric_points', rollups: 'agent_own_metric_rollups' } as const;
type Table = keyof typeof OWN_METRIC_TABLES;

/** A partition's name from its day (dates only: never from an agent's data). */
function partitionName(table: Table, dayMs: number): string {
  return `${OWN_METRIC_TABLES[table]}_${new Date(dayMs).toISOString().slice(0, 10).replace(/-/g, '')}`;
}

export class OwnMetricRepository {
  constructor(private readonly db: SqlExecutor) {}

  async insertPoints(points: readonly OwnMetricPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.db.query(
      `INSERT INTO agent_own_metric_points (tenant_id, instance_uid, kind, component, signal, at, value)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::float8[])`,
      [
        points.map((p) => p.tenantId),
        points.map((p) => p.instanceUid),
        points.map((p) => p.kind),
        points.map((p) => p.component),
        points.map((p) => p.signal),
        points.map((p) => new Date(p.timeMs).toISOString()),
        points.map((p) => p.value),
      ],
    );
  }

  async upsertRollups(rows: readonly OwnMetricRollupRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.db.query(
      `INSERT INTO agent_own_metric_rollups AS r (tenant_id, instance_uid, kind, component, signal, bucket_at, avg, max, count)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::float8[], $8::float8[], $9::int[])
       ON CONFLICT (tenant_id, instance_uid, kind, component, signal, bucket_at) DO UPDATE SET
         avg = (r.avg * r.count + EXCLUDED.avg * EXCLUDED.count) / (r.count + EXCLUDED.count),
         max = GREATEST(r.max, EXCLUDED.max),
         count = r.count + EXCLUDED.count`,
      [
        rows.map((r) => r.tenantId),
        rows.map((r) => r.instanceUid),
        rows.map((r) => r.kind),
        rows.map((r) => r.component),
        rows.map((r) => r.signal),
        rows.map((r) => new Date(r.bucketMs).toISOString()),
        rows.map((r) => r.avg),
        rows.map((r) => r.max),
        rows.map((r) => r.count),
      ],
    );
  }

  /**
   * Creates the partitions of today and `aheadDays` days after (and of the
   * days back to `nowMs - behindMs`, the oldest time the store accepts), and
   * drops those wholly older than each table's retention. Returns the dropped names.
   */
  async maintainPartitions(nowMs: number, retention: { pointsMs: number; rollupsMs: number }, aheadDays = 2, behindMs = 0): Promise<string[]> {
    const today = Math.floor(nowMs / DAY_MS) * DAY_MS;
    const behindDays = Math.round((today - Math.floor((nowMs - behindMs) / DAY_MS) * DAY_MS) / DAY_MS);
    for (const table of Object.keys(OWN_METRIC_TABLES) as Table[]) {
      for (let d = -behindDays; d <= aheadDays; d++) {
        const from = today + d * DAY_MS;
        await this.db.query(
          `CREATE TABLE IF NOT EXISTS ${partitionName(table, from)} PARTITION OF ${OWN_METRIC_TABLES[table]}
             FOR VALUES FROM ('${new Date(from).toISOString()}') TO ('${new Date(from + DAY_MS).toISOString()}')`,
        );
      }
    }
    const dropped: string[] = [];
    for (const table of Object.keys(OWN_METRIC_TABLES) as Table[]) {
      const keepFrom = nowMs - (table === 'points' ? retention.pointsMs : retention.rollupsMs);
      const { rows } = await this.db.query(
        // The parent through regclass: this schema's, not a same-named table of another schema.
        `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = $1::regclass`,
        [OWN_METRIC_TABLES[table]],
      );
      for (const r of rows) {
        const name = String(r['name']);
        const day = name.slice(-8);
        const dayMs = Date.UTC(Number(day.slice(0, 4)), Number(day.slice(4, 6)) - 1, Number(day.slice(6, 8)));
        // Dropped only once its whole day is past the retention.
        if (dayMs + DAY_MS <= keepFrom && /^[a-z_]+_\d{8}$/.test(name)) {
          await this.db.query(`DROP TABLE IF EXISTS ${name}`);
          dropped.push(name);
        }
      }
    }
    return dropped.sort();
  }
}
