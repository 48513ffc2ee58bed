/**
 * Own metrics of one group of agents (issue 19 item 4): the agents a rollout
 * batch took (GetRolloutBatchOwnMetrics) and the agents running one
 * configuration version (GetConfigurationVersionOwnMetrics), their series
 * summed as GetFleetOwnMetrics sums them, for the console's per-batch and
 * per-version charts and their "since the change" comparison. A batch's range
 * defaults to an hour before it started until now, so the same agents are seen
 * before and after the change. Always within the caller's tenant.
 */
import {
  batchIndexArgument,
  checkResourceName,
  DesiredStateError,
  groupDefaultStart,
  groupOwnMetricStep,
  OWN_METRIC_MAX_POINTS,
  ownMetricKinds,
  ownMetricRange,
  versionArgument,
  type OwnMetricRange,
} from '../core';
import { GroupOwnMetricRepository, type AgentGroup, type GroupSumRow } from '../store/group-own-metric.repository';
import type { ApiContext, Caller } from './api-context';
import { int, str, type Req } from './request-fields';

const iso = (ms: number) => new Date(ms).toISOString();
const isoOrEmpty = (ms: number | null) => (ms === null ? '' : iso(ms));

export class GroupOwnMetricsApi {
  private readonly store: GroupOwnMetricRepository;

  constructor(
    ctx: ApiContext,
    private readonly clock: () => number = Date.now,
  ) {
    this.store = new GroupOwnMetricRepository(ctx.repo.db);
  }

  async getRolloutBatchOwnMetrics(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['rolloutName']);
    checkResourceName(name, 'rollout');
    const index = batchIndexArgument(int(req['batchIndex'], 'batch_index'));
    const now = this.clock();
    const kinds = ownMetricKinds(req['kinds']);
    const batch = await this.store.batch(c.tenantId, name, index);
    if (!batch) {
      const exists = await this.store.rolloutExists(c.tenantId, name);
      throw new DesiredStateError('NOT_FOUND', exists ? `rollout '${name}' has no batch ${index}` : `rollout '${name}' not found`);
    }
    const end = str(req['endTime']);
    // The end is checked before the default start is taken from it.
    const start = str(req['startTime']) || groupDefaultStart(batch.startedAtMs, ownMetricRange('', end, now).endMs);
    const range = ownMetricRange(start, end, now);
    const group: AgentGroup = { of: 'batch', rolloutName: name, batchIndex: index };
    return {
      rolloutName: name,
      batchIndex: index,
      batchName: batch.batchName,
      batchState: batch.state,
      configurationName: batch.configurationName,
      fromVersion: batch.fromVersion,
      toVersion: batch.toVersion,
      startedAt: isoOrEmpty(batch.startedAtMs),
      finishedAt: isoOrEmpty(batch.finishedAtMs),
      ...(await this.series(c, group, range, kinds)),
    };
  }

  async getConfigurationVersionOwnMetrics(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const name = str(req['configurationName']);
    checkResourceName(name, 'configuration');
    const version = versionArgument(int(req['version'], 'version'));
    const range = ownMetricRange(str(req['startTime']), str(req['endTime']), this.clock());
    const kinds = ownMetricKinds(req['kinds']);
    const createdAt = await this.store.versionCreatedAt(c.tenantId, name, version);
    if (createdAt === null) throw new DesiredStateError('NOT_FOUND', `configuration '${name}' has no version ${version}`);
    const group: AgentGroup = { of: 'version', configurationName: name, version };
    return { configurationName: name, version, createdAt: iso(createdAt), ...(await this.series(c, group, range, kinds)) };
  }

  private async series(c: Caller, group: AgentGroup, range: OwnMetricRange, kinds: string[]): Promise<Record<string, unknown>> {
    const stepMs = groupOwnMetricStep(range);
    const from = Math.floor(range.startMs / stepMs) * stepMs;
    const rows = await this.store.sums(c.tenantId, group, range.source, stepMs, iso(from), iso(range.endMs), kinds, OWN_METRIC_MAX_POINTS + 1);
    const agents = await this.store.agentCount(c.tenantId, group);
    return {
      startTime: iso(range.startMs),
      endTime: iso(range.endMs),
      stepSeconds: stepMs / 1000,
      agents,
      series: seriesOf(rows.slice(0, OWN_METRIC_MAX_POINTS)),
      truncated: rows.length > OWN_METRIC_MAX_POINTS,
    };
  }
}

/** Rows ordered by kind, signal, time gathered into one series each. */
function seriesOf(rows: GroupSumRow[]): { kind: string; signal: string; points: { timeUnixMs: number; sum: number; max: number; agents: number }[] }[] {
  const out: { kind: string; signal: string; points: { timeUnixMs: number; sum: number; max: number; agents: number }[] }[] = [];
  for (const r of rows) {
    let s = out[out.length - 1];
    if (!s || s.kind !== r.kind || s.signal !== r.signal) out.push((s = { kind: r.kind, signal: r.signal, points: [] }));
    s.points.push({ timeUnixMs: r.timeUnixMs, sum: r.sum, max: r.max, agents: r.agents });
  }
  return out;
}
