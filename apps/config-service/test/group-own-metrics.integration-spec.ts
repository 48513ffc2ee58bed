/**
 * Own metrics of a group of agents through the API (issue 19 item 4) on the
 * real PostgreSQL: GetRolloutBatchOwnMetrics sums the series of the agents a
 * rollout batch took (as the rollout driver records them), by default from an
 * hour before the batch started, per minute from the 10 s points (each
 * agent's readings averaged first) and per 5 minutes from the rollups;
 * GetConfigurationVersionOwnMetrics those of the agents running a version;
 * over gRPC and REST, within the caller's tenant; bad input is
 * INVALID_ARGUMENT / 400 with a message, unknown ones NOT_FOUND.
 */
import * as grpc from '@grpc/grpc-js';
import { AgentCapabilities as C } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed, type ReportedAgent } from './config-service.bed';

const body = (tag: string) => `receivers: {otlp: {}}\nexporters: {debug: {}}\nservice: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}\n# ${tag}\n`;
const files = (tag: string) => ({ 'c.yaml': { body: body(tag), contentType: 'text/yaml' } });
const DAY = 86_400_000;
const MIN = 60_000;
const BUCKET = 300_000;

type Series = { kind: string; signal: string; points: { timeUnixMs: string; sum: number; max: number; agents: number }[] }[];

describe('own metrics of a rollout batch and of a configuration version (config-service on real PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  const now = Date.now();
  const iso = (ms: number) => new Date(ms).toISOString();
  // The batch started 10 minutes ago on a whole 5 minutes (so minutes and rollup buckets line up with it).
  const started = Math.floor(now / BUCKET) * BUCKET - 2 * BUCKET;
  let a1: ReportedAgent;
  let a2: ReportedAgent;
  let a3: ReportedAgent;

  const point = (tenant: string, uid: Buffer, kind: string, atMs: number, value: number, component = 'otlp') =>
    bed.pool.query(`INSERT INTO agent_own_metric_points (tenant_id, instance_uid, kind, component, signal, at, value) VALUES ($1, $2, $3, $4, 'spans', $5, $6)`, [tenant, uid, kind, component, iso(atMs), value]);
  const rollup = (tenant: string, uid: Buffer, kind: string, atMs: number, avg: number, max: number) =>
    bed.pool.query(`INSERT INTO agent_own_metric_rollups (tenant_id, instance_uid, kind, component, signal, bucket_at, avg, max, count) VALUES ($1, $2, $3, 'otlp', 'spans', $4, $5, $6, 30)`, [
      tenant,
      uid,
      kind,
      iso(atMs),
      avg,
      max,
    ]);

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('groupownmetrics', { tenants: 2 });
    for (const table of ['agent_own_metric_points', 'agent_own_metric_rollups']) {
      for (let d = -4; d <= 2; d++) {
        const from = Math.floor(now / DAY) * DAY + d * DAY;
        await bed.pool.query(`CREATE TABLE ${table}_${iso(from).slice(0, 10).replace(/-/g, '')} PARTITION OF ${table} FOR VALUES FROM ('${iso(from)}') TO ('${iso(from + DAY)}')`);
      }
    }
    const tenant = bed.tenants[0].id;
    const caps = C.ReportsStatus | C.AcceptsRemoteConfig | C.ReportsOwnMetrics;
    a1 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'a' } };
    a2 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'a' } };
    a3 = { tenant, uid: bed.newUid(), capabilities: caps, labels: { team: 'b' } };
    await bed.rpc('CreateConfiguration', { name: 'pipe', files: files('v1') });
    await bed.rpc('CreateAssignment', { assignment: { name: 'pipe-a', configurationName: 'pipe', pinnedVersion: 1, selector: 'team=a' } });
    await bed.rpc('UpdateConfiguration', { name: 'pipe', files: files('v2') });
    await bed.rpc('CreateRollout', { name: 'r1', assignmentName: 'pipe-a', toVersion: 2, strategy: { batchSize: 2 } });
    for (const a of [a1, a2, a3]) await bed.report(a);
    const desired = await waitFor(
      () => bed.rpc('GetAgent', { instanceUid: a1.uid.toString('hex') }),
      (r) => String(r['desiredConfigHash'] ?? '') !== '',
      { description: 'the desired configuration of a1' },
    );
    // a1 and a2 run version 1; a3 a configuration of its own.
    for (const a of [a1, a2]) await bed.report({ ...a, reportedHash: Buffer.from(String(desired['desiredConfigHash']), 'hex'), status: 1 });
    await bed.report({ ...a3, reportedHash: Buffer.alloc(32, 9), status: 1 });

    // Batch 0 took a1 and a2 at `started`, as the rollout driver records it.
    await bed.pool.query(`UPDATE rollouts SET state = 'running', current_batch = 0, started_at = $2 WHERE tenant_id = $1 AND name = 'r1'`, [tenant, iso(started)]);
    await bed.pool.query(
      `INSERT INTO rollout_batches (tenant_id, rollout_name, batch_index, name, take, planned_agents, state, agents, started_at)
       VALUES ($1, 'r1', 0, 'batch-1', '{"kind": "count", "upTo": 2}', 2, 'soaking', 2, $2)`,
      [tenant, iso(started)],
    );
    for (const a of [a1, a2]) {
      await bed.pool.query(`INSERT INTO rollout_agents (tenant_id, rollout_name, instance_uid, batch_index, state, moved_at) VALUES ($1, 'r1', $2, 0, 'moved', $3)`, [tenant, a.uid, iso(started)]);
    }

    // Before: a1 read 2 and 4 within one minute (averaged: 3), a2 read 1. After: 6 and 8 (and a second exporter of a1's, 1).
    const before = started - 5 * MIN;
    await point(tenant, a1.uid, 'exporter_send_failed', before + 10_000, 2);
    await point(tenant, a1.uid, 'exporter_send_failed', before + 20_000, 4);
    await point(tenant, a2.uid, 'exporter_send_failed', before + 15_000, 1);
    const after = started + 2 * MIN;
    await point(tenant, a1.uid, 'exporter_send_failed', after + 10_000, 6);
    await point(tenant, a1.uid, 'exporter_send_failed', after + 10_000, 1, 'otlphttp');
    await point(tenant, a2.uid, 'exporter_send_failed', after + 30_000, 8);
    await point(tenant, a1.uid, 'exporter_sent', after + 10_000, 100);
    // a3 is in no batch: never counted.
    await point(tenant, a3.uid, 'exporter_send_failed', after + 10_000, 1000);
    // Three days back, from the rollups.
    await rollup(tenant, a1.uid, 'exporter_send_failed', started - 3 * DAY, 5, 7);
    await rollup(tenant, a2.uid, 'exporter_send_failed', started - 3 * DAY, 10, 20);
    await rollup(tenant, a3.uid, 'exporter_send_failed', started - 3 * DAY, 500, 500);
  }, 90_000);

  afterAll(async () => {
    await bed?.close();
  });

  it("sums a batch's agents per minute from an hour before it started, over gRPC and REST", async () => {
    const res = await bed.rpc('GetRolloutBatchOwnMetrics', { rolloutName: 'r1', batchIndex: 0 });
    expect(res).toMatchObject({
      rolloutName: 'r1',
      batchIndex: 0,
      batchState: 'soaking',
      configurationName: 'pipe',
      fromVersion: 1,
      toVersion: 2,
      startedAt: iso(started),
      startTime: iso(started - 3_600_000),
      stepSeconds: 60,
      agents: 2,
      truncated: false,
    });
    const series = res['series'] as Series;
    expect(series.map((s) => s.kind)).toEqual(['exporter_send_failed', 'exporter_sent']);
    expect(series[0].points).toEqual([
      { timeUnixMs: String(started - 5 * MIN), sum: 4, max: 4, agents: 2 },
      { timeUnixMs: String(started + 2 * MIN), sum: 15, max: 8, agents: 2 },
    ]);

    const rest = await bed.rest('GET', `/rollouts/r1/batches/0/own-metrics?kinds=exporter_sent`);
    expect(rest.status).toBe(200);
    expect((rest.json['series'] as Series).map((s) => [s.kind, s.points.map((p) => [p.sum, p.agents])])).toEqual([['exporter_sent', [[100, 1]]]]);
  });

  it('answers a range beyond a day from the 5-minute rollups', async () => {
    const res = await bed.rpc('GetRolloutBatchOwnMetrics', { rolloutName: 'r1', batchIndex: 0, startTime: iso(started - 3 * DAY - MIN), kinds: ['exporter_send_failed'] });
    expect(res['stepSeconds']).toBe(300);
    expect((res['series'] as Series)[0].points).toEqual([{ timeUnixMs: String(started - 3 * DAY), sum: 15, max: 20, agents: 2 }]);
  });

  it('sums the agents running a configuration version now', async () => {
    const v1 = await bed.rpc('GetConfigurationVersionOwnMetrics', { configurationName: 'pipe', version: 1, kinds: ['exporter_send_failed'] });
    expect(v1).toMatchObject({ configurationName: 'pipe', version: 1, stepSeconds: 60, agents: 2 });
    expect((v1['series'] as Series)[0].points.map((p) => p.sum)).toEqual([4, 15]);
    const v2 = await bed.rest('GET', `/configurations/pipe/versions/2/own-metrics`);
    expect(v2.status).toBe(200);
    expect(v2.json).toMatchObject({ version: 2, agents: 0, series: [] });
  });

  it("keeps to the caller's tenant and refuses bad input with a message", async () => {
    await expect(bed.rpc('GetRolloutBatchOwnMetrics', { rolloutName: 'r1', batchIndex: 0 }, { tenant: 1 })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/rollout 'r1' not found/) });
    await expect(bed.rpc('GetConfigurationVersionOwnMetrics', { configurationName: 'pipe', version: 1 }, { tenant: 1 })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(bed.rpc('GetRolloutBatchOwnMetrics', { rolloutName: 'r1', batchIndex: 7 })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/has no batch 7/) });
    await expect(bed.rpc('GetConfigurationVersionOwnMetrics', { configurationName: 'pipe', version: 3 })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND, details: expect.stringMatching(/has no version 3/) });
    await expect(bed.rpc('GetRolloutBatchOwnMetrics', { rolloutName: 'r1', batchIndex: -1 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/batch_index must be 0 or more/) });
    await expect(bed.rpc('GetConfigurationVersionOwnMetrics', { configurationName: 'pipe', version: 1, startTime: 'yesterday' })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT, details: expect.stringMatching(/start_time must be an RFC 3339 time/) });
    // The default start follows the batch's start and the end asked for: a bad end is refused, not a crash.
    const badEnd = await bed.rest('GET', `/rollouts/r1/batches/0/own-metrics?endTime=soon`);
    expect(badEnd.status).toBe(400);
    expect(JSON.stringify(badEnd.json)).toMatch(/end_time must be an RFC 3339 time/);
    const badIndex = await bed.rest('GET', `/rollouts/r1/batches/first/own-metrics`);
    expect(badIndex.status).toBe(400);
    expect(JSON.stringify(badIndex.json)).toMatch(/batchIndex' must be an integer/);
    const badName = await bed.rest('GET', `/rollouts/${encodeURIComponent('R 1')}/batches/0/own-metrics`);
    expect(badName.status).toBe(400);
    const badKind = await bed.rest('GET', `/configurations/pipe/versions/1/own-metrics?kinds=${encodeURIComponent("x' OR 1=1")}`);
    expect(badKind.status).toBe(400);
    expect(JSON.stringify(badKind.json)).toMatch(/kinds must be series kinds/);
  });
});
