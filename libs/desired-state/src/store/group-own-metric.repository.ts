/**
 * The reads behind a group's own metrics (issue 19 item 4, the console's
 * per-batch and per-version charts): a rollout batch and its agents, a
 * configuration version and the agents that run it, and the sums of their
 * series over a range. Kept apart from the rollout gate's own queries; every
 * statement is within one tenant, agents' values only ever parameters.
 */
import type { SqlDatabase } from '@opamp/store';
import { toNumber } from './desired-state.repository';

export interface BatchOfRollout {
  rolloutName: string;
  targetKind: string;
  configurationName: string;
  fromVersion: number;
  toVersion: number;
  batchIndex: number;
  batchName: string;
  state: string;
  startedAtMs: number | null;
  finishedAtMs: number | null;
}

export interface GroupSumRow {
  kind: string;
  signal: string;
  timeUnixMs: number;
  sum: number;
  max: number;
  agents: number;
}

/** Which agents a group is: those a rollout batch took, or those running a configuration version now. */
export type AgentGroup = { of: 'batch'; rolloutName: string; batchIndex: number } | { of: 'version'; configurationName: string; version: number };

const msOf = (v: unknown): number | null => (v === null || v === undefined ? null : new Date(v as string | Date).getTime());
const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

export class GroupOwnMetricRepository {
  constructor(readonly db: SqlDatabase) {}

  async batch(tenantId: string, rolloutName: string, batchIndex: number): Promise<BatchOfRollout | null> {
    const { rows } = await this.db.query(
      `SELECT r.name, r.target_kind, r.configuration_name, r.from_version, r.to_version, b.batch_index, b.name AS batch_name, b.state, b.started_at, b.finished_at
       FROM rollouts r JOIN rollout_batches b ON b.tenant_id = r.tenant_id AND b.rollout_name = r.name
       WHERE r.tenant_id = $1 AND r.name = $2 AND b.batch_index = $3`,
      [tenantId, rolloutName, batchIndex],
    );
    const r = rows[0];
    if (!r) return null;
    return {
      rolloutName: String(r['name']),
      targetKind: String(r['target_kind']),
      configurationName: String(r['configuration_name'] ?? ''),
      fromVersion: toNumber(r['from_version']),
      toVersion: toNumber(r['to_version']),
      batchIndex: toNumber(r['batch_index']),
      batchName: String(r['batch_name']),
      state: String(r['state']),
      startedAtMs: msOf(r['started_at']),
      finishedAtMs: msOf(r['finished_at']),
    };
  }

  async rolloutExists(tenantId: string, rolloutName: string): Promise<boolean> {
    const { rows } = await this.db.query(`SELECT 1 FROM rollouts WHERE tenant_id = $1 AND name = $2`, [tenantId, rolloutName]);
    return rows.length > 0;
  }

  /** When the version was created, or null when there is no such version. */
  async versionCreatedAt(tenantId: string, configurationName: string, version: number): Promise<number | null> {
    const { rows } = await this.db.query(`SELECT created_at FROM configuration_versions WHERE tenant_id = $1 AND configuration_name = $2 AND version = $3`, [tenantId, configurationName, version]);
    return rows.length ? msOf(rows[0]['created_at']) : null;
  }

  /** The agents of a group as SQL selecting `instance_uid`, its parameters appended to `params` ($1 is the tenant). */
  private agentsSql(group: AgentGroup, params: unknown[]): string {
    if (group.of === 'batch') {
      return `SELECT instance_uid FROM rollout_agents WHERE tenant_id = $1 AND rollout_name = $${params.push(group.rolloutName)} AND batch_index = $${params.push(group.batchIndex)}`;
    }
    // Running it: sent that version and reporting the hash it was sent (as GetFleetOwnMetrics names a group's version).
    return `SELECT a.instance_uid FROM agents a JOIN agent_config_state s ON s.tenant_id = a.tenant_id AND s.instance_uid = a.instance_uid
      WHERE a.tenant_id = $1 AND a.replaced_by IS NULL AND s.configuration_name = $${params.push(group.configurationName)}
        AND s.configuration_version = $${params.push(group.version)} AND s.desired_hash = a.remote_config_hash`;
  }

  async agentCount(tenantId: string, group: AgentGroup): Promise<number> {
    const params: unknown[] = [tenantId];
    const { rows } = await this.db.query(`SELECT count(*) AS n FROM (${this.agentsSql(group, params)}) g`, params);
    return toNumber(rows[0]?.['n']);
  }

  /**
   * The group's series from `fromIso` to `toIso`, summed per kind, signal and
   * bucket of `stepMs`: from the points, each agent's component averaged per
   * bucket first; from the rollups, their 5-minute averages. At most `limit` rows.
   */
  async sums(tenantId: string, group: AgentGroup, source: 'points' | 'rollups', stepMs: number, fromIso: string, toIso: string, kinds: string[], limit: number): Promise<GroupSumRow[]> {
    const params: unknown[] = [tenantId];
    const agents = this.agentsSql(group, params);
    const t = source === 'points' ? 'agent_own_metric_points' : 'agent_own_metric_rollups';
    const at = source === 'points' ? 'm.at' : 'm.bucket_at';
    const value = source === 'points' ? 'm.value' : 'm.avg';
    const top = source === 'points' ? 'm.value' : 'm.max';
    const step = params.push(stepMs);
    const from = params.push(fromIso);
    const to = params.push(toIso);
    const kindFilter = kinds.length > 0 ? `AND m.kind = ANY($${params.push(kinds)}::text[])` : '';
    const { rows } = await this.db.query(
      `WITH g AS (${agents}),
       per AS (
         SELECT m.kind, m.signal, m.instance_uid, floor(${epochMs(at)} / $${step}) * $${step} AS t, avg(${value}) AS v, max(${top}) AS top
         FROM ${t} m JOIN g ON g.instance_uid = m.instance_uid
         WHERE m.tenant_id = $1 AND ${at} >= $${from} AND ${at} < $${to} ${kindFilter}
         GROUP BY m.kind, m.signal, m.component, m.instance_uid, 4
       )
       SELECT kind, signal, t, sum(v) AS total, max(top) AS top, count(DISTINCT instance_uid) AS agents
       FROM per GROUP BY kind, signal, t ORDER BY kind, signal, t LIMIT ${limit}`,
      params,
    );
    return rows.map((r) => ({
      kind: String(r['kind']),
      signal: String(r['signal']),
      timeUnixMs: toNumber(r['t']),
      sum: toNumber(r['total']),
      max: toNumber(r['top']),
      agents: toNumber(r['agents']),
    }));
  }
}
