/**
 * Own metrics in PostgreSQL (issue 19 item 3, real database): points and
 * rollups are written one statement per batch into daily partitions that the
 * sweep creates ahead, a rollup bucket met again is merged, and partitions
 * past retention are dropped while the recent ones stay.
 */
import { newInstanceUidV7 } from '@opamp/protocol';
import { OwnMetricRepository, rollupOwnPoints } from '../src';
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
    await h.stop();
  });

  const partitions = async (parent: string) =>
    (
      await h.pool.query(`SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = $1 ORDER BY 1`, [parent])
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
});
