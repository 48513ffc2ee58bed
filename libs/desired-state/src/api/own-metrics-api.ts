/**
 * Agents' own metrics, read (GetAgentOwnMetrics, GetFleetOwnMetrics; issue
 * 19 item 3), from the tables status-ingest writes (migration 0250): one
 * agent's series (kind x component x signal) over a range, from the 10 s
 * points up to a day and from the 5-minute rollups beyond; and the fleet's,
 * summed per group of agents from the rollups, grouped by the configuration
 * each agent runs now (its reported remote-config hash, named by the
 * configuration version when that is what it was sent) or by one label's
 * value. Always within the caller's tenant; agents' values are parameters.
 */
import {
  DesiredStateError,
  gatherSeries,
  OWN_METRIC_MAX_GROUPS,
  OWN_METRIC_MAX_POINTS,
  OWN_METRIC_ROLLUP_STEP_MS,
  ownMetricGrouping,
  ownMetricKinds,
  ownMetricRange,
  parseSelectorArgument,
  selectorToSql,
} from '../core';
import { toNumber } from '../store/desired-state.repository';
import type { ApiContext, Caller } from './api-context';
import { instanceUid, str, type Req } from './request-fields';

const iso = (ms: number) => new Date(ms).toISOString();
const bucketStart = (ms: number) => Math.floor(ms / OWN_METRIC_ROLLUP_STEP_MS) * OWN_METRIC_ROLLUP_STEP_MS;
const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

export class OwnMetricsApi {
  constructor(
    private readonly ctx: ApiContext,
    private readonly clock: () => number = Date.now,
  ) {}

  async getAgentOwnMetrics(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const uid = instanceUid(req['instanceUid']);
    const range = ownMetricRange(str(req['startTime']), str(req['endTime']), this.clock());
    const kinds = ownMetricKinds(req['kinds']);
    const db = this.ctx.repo.db;
    const exists = await db.query(`SELECT 1 FROM agents WHERE tenant_id = $1 AND instance_uid = $2`, [c.tenantId, uid]);
    if (exists.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `agent ${uid.toString('hex')} not found`);
    // A rollup's bucket starts at or before the range's start: the one holding the start is read.
    const from = range.source === 'points' ? range.startMs : bucketStart(range.startMs);
    const params: unknown[] = [c.tenantId, uid, iso(from), iso(range.endMs), OWN_METRIC_MAX_POINTS + 1];
    const kindFilter = kinds.length > 0 ? `AND kind = ANY($${params.push(kinds)}::text[])` : '';
    const sql =
      range.source === 'points'
        ? `SELECT kind, component, signal, ${epochMs('at')} AS t, value, value AS max FROM agent_own_metric_points
           WHERE tenant_id = $1 AND instance_uid = $2 AND at >= $3 AND at < $4 ${kindFilter}
           ORDER BY kind, component, signal, at LIMIT $5`
        : `SELECT kind, component, signal, ${epochMs('bucket_at')} AS t, avg AS value, max FROM agent_own_metric_rollups
           WHERE tenant_id = $1 AND instance_uid = $2 AND bucket_at >= $3 AND bucket_at < $4 ${kindFilter}
           ORDER BY kind, component, signal, bucket_at LIMIT $5`;
    const { rows } = await db.query(sql, params);
    const truncated = rows.length > OWN_METRIC_MAX_POINTS;
    const series = gatherSeries(
      rows.slice(0, OWN_METRIC_MAX_POINTS),
      (r) => ({ kind: str(r['kind']), component: str(r['component']), signal: str(r['signal']) }),
      (r) => ({ timeUnixMs: toNumber(r['t']), value: toNumber(r['value']), max: toNumber(r['max']) }),
    );
    return { instanceUid: uid.toString('hex'), startTime: iso(range.startMs), endTime: iso(range.endMs), stepSeconds: range.stepMs / 1000, series, truncated };
  }

  async getFleetOwnMetrics(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const range = ownMetricRange(str(req['startTime']), str(req['endTime']), this.clock());
    const kinds = ownMetricKinds(req['kinds']);
    const grouping = ownMetricGrouping(str(req['groupByLabel']));
    const selector = parseSelectorArgument(str(req['selector']));
    const params: unknown[] = [c.tenantId];
    const sel = selectorToSql(selector, 'a.labels', params.length);
    params.push(...sel.params);
    const groupExpr = grouping.by === 'label' ? `a.labels ->> $${params.push(grouping.key)}::text` : `encode(a.remote_config_hash, 'hex')`;
    const agentsFrom = `agents a LEFT JOIN agent_config_state s ON s.tenant_id = a.tenant_id AND s.instance_uid = a.instance_uid
      WHERE a.tenant_id = $1 AND a.replaced_by IS NULL AND (${sel.sql})`;
    const db = this.ctx.repo.db;
    // The largest groups first (a label such as host.name has a value per agent).
    const groupRows = (
      await db.query(
        `SELECT ${groupExpr} AS value, count(*) AS agents,
           max(s.configuration_name) FILTER (WHERE s.desired_hash = a.remote_config_hash) AS configuration_name,
           max(s.configuration_version) FILTER (WHERE s.desired_hash = a.remote_config_hash) AS configuration_version
         FROM ${agentsFrom} GROUP BY 1 ORDER BY 2 DESC, 1 NULLS LAST LIMIT ${OWN_METRIC_MAX_GROUPS + 1}`,
        params,
      )
    ).rows;
    const groupsTruncated = groupRows.length > OWN_METRIC_MAX_GROUPS;
    const chosen = groupRows.slice(0, OWN_METRIC_MAX_GROUPS);
    const values = chosen.filter((g) => g['value'] !== null).map((g) => str(g['value']));
    const withoutValue = chosen.some((g) => g['value'] === null);
    const p = [...params];
    const valuesAt = p.push(values);
    const nullAt = p.push(withoutValue);
    const startAt = p.push(iso(bucketStart(range.startMs)));
    const endAt = p.push(iso(range.endMs));
    const kindFilter = kinds.length > 0 ? `AND r.kind = ANY($${p.push(kinds)}::text[])` : '';
    const { rows } = await db.query(
      `WITH g AS (
         SELECT a.instance_uid, ${groupExpr} AS value FROM ${agentsFrom}
           AND (${groupExpr} = ANY($${valuesAt}::text[]) OR ($${nullAt}::boolean AND ${groupExpr} IS NULL))
       )
       SELECT g.value, r.kind, r.signal, ${epochMs('r.bucket_at')} AS t, sum(r.avg) AS total, max(r.max) AS max, count(DISTINCT r.instance_uid) AS agents
       FROM agent_own_metric_rollups r JOIN g ON g.instance_uid = r.instance_uid
       WHERE r.tenant_id = $1 AND r.bucket_at >= $${startAt} AND r.bucket_at < $${endAt} ${kindFilter}
       GROUP BY g.value, r.kind, r.signal, r.bucket_at
       ORDER BY g.value NULLS LAST, r.kind, r.signal, r.bucket_at LIMIT ${OWN_METRIC_MAX_POINTS + 1}`,
      p,
    );
    const truncated = groupsTruncated || rows.length > OWN_METRIC_MAX_POINTS;
    const kept = rows.slice(0, OWN_METRIC_MAX_POINTS);
    const groups = chosen.map((g) => {
      const value = g['value'] === null ? null : str(g['value']);
      const mine = kept.filter((r) => (r['value'] === null ? null : str(r['value'])) === value);
      const series = gatherSeries(
        mine,
        (r) => ({ kind: str(r['kind']), component: '', signal: str(r['signal']) }),
        (r) => ({ timeUnixMs: toNumber(r['t']), sum: toNumber(r['total']), max: toNumber(r['max']), agents: toNumber(r['agents']) }),
      ).map(({ component: _component, ...s }) => s);
      return {
        value: value ?? '',
        hasValue: value !== null,
        ...(grouping.by === 'configuration'
          ? { remoteConfigHash: value ?? '', configurationName: str(g['configuration_name']), configurationVersion: toNumber(g['configuration_version']) }
          : {}),
        agents: toNumber(g['agents']),
        series,
      };
    });
    return {
      groupBy: grouping.by === 'label' ? `label:${grouping.key}` : 'configuration',
      startTime: iso(range.startMs),
      endTime: iso(range.endMs),
      stepSeconds: OWN_METRIC_ROLLUP_STEP_MS / 1000,
      groups,
      truncated,
    };
  }
}
