/**
 * Staged package rollouts (issue 17 item 4) on the real Kafka, Redis and
 * PostgreSQL: a package assignment moves its agents from otelcol 1.0.0 to
 * 1.1.0 batch by batch behind the configuration rollouts' gates. Agents are
 * simulated as in rollouts.integration-spec.ts (rows written as
 * status-ingest would, AgentEvents on the events topic) and answer every
 * PackagesAvailable pushed to them like a package syncer: they report the
 * offered version INSTALLED and restart into it (service.version), or
 * INSTALL_FAILED, or nothing while held.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fleet as contracts } from '@opamp/contracts';
import { AgentCapabilities as C, decodeServerToAgent, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const CAPS = C.ReportsStatus | C.ReportsHealth | C.AcceptsPackages | C.ReportsPackageStatuses;
const S = opamp.proto.v1.PackageStatusEnum;
const Change = contracts.v1.AgentChange;
const SOAK_MS = 200;
const LINUX = { 'os.type': 'linux', 'host.arch': 'amd64' };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let bed: ConfigServiceBed;
let tenant: string;

// --- simulated agents -------------------------------------------------------------------

interface PkgAgent {
  uid: Buffer;
  hex: string;
  labels: Record<string, string>;
  /** The otelcol versions offered, in order. */
  offered: string[];
  /** Versions it fails to install (INSTALL_FAILED). */
  failOn: Set<string>;
  /** Versions it runs unhealthy (health false once installed). */
  sickOn: Set<string>;
  /** While held, offers wait (a slow download). */
  held: boolean;
  backlog: Array<() => Promise<void>>;
  chain: Promise<void>;
}

const agents = new Map<string, PkgAgent>();

function newAgent(group: string): PkgAgent {
  const uid = bed.newUid();
  const agent: PkgAgent = { uid, hex: uid.toString('hex'), labels: { group, 'service.version': '1.0.0', ...LINUX }, offered: [], failOn: new Set(), sickOn: new Set(), held: false, backlog: [], chain: Promise.resolve() };
  agents.set(agent.hex, agent);
  return agent;
}

const version = (a: PkgAgent) => a.labels['service.version'];

/** Reports made so far: the package reconciler has handled them all once its eventsHandled reaches this. */
let reports = 0;

function report(agent: PkgAgent, extra: { packagesHash?: Buffer; packageStatuses?: Record<string, unknown>; changes?: number } = {}): Promise<void> {
  reports++;
  return bed.report({ tenant, uid: agent.uid, capabilities: CAPS, labels: agent.labels, occurredAtMs: Date.now(), ...extra });
}

function onPush(push: contracts.v1.GatewayPush): void {
  const agent = agents.get(Buffer.from(push.instanceUid).toString('hex'));
  if (!agent || !push.serverToAgent?.length) return;
  const offer = decodeServerToAgent(push.serverToAgent).packagesAvailable;
  const pkg = offer?.packages?.['otelcol'];
  if (!offer || !pkg?.version) return;
  const offeredVersion = pkg.version;
  agent.offered.push(offeredVersion);
  const install = async () => {
    const failed = agent.failOn.has(offeredVersion);
    if (!failed) agent.labels = { ...agent.labels, 'service.version': offeredVersion };
    // Health as status-ingest stores it, written before the report that says the version runs.
    if (!failed) await bed.pool.query(`UPDATE agents SET healthy = $3 WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, agent.uid, !agent.sickOn.has(offeredVersion)]);
    const status = failed
      ? { name: 'otelcol', agentHasVersion: version(agent), serverOfferedVersion: offeredVersion, status: S.PackageStatusEnum_InstallFailed, errorMessage: 'content hash mismatch' }
      : { name: 'otelcol', agentHasVersion: offeredVersion, serverOfferedVersion: offeredVersion, status: S.PackageStatusEnum_Installed };
    await report(agent, {
      packagesHash: Buffer.from(offer.allPackagesHash ?? []),
      packageStatuses: { packages: { otelcol: status } },
      changes: Change.AGENT_CHANGE_PACKAGE_STATUSES | (failed ? 0 : Change.AGENT_CHANGE_DESCRIPTION),
    });
  };
  if (agent.held) agent.backlog.push(install);
  else agent.chain = agent.chain.then(install).catch(() => undefined);
}

function release(list: PkgAgent[]): void {
  for (const agent of list) {
    agent.held = false;
    for (const install of agent.backlog.splice(0)) agent.chain = agent.chain.then(install).catch(() => undefined);
  }
}

// --- API --------------------------------------------------------------------------------

async function ok(method: string, path: string, body?: unknown): Promise<Record<string, unknown>> {
  const r = await bed.rest(method, path, body);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
}

interface RolloutJson {
  name: string;
  state: string;
  stateReason: string;
  fromPackages: Array<{ packageName: string; version: string }>;
  toPackages: Array<{ packageName: string; version: string }>;
  totalAgents: number;
  batches: Array<{ index: number; state: string; agents: number; plannedAgents: number; progress: Record<string, number>; failureReason: string }>;
  progress: Record<string, number>;
}

const getRollout = async (name: string) => (await ok('GET', `/package-rollouts/${name}`)) as unknown as RolloutJson;
const rolloutIn = (name: string, state: string, timeoutMs = 20_000) =>
  waitFor(() => getRollout(name), (r) => r.state === state, { description: `package rollout ${name} ${state}`, timeoutMs });

async function events(name: string): Promise<Array<{ type: string; batchIndex: number; message: string; detailsJson: string }>> {
  return (await ok('GET', `/rollouts/${name}/events?pageSize=1000`))['events'] as Array<{ type: string; batchIndex: number; message: string; detailsJson: string }>;
}

async function rolloutAgents(name: string): Promise<Array<{ instanceUid: string; batchIndex: number; phase: string; reverted: boolean; reason: string }>> {
  return (await ok('GET', `/rollouts/${name}/agents?pageSize=1000`))['agents'] as Array<{ instanceUid: string; batchIndex: number; phase: string; reverted: boolean; reason: string }>;
}

/** `n` agents of a group under their own package assignment, every one on otelcol 1.0.0 (offered, installed, in sync). */
async function group(name: string, n: number): Promise<PkgAgent[]> {
  const list = Array.from({ length: n }, () => newAgent(name));
  for (const agent of list) await report(agent);
  // Every report so far handled (earlier groups' installs too): the offer below is the only decision in flight.
  await waitFor(() => bed.primary.packages.metrics.eventsHandled, (v) => v >= reports, { description: `${name}: reports handled` });
  await ok('POST', '/package-assignments', { name, selector: `group=${name}`, packages: [{ packageName: 'otelcol', version: '1.0.0' }] });
  await bed.primary.api.packageAssignments.idle();
  await waitFor(
    async () => Promise.all(list.map(async (a) => String((await bed.rpc('GetAgentPackages', { instanceUid: a.hex }))['state']))),
    (states) => states.every((s) => s === 'in_sync'),
    { description: `${name}: 1.0.0 installed everywhere` },
  );
  expect(list.map((a) => a.offered)).toEqual(list.map(() => ['1.0.0']));
  return list;
}

beforeAll(async () => {
  bed = await ConfigServiceBed.start('pkgroll', {
    tenants: 1,
    pushes: true,
    overrides: { packageUrlKey: Buffer.alloc(32, 9), packageDownloadUrl: 'https://gw.example.com', rolloutTickMs: 50, rolloutLeaseMs: 1_000 },
  });
  tenant = bed.tenants[0].id;
  bed.onPush(onPush);
  const v1 = randomBytes(4096);
  const v2 = randomBytes(5000);
  const v3 = randomBytes(6000);
  for (const file of [v1, v2, v3]) await bed.rest('POST', '/package-files', undefined, { raw: file, headers: { 'content-type': 'application/octet-stream' } });
  await ok('POST', '/packages', { name: 'otelcol', kind: 'PACKAGE_KIND_AGENT' });
  await ok('POST', '/packages/otelcol/versions', { version: '1.0.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v1) }] });
  await ok('POST', '/packages/otelcol/versions', { version: '1.1.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v2) }] });
  // 1.2.0 has no build for windows; 0.9.0 is withdrawn.
  await ok('POST', '/packages/otelcol/versions', { version: '1.2.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v3) }] });
  await ok('POST', '/packages/otelcol/versions', { version: '0.9.0', files: [{ os: 'linux', arch: 'amd64', sha256: sha(v1) }] });
  await ok('POST', '/packages/otelcol/versions/0.9.0:withdraw', {});
}, 60_000);

afterAll(() => bed?.close());

describe('staged package rollouts', () => {
  it('moves a package assignment to a new version in three batches, each agent offered it once; the rest of the fleet untouched', async () => {
    const list = await group('steady', 6);
    const others = await group('others', 2);
    const created = await ok('POST', '/package-rollouts', {
      name: 'steady-1-1',
      packageAssignmentName: 'steady',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { steps: [{ count: 1 }, { percent: 50 }] },
      soakTimeMs: SOAK_MS,
      start: true,
    });
    expect(created).toMatchObject({
      state: 'ROLLOUT_STATE_RUNNING',
      packageAssignmentName: 'steady',
      fromPackages: [{ packageName: 'otelcol', version: '1.0.0' }],
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      totalAgents: 6,
    });
    expect((created['batches'] as Array<{ plannedAgents: number }>).map((b) => b.plannedAgents)).toEqual([1, 2, 3]);
    const done = await rolloutIn('steady-1-1', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches.map((b) => [b.state, b.agents, b.progress['applied']])).toEqual([
      ['ROLLOUT_BATCH_STATE_PASSED', 1, 1],
      ['ROLLOUT_BATCH_STATE_PASSED', 2, 2],
      ['ROLLOUT_BATCH_STATE_PASSED', 3, 3],
    ]);
    expect(list.map((a) => [a.offered, version(a)])).toEqual(list.map(() => [['1.0.0', '1.1.0'], '1.1.0']));
    expect(others.map((a) => [a.offered, version(a)])).toEqual(others.map(() => [['1.0.0'], '1.0.0']));
    // The assignment now names the new version, and its agents are in sync with it.
    expect((await ok('GET', '/package-assignments/steady'))['packages']).toEqual([{ packageName: 'otelcol', version: '1.1.0' }]);
    expect((await ok('GET', '/package-assignments/others'))['packages']).toEqual([{ packageName: 'otelcol', version: '1.0.0' }]);
    expect((await bed.rpc('GetAgentPackages', { instanceUid: list[5].hex }))['state']).toBe('in_sync');
    const types = (await events('steady-1-1')).map((e) => e.type);
    expect(types.filter((t) => t === 'batch_passed')).toHaveLength(3);
    expect(types[types.length - 1]).toBe('completed');
    const audit = (await ok('GET', '/audit-events?pageSize=200'))['events'] as Array<{ action: string; resourceName: string }>;
    expect(audit.filter((e) => e.resourceName === 'steady-1-1').map((e) => e.action)).toEqual(
      expect.arrayContaining(['package_rollout.create', 'package_rollout.start', 'rollout.batch_start', 'rollout.complete']),
    );
  });

  it('rolls back automatically when a batch reports INSTALL_FAILED: the reverted agents are offered the old version again and report it', async () => {
    const list = await group('failing', 4);
    list[0].failOn.add('1.1.0');
    await ok('POST', '/package-rollouts', {
      name: 'failing-1-1',
      packageAssignmentName: 'failing',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchSize: 2 },
      soakTimeMs: SOAK_MS,
      autoRollback: true,
      start: true,
    });
    const back = await rolloutIn('failing-1-1', 'ROLLOUT_STATE_ROLLED_BACK');
    expect(back.batches.map((b) => b.state)).toEqual(['ROLLOUT_BATCH_STATE_FAILED', 'ROLLOUT_BATCH_STATE_PENDING']);
    expect(back.batches[0].failureReason).toMatch(/^1 of 2 agents failed the gate \(1 FAILED,/);
    // Batch 1: the failed agent and the one that upgraded are both offered 1.0.0 again; the upgraded one downgrades.
    await waitFor(() => list.slice(0, 2).map((a) => [a.offered.join(' '), version(a)]), (v) => JSON.stringify(v) === JSON.stringify([['1.0.0 1.1.0 1.0.0', '1.0.0'], ['1.0.0 1.1.0 1.0.0', '1.0.0']]), {
      description: 'batch 1 back on 1.0.0',
    });
    // Batch 2 never saw the new version.
    expect(list.slice(2).map((a) => a.offered)).toEqual([['1.0.0'], ['1.0.0']]);
    const members = await rolloutAgents('failing-1-1');
    expect(members.map((m) => [m.instanceUid, m.reverted])).toEqual([
      [list[0].hex, true],
      [list[1].hex, true],
    ]);
    await waitFor(() => rolloutAgents('failing-1-1'), (m) => m.every((x) => x.phase === 'ROLLOUT_AGENT_PHASE_APPLIED'), { description: 'both report 1.0.0' });
    expect((await ok('GET', '/package-assignments/failing'))['packages']).toEqual([{ packageName: 'otelcol', version: '1.0.0' }]);
    const evs = await events('failing-1-1');
    expect(evs.map((e) => e.type)).toEqual(expect.arrayContaining(['batch_failed', 'rollback_started', 'rolled_back']));
    expect(evs.find((e) => e.type === 'rollback_started')?.message).toBe('automatic rollback: 2 agents return to otelcol@1.0.0');
    // The gate fails at the first FAILED, whether or not the other agent has reported its install yet.
    const { progress } = JSON.parse(evs.find((e) => e.type === 'batch_failed')!.detailsJson) as { progress: Record<string, number> };
    expect([progress['failed'], progress['applied'] + progress['applying'] + progress['pending']]).toEqual([1, 1]);
  });

  it('fails a batch whose agent does not report the new version within the apply deadline; resumed, it completes', async () => {
    const list = await group('slow', 2);
    list[0].held = true;
    await ok('POST', '/package-rollouts', {
      name: 'slow-1-1',
      packageAssignmentName: 'slow',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchSize: 1 },
      soakTimeMs: SOAK_MS,
      applyTimeoutMs: 1_000,
      start: true,
    });
    const paused = await rolloutIn('slow-1-1', 'ROLLOUT_STATE_PAUSED');
    expect(paused.batches[0]).toMatchObject({ state: 'ROLLOUT_BATCH_STATE_FAILED', progress: { timedOut: 1 } });
    expect(paused.stateReason).toMatch(/1 past the apply deadline/);
    const timedOut = (await events('slow-1-1')).find((e) => e.type === 'agents_timed_out');
    expect(timedOut?.message).toBe('batch 1: 1 agent did not report otelcol@1.1.0 installed or failed within 1000 ms of it being sent; counted against the gate');
    expect(JSON.parse(timedOut!.detailsJson)).toMatchObject({ agents: [list[0].hex] });
    expect((await rolloutAgents('slow-1-1'))[0]).toMatchObject({ phase: 'ROLLOUT_AGENT_PHASE_TIMED_OUT', reason: 'does not report otelcol@1.1.0 within the apply deadline' });
    expect(list[1].offered).toEqual(['1.0.0']);
    // The download finishes; resumed, the batch is judged again and the rollout goes on.
    release(list);
    await ok('POST', '/package-rollouts/slow-1-1:resume', {});
    await rolloutIn('slow-1-1', 'ROLLOUT_STATE_COMPLETED');
    expect(list.map(version)).toEqual(['1.1.0', '1.1.0']);
  });

  it('reports an agent whose platform has no file for the new version, offers it nothing, and still passes the batch', async () => {
    const list = await group('mixed', 2);
    const win = newAgent('mixed');
    win.labels = { ...win.labels, 'os.type': 'windows' };
    await report(win);
    await waitFor(() => bed.primary.packages.metrics.eventsHandled, (v) => v >= reports, { description: 'the windows agent handled' });
    await ok('POST', '/package-rollouts', {
      name: 'mixed-1-1',
      packageAssignmentName: 'mixed',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchPercent: 100 },
      soakTimeMs: SOAK_MS,
      start: true,
    });
    const done = await rolloutIn('mixed-1-1', 'ROLLOUT_STATE_COMPLETED');
    expect(done.batches[0]).toMatchObject({ agents: 3, progress: { applied: 2, notSent: 1 } });
    const members = await rolloutAgents('mixed-1-1');
    expect(members.find((m) => m.instanceUid === win.hex)).toMatchObject({ phase: 'ROLLOUT_AGENT_PHASE_NOT_SENT', reason: 'no_file_for_platform: otelcol' });
    expect(win.offered).toEqual([]);
    expect(list.map(version)).toEqual(['1.1.0', '1.1.0']);
  });

  it('pauses a batch whose agent is unhealthy after the upgrade; an operator rolls it back to the old version', async () => {
    const list = await group('sick', 2);
    list[0].sickOn.add('1.1.0');
    await ok('POST', '/package-rollouts', {
      name: 'sick-1-1',
      packageAssignmentName: 'sick',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchSize: 1 },
      soakTimeMs: 1_000,
      start: true,
    });
    const paused = await rolloutIn('sick-1-1', 'ROLLOUT_STATE_PAUSED');
    expect(paused.batches[0]).toMatchObject({ state: 'ROLLOUT_BATCH_STATE_FAILED', progress: { unhealthy: 1 } });
    expect(paused.stateReason).toMatch(/1 unhealthy after applying/);
    expect((await rolloutAgents('sick-1-1'))[0]).toMatchObject({ phase: 'ROLLOUT_AGENT_PHASE_UNHEALTHY', reason: 'unhealthy after the upgrade' });
    const rolling = await ok('POST', '/package-rollouts/sick-1-1:rollback', { reason: 'crash loop' });
    expect(rolling['state']).toMatch(/ROLLOUT_STATE_ROLL(ING_BACK|ED_BACK)/);
    await rolloutIn('sick-1-1', 'ROLLOUT_STATE_ROLLED_BACK');
    await waitFor(() => list.map(version), (v) => v.join() === '1.0.0,1.0.0', { description: 'back on 1.0.0' });
    expect(list.map((a) => a.offered)).toEqual([['1.0.0', '1.1.0', '1.0.0'], ['1.0.0']]);
    const audit = (await ok('GET', '/audit-events?pageSize=200'))['events'] as Array<{ action: string; resourceName: string }>;
    expect(audit.filter((e) => e.resourceName === 'sick-1-1').map((e) => e.action)).toEqual(expect.arrayContaining(['rollout.gate_pause', 'package_rollout.rollback']));
  });

  it('pauses and resumes: no batch starts while paused', async () => {
    const list = await group('paused', 4);
    for (const a of list.slice(0, 2)) a.held = true;
    await ok('POST', '/package-rollouts', {
      name: 'paused-1-1',
      packageAssignmentName: 'paused',
      toPackages: [{ packageName: 'otelcol', version: '1.1.0' }],
      strategy: { batchSize: 2 },
      soakTimeMs: SOAK_MS,
      start: true,
    });
    await waitFor(() => list[1].backlog.length, (n) => n === 1, { description: 'batch 1 offered 1.1.0' });
    expect((await ok('POST', '/package-rollouts/paused-1-1:pause', { reason: 'weekend' }))['state']).toBe('ROLLOUT_STATE_PAUSED');
    release(list.slice(0, 2));
    await waitFor(() => rolloutAgents('paused-1-1'), (m) => m.filter((x) => x.phase === 'ROLLOUT_AGENT_PHASE_APPLIED').length === 2, { description: 'batch 1 installed' });
    const ticks = bed.primary.rolloutDriver.metrics.ticks;
    await waitFor(() => bed.primary.rolloutDriver.metrics.ticks, (t) => t >= ticks + 5, { description: 'the driver ticked while paused' });
    expect((await getRollout('paused-1-1')).state).toBe('ROLLOUT_STATE_PAUSED');
    expect(list.slice(2).map((a) => a.offered)).toEqual([['1.0.0'], ['1.0.0']]);
    await ok('POST', '/package-rollouts/paused-1-1:resume', {});
    await rolloutIn('paused-1-1', 'ROLLOUT_STATE_COMPLETED');
    expect(list.map(version)).toEqual(['1.1.0', '1.1.0', '1.1.0', '1.1.0']);
  });

  it('offers once when two deciders (the rollout driver, the event consumer) decide for one agent at once', async () => {
    const [agent] = await group('race', 1);
    // It does not answer: the new set stays awaited on the connection it was offered on.
    agent.held = true;
    await ok('PUT', '/package-assignments/race', { name: 'race', selector: 'group=race', packages: [{ packageName: 'otelcol', version: '1.2.0' }] });
    await bed.primary.api.packageAssignments.idle();
    await waitFor(() => agent.offered.length, (n) => n === 2, { description: 'the new version offered' });
    // Another connection: the set is due again; two decisions race for it.
    await bed.pool.query(`UPDATE agents SET connection_id = 'race-2' WHERE tenant_id = $1 AND instance_uid = $2`, [tenant, agent.uid]);
    const sent = bed.primary.packages.metrics.offersSent;
    await Promise.all([bed.primary.packages.reconcileAgents(tenant, [agent.uid]), bed.primary.packages.reconcileAgents(tenant, [agent.uid])]);
    expect(bed.primary.packages.metrics.offersSent - sent).toBe(1);
  });

  it('refuses withdrawn, unknown and unchanged versions, a second active rollout, and changes to a held assignment, with clear errors', async () => {
    await group('refuse', 1);
    const create = (toPackages: unknown, name = 'refuse-x') => bed.rest('POST', '/package-rollouts', { name, packageAssignmentName: 'refuse', toPackages, strategy: { batchSize: 1 } });
    const withdrawn = await create([{ packageName: 'otelcol', version: '0.9.0' }]);
    expect(withdrawn.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package version 'otelcol@0.9.0' is withdrawn" });
    const unknown = await create([{ packageName: 'otelcol', version: '7.0.0' }]);
    expect(unknown.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package version 'otelcol@7.0.0' is not in the catalog" });
    const same = await create([{ packageName: 'otelcol', version: '1.0.0' }]);
    expect(same.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package assignment 'refuse' already names otelcol@1.0.0" });
    const empty = await create([]);
    expect(empty.status).toBe(400);
    expect((empty.json['error'] as { message: string }).message).toBe('to_packages must name at least one package version');
    const missing = await bed.rest('POST', '/package-rollouts', { packageAssignmentName: 'nope', toPackages: [{ packageName: 'otelcol', version: '1.1.0' }], strategy: { batchSize: 1 } });
    expect(missing.status).toBe(404);
    expect((await create([{ packageName: 'otelcol', version: '1.2.0' }], 'refuse-1')).status).toBe(200);
    const second = await create([{ packageName: 'otelcol', version: '1.1.0' }], 'refuse-2');
    expect(second.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "package rollout 'refuse-1' of package assignment 'refuse' is pending; abort or finish it first" });
    const change = await bed.rest('PUT', '/package-assignments/refuse', { name: 'refuse', selector: 'group=refuse', packages: [{ packageName: 'otelcol', version: '1.1.0' }] });
    expect(change.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION' });
    // The configuration rollout calls do not take a package rollout.
    const asConfig = await bed.rest('GET', '/rollouts/refuse-1');
    expect(asConfig.json['error']).toMatchObject({ status: 'FAILED_PRECONDITION', message: "rollout 'refuse-1' is a package rollout: use the PackageRollout calls" });
    expect((await ok('POST', '/package-rollouts/refuse-1:abort', {}))['state']).toBe('ROLLOUT_STATE_ABORTED');
    const rows = await bed.pool.query(`SELECT name FROM rollouts WHERE tenant_id = $1 AND assignment_name = 'refuse' ORDER BY name`, [tenant]);
    expect(rows.rows.map((r) => r['name'])).toEqual(['refuse-1']);
  });
});
