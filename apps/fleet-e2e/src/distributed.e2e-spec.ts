/**
 * The distributed system end to end (issue 6, item 4): two gateways,
 * status-ingest and config-service as real processes (the built apps) on the
 * real Kafka, Redis and PostgreSQL, one TCP load balancer in front of the
 * gateways, simulated agents over WebSocket and plain HTTP plus the third-party
 * @elastic/opamp-client-node, everything checked through the REST API. Then an
 * agent is deleted (refused while connected) and comes back as a new record;
 * last, an agent enrolls with a labelled token of the API and gets the
 * configuration selected by those labels, and an expired token is refused.
 *
 * The tests run in order and share the fleet: each one starts from the state
 * the previous one left.
 */
import { createOpAMPClient, RemoteConfigStatuses as ElasticRemoteConfigStatuses } from '@elastic/opamp-client-node';
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent, type SimulatedAgentOptions } from '@opamp/agent-sim';
import { AgentCapabilities, RemoteConfigStatuses } from '@opamp/protocol';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpampGoAgent, type OpampGoAgentProcess, waitFor } from '@opamp/testing';
import { loadE2eConfig } from './config/e2e.config';
import { DistributedFleet, OFFER_HEARTBEAT_S } from './harness/distributed-fleet';
import { runIdentityScenario } from './harness/identity-scenario';

/** Generous on purpose: a loaded 2-core machine starts four Node processes and joins Kafka groups. */
const START_MS = 90_000;
const CONVERGE_MS = 60_000;
const POLL_MS = 300;

const config = loadE2eConfig();
const fleet = new DistributedFleet(config, { startMs: START_MS });

const COLLECTOR = `receivers:
  otlp:
    protocols:
      grpc: {}
exporters:
  otlphttp:
    endpoint: "https://\${attr:service.name}.collector.example"
service:
  pipelines:
    traces:
      receivers: [otlp]
      exporters: [otlphttp]
`;

interface ApiAgent {
  instanceUid: string;
  labels: Record<string, string>;
  identifyingAttributes: Record<string, string>;
  nonIdentifyingAttributes: Record<string, string>;
  capabilityNames: string[];
  connected: boolean;
  gatewayId: string;
  transport: string;
  health: string;
  remoteConfigStatus: string;
  remoteConfigHash: string;
  configurationName: string;
  configurationVersion: number;
  desiredConfigHash: string;
  inSync: boolean;
  notSentReason: string;
}

interface SimEntry {
  readonly name: string;
  readonly agent: SimulatedAgent;
  readonly restartable: boolean;
  /** Matches the assignment's selector. */
  readonly selected: boolean;
  restarts: number;
}

const sims: SimEntry[] = [];
const elastic = {
  name: 'elastic-e2e',
  applied: [] as string[],
  client: null as ReturnType<typeof createOpAMPClient> | null,
  uid: '',
};
let failed = false;
let seq = 0;
/** The opamp-go test agents of the identity step, and where they keep their settings. */
const goAgents: OpampGoAgentProcess[] = [];
const identityWork = mkdtempSync(join(tmpdir(), 'opamp-identity-dist-'));

function addSim(transport: 'ws' | 'http', options: { restartable?: boolean; env?: string; token?: string } = {}): SimEntry {
  const restartable = options.restartable ?? true;
  const env = options.env ?? 'e2e';
  const name = `${transport}-${++seq}`;
  const agentOptions: SimulatedAgentOptions = {
    endpoint: transport === 'ws' ? fleet.wsEndpoint : fleet.httpEndpoint,
    headers: { Authorization: `Bearer ${options.token ?? fleet.agentToken}` },
    capabilities: restartable ? DEFAULT_AGENT_CAPABILITIES : DEFAULT_AGENT_CAPABILITIES & ~AgentCapabilities.AcceptsRestartCommand,
    // WS: heartbeats; HTTP: the poll interval, which bounds how fast pushes arrive.
    heartbeatIntervalMs: transport === 'ws' ? 5_000 : 1_000,
    reconnect: { initialMs: 200, maxMs: 2_000 },
    requestTimeoutMs: 10_000,
    description: {
      identifying: { 'service.name': `svc-${name}`, 'service.instance.id': `${fleet.run}-${name}` },
      nonIdentifying: { env, 'host.name': `host-${name}`, 'os.type': 'linux' },
    },
  };
  const entry: SimEntry = { name, agent: new SimulatedAgent(agentOptions), restartable, selected: env === 'e2e', restarts: 0 };
  entry.agent.on('restart', () => entry.restarts++);
  entry.agent.on('error', () => undefined); // counted in errorsByKind; reconnects are expected when a gateway dies
  sims.push(entry);
  entry.agent.start();
  return entry;
}

const uidOf = (e: SimEntry) => e.agent.instanceUid.toString('hex');
const APPLIED = RemoteConfigStatuses.RemoteConfigStatuses_APPLIED;

/** The agent with this uid from a listing (fails the test when it is missing). */
function one(all: Map<string, ApiAgent>, uid: string): ApiAgent {
  const a = all.get(uid);
  if (!a) throw new Error(`agent ${uid} is not in the API`);
  return a;
}

async function agents(): Promise<Map<string, ApiAgent>> {
  const r = await fleet.api<{ agents: ApiAgent[]; nextPageToken: string }>('GET', '/agents?pageSize=1000');
  if (r.status !== 200) throw new Error(`GET /agents: ${r.status} ${JSON.stringify(r.json)}`);
  return new Map(r.json.agents.map((a) => [a.instanceUid, a]));
}

/** Polls the API until `accept` holds for every listed uid; returns the last listing. */
async function waitForAgents(description: string, uids: string[], accept: (a: ApiAgent) => boolean, timeoutMs = CONVERGE_MS): Promise<Map<string, ApiAgent>> {
  // On a timeout the message names the agents that did not get there, with their state (a Map prints as {}).
  const lagging = async () => {
    const all = await agents();
    return { all, lagging: uids.filter((u) => !all.has(u) || !accept(one(all, u))).map((u) => all.get(u) ?? { instanceUid: u, missing: true }) };
  };
  const r = await waitFor(lagging, (x) => x.lagging.length === 0, { timeoutMs, intervalMs: POLL_MS, description });
  return r.all;
}

/** One test step: on failure, the processes' state and output tails go with the error, and the logs are kept. */
function step(name: string, fn: () => Promise<void>, timeoutMs = 150_000): void {
  it(
    name,
    async () => {
      try {
        await fn();
      } catch (err) {
        failed = true;
        const e = err instanceof Error ? err : new Error(String(err));
        e.message = `${e.message}\n\n${fleet.describe()}`;
        throw e;
      }
    },
    timeoutMs,
  );
}

function bodyOf(agent: SimulatedAgent): string {
  const map = agent.effectiveConfig?.configMap ?? {};
  return Object.values(map)
    .map((f) => Buffer.from(f.body ?? new Uint8Array()).toString('utf8'))
    .join('\n');
}

const selectedSims = () => sims.filter((s) => s.selected);
const liveUids = () => [...sims.map(uidOf), elastic.uid];

beforeAll(async () => {
  await fleet.start().catch((err: unknown) => {
    failed = true;
    throw fleet.explain(err);
  });
}, START_MS + 30_000);

afterAll(async () => {
  await Promise.allSettled([...sims.map((s) => s.agent.stop()), ...goAgents.map((a) => a.terminate())]);
  rmSync(identityWork, { recursive: true, force: true });
  await elastic.client?.shutdown().catch(() => undefined);
  await fleet.stop();
  await fleet.cleanUp(failed);
  if (failed) console.log(`fleet-e2e: logs kept in ${fleet.logDir}`);
}, 60_000);

describe('distributed mode: two gateways, status-ingest and config-service as processes', () => {
  step('agents over WebSocket, plain HTTP and @elastic/opamp-client-node connect through one endpoint and appear with description and health', async () => {
    addSim('ws');
    addSim('ws');
    addSim('ws');
    addSim('ws', { restartable: false });
    addSim('ws', { restartable: false });
    addSim('ws', { env: 'other' });
    addSim('http');
    addSim('http');
    addSim('http', { restartable: false });

    const client = createOpAMPClient({
      endpoint: fleet.httpEndpoint,
      headers: { Authorization: `Bearer ${fleet.agentToken}` },
      capabilities: BigInt(AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsRemoteConfig | AgentCapabilities.ReportsRemoteConfig | AgentCapabilities.ReportsHeartbeat),
      heartbeatIntervalSeconds: 1,
      onMessage: ({ remoteConfig }: { remoteConfig?: { configHash: Uint8Array } }) => {
        if (!remoteConfig) return;
        elastic.applied.push(Buffer.from(remoteConfig.configHash).toString('hex'));
        client.setRemoteConfigStatus({ status: ElasticRemoteConfigStatuses.RemoteConfigStatuses_APPLIED, lastRemoteConfigHash: remoteConfig.configHash });
      },
    });
    client.setAgentDescription({ identifyingAttributes: { 'service.name': elastic.name }, nonIdentifyingAttributes: { env: 'e2e' } });
    client.start();
    elastic.client = client;
    elastic.uid = Buffer.from(client.getInstanceUid() as Uint8Array).toString('hex');

    const all = await waitForAgents('every agent connected in the API with its description', liveUids(), (a) => a.connected && Object.keys(a.identifyingAttributes).length > 0);
    for (const s of sims) {
      const a = one(all, uidOf(s));
      expect(a.identifyingAttributes).toEqual({ 'service.name': `svc-${s.name}`, 'service.instance.id': `${fleet.run}-${s.name}` });
      expect(a.nonIdentifyingAttributes).toMatchObject({ 'host.name': `host-${s.name}`, 'os.type': 'linux' });
      expect(a.transport).toBe(s.agent.transport === 'ws' ? 'websocket' : 'http');
      expect(a.health).toBe('HEALTH_STATE_HEALTHY');
      expect(a.capabilityNames.includes('AcceptsRestartCommand')).toBe(s.restartable);
      expect(fleet.gatewayIds).toContain(a.gatewayId);
    }
    const e = one(all, elastic.uid);
    expect(e.identifyingAttributes).toEqual({ 'service.name': elastic.name });
    expect(e.transport).toBe('http');
    expect(e.health).toBe('HEALTH_STATE_UNKNOWN'); // the client does not report health
    // One endpoint, both gateways serve.
    const perGateway = new Set(sims.filter((s) => s.agent.transport === 'ws').map((s) => one(all, uidOf(s)).gatewayId));
    expect(perGateway.size).toBe(2);
  });

  step('the configuration their labels select reaches the agents, they report APPLIED and the API shows them in sync', async () => {
    const created = await fleet.api('POST', '/configurations', {
      name: 'e2e-base',
      description: 'end-to-end',
      files: { 'collector.yaml': { body: COLLECTOR, contentType: 'text/yaml' } },
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: 'e2e-base', version: 1, templated: true });
    const assigned = await fleet.api('POST', '/assignments', { name: 'e2e', configurationName: 'e2e-base', selector: 'env=e2e', priority: 1 });
    expect(assigned.status).toBe(200);

    const selected = [...selectedSims().map(uidOf), elastic.uid];
    const all = await waitForAgents(
      'selected agents in sync with e2e-base v1',
      selected,
      (a) => a.inSync && a.configurationName === 'e2e-base' && a.configurationVersion === 1 && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED',
    );
    for (const s of selectedSims()) {
      expect(s.agent.remoteConfigStatus.status).toBe(APPLIED);
      expect(bodyOf(s.agent)).toContain(`https://svc-${s.name}.collector.example`);
      expect(one(all, uidOf(s)).remoteConfigHash).toBe(one(all, uidOf(s)).desiredConfigHash);
    }
    expect(elastic.applied).toContain(one(all, elastic.uid).desiredConfigHash);
    for (const s of sims.filter((x) => !x.selected)) {
      const a = one(all, uidOf(s));
      expect(a.configurationName).toBe('');
      expect(s.agent.remoteConfigStatus.hash).toBeUndefined();
    }
    const inSync = await fleet.api<{ agents: ApiAgent[] }>('GET', '/agents?inSync=true&pageSize=1000');
    expect(inSync.json.agents.map((a) => a.instanceUid).sort()).toEqual(expect.arrayContaining(selected.sort()));
  });

  step('a restart command reaches only the agents with AcceptsRestartCommand', async () => {
    for (const s of sims) {
      const r = await fleet.api('POST', `/agents/${uidOf(s)}/restart`, {});
      if (s.restartable) expect(r.status).toBe(200);
      else expect(r).toMatchObject({ status: 400, json: { error: { status: 'FAILED_PRECONDITION' } } });
    }
    expect((await fleet.api('POST', `/agents/${elastic.uid}/restart`, {})).status).toBe(400);
    await waitFor(() => sims.filter((s) => s.restartable && s.restarts === 0).map((s) => s.name), (left) => left.length === 0, {
      timeoutMs: CONVERGE_MS,
      intervalMs: POLL_MS,
      description: 'every restartable agent restarted',
    });
    // Restarted agents come back, report their full state again and stay in sync.
    await waitForAgents('agents connected and in sync after the restarts', selectedSims().map(uidOf), (a) => a.connected && a.inSync);
    for (const s of sims.filter((x) => !x.restartable)) {
      expect(s.restarts).toBe(0);
      expect(s.agent.received.some((m) => m.command)).toBe(false);
    }
    for (const s of sims.filter((x) => x.restartable)) expect(s.restarts).toBe(1);
  });

  step('killing one gateway (SIGKILL) sends its agents to the other; they end in sync with nothing lost', async () => {
    const before = await agents();
    const [victimId, survivorId] = fleet.gatewayIds;
    const onVictim = sims.filter((s) => s.agent.transport === 'ws' && one(before, uidOf(s)).gatewayId === victimId);
    expect(onVictim.length).toBeGreaterThan(0);
    await fleet.gateways[0].kill();

    // A status change during the failover must arrive too.
    const changed = onVictim[0];
    changed.agent.setHealth({ healthy: false, status: 'degraded', lastError: 'exporter queue full' });

    await waitForAgents(
      'every agent on the surviving gateway',
      sims.filter((s) => s.agent.transport === 'ws').map(uidOf),
      (a) => a.connected && a.gatewayId === survivorId,
    );
    await waitForAgents('the health change made during the failover', [uidOf(changed)], (a) => a.health === 'HEALTH_STATE_UNHEALTHY');

    // Pushes now go through the survivor: a new version reaches everyone.
    const v2 = await fleet.api('PUT', '/configurations/e2e-base', { files: { 'collector.yaml': { body: `${COLLECTOR}# v2\n`, contentType: 'text/yaml' } } });
    expect(v2.json).toMatchObject({ version: 2 });
    await waitForAgents(
      'selected agents in sync with e2e-base v2 after the failover',
      [...selectedSims().map(uidOf), elastic.uid],
      (a) => a.inSync && a.configurationVersion === 2 && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED',
    );
    for (const s of selectedSims()) expect(bodyOf(s.agent)).toContain('# v2');

    // The killed gateway comes back and takes new connections again.
    fleet.gateways[0].start();
    await fleet.gatewayReady(0);
  });

  step('restarting status-ingest and config-service mid-run converges to the same state', async () => {
    const snapshot = (all: Map<string, ApiAgent>, uids: string[]) =>
      Object.fromEntries(uids.map((u) => [u, pick(one(all, u))]));
    const pick = (a: ApiAgent) => ({ inSync: a.inSync, version: a.configurationVersion, status: a.remoteConfigStatus, name: a.configurationName, connected: a.connected });
    const old = liveUids();
    const before = snapshot(await agents(), old);

    // status-ingest away: agents keep reporting into Kafka.
    await fleet.ingest.stop('SIGTERM');
    const recovered = sims.find((s) => !s.agent.health.healthy);
    if (!recovered) throw new Error('no unhealthy agent left by the failover step');
    recovered.agent.setHealth({ healthy: true, status: 'StatusOK' });
    const lateWs = addSim('ws');
    const lateHttp = addSim('http');
    fleet.ingest.start();
    await fleet.ingestReady();

    // config-service crashes: agent events wait in Kafka.
    await fleet.configService.kill();
    const lateWhileApiDown = addSim('ws', { restartable: false });
    fleet.configService.start();
    await fleet.configServiceReady();

    const late = [lateWs, lateHttp, lateWhileApiDown].map(uidOf);
    const all = await waitForAgents(
      'old and new agents in sync after the worker restarts',
      [...selectedSims().map(uidOf), elastic.uid],
      (a) => a.inSync && a.configurationVersion === 2 && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED',
    );
    expect(snapshot(all, old)).toEqual(before);
    for (const u of late) expect(all.get(u)).toMatchObject({ connected: true, configurationName: 'e2e-base', configurationVersion: 2, inSync: true, health: 'HEALTH_STATE_HEALTHY' });
    await waitForAgents('the health recovery made while status-ingest was down', [uidOf(recovered)], (a) => a.health === 'HEALTH_STATE_HEALTHY');
    expect(fleet.ingest.starts).toBe(2);
    expect(fleet.configService.starts).toBe(2);
  });

  step('DeleteAgent: refused while the agent is connected; deleted once it left; when it comes back it is created anew, described and in sync', async () => {
    const leaving = addSim('ws');
    const uid = uidOf(leaving);
    await waitForAgents('the new agent in sync', [uid], (a) => a.connected && a.inSync);
    const refused = await fleet.api<{ error: { status: string; message: string } }>('DELETE', `/agents/${uid}`);
    expect(refused.status).toBe(400);
    expect(refused.json.error).toMatchObject({ status: 'FAILED_PRECONDITION', message: expect.stringContaining('is connected') });

    await leaving.agent.stop();
    await waitForAgents('the agent disconnected', [uid], (a) => !a.connected);
    expect(await fleet.api('DELETE', `/agents/${uid}`)).toMatchObject({ status: 200, json: { agentsRemoved: 1 } });
    expect((await fleet.api('GET', `/agents/${uid}`)).status).toBe(404);

    // The same agent (same instance uid) starts again: a new record, whole.
    leaving.agent.start();
    const back = await waitForAgents('the deleted agent created anew and in sync', [uid], (a) => a.connected && a.inSync && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED');
    expect(one(back, uid)).toMatchObject({ configurationName: 'e2e-base', configurationVersion: 2, identifyingAttributes: { 'service.name': `svc-${leaving.name}` } });
  });
  step('an agent enrolling with a labelled token of the API gets its labels and the configuration they select; the gateways refuse a token once it expired', async () => {
    const made = await fleet.api<{ token: { id: string; state: string }; secret: string }>('POST', '/agent-tokens', {
      name: 'e2e-labelled',
      maxUses: 10,
      labels: { 'enrolled.by': 'e2e-token', env: 'enrolled' },
    });
    expect(made.status).toBe(200);
    expect(made.json.token.state).toBe('AGENT_TOKEN_STATE_ACTIVE');
    expect((await fleet.api('POST', '/configurations', { name: 'e2e-enrolled', files: { 'collector.yaml': { body: COLLECTOR, contentType: 'text/yaml' } } })).status).toBe(200);
    const assigned = await fleet.api('POST', '/assignments', { name: 'e2e-enrolled', configurationName: 'e2e-enrolled', selector: 'enrolled.by=e2e-token', priority: 5 });
    expect(assigned.status).toBe(200);

    // Its own attribute env=attr: the token's env wins in its labels.
    const enrolled = addSim('ws', { env: 'attr', token: made.json.secret });
    const uid = uidOf(enrolled);
    const all = await waitForAgents(
      'the enrolled agent in sync with the configuration its token\'s labels select',
      [uid],
      (a) => a.inSync && a.configurationName === 'e2e-enrolled' && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED',
    );
    expect(one(all, uid).labels).toMatchObject({ 'enrolled.by': 'e2e-token', env: 'enrolled', 'service.name': `svc-${enrolled.name}` });
    expect(one(all, uid).nonIdentifyingAttributes).toMatchObject({ env: 'attr' });
    expect(bodyOf(enrolled.agent)).toContain(`https://svc-${enrolled.name}.collector.example`);

    // A token about to expire: accepted while valid, then refused (401) by the gateways, which have no database.
    const soon = await fleet.api<{ secret: string }>('POST', '/agent-tokens', { name: 'e2e-soon', expireTime: new Date(Date.now() + 8_000).toISOString() });
    expect(soon.status).toBe(200);
    const poll = async () =>
      (await fetch(fleet.httpEndpoint, { method: 'POST', headers: { authorization: `Bearer ${soon.json.secret}`, 'content-type': 'application/x-protobuf' }, body: new Uint8Array() })).status;
    await waitFor(poll, (status) => status !== 401, { timeoutMs: 7_000, intervalMs: 100, description: 'the new token accepted' });
    await waitFor(poll, (status) => status === 401, { timeoutMs: 20_000, intervalMs: 250, description: 'the expired token refused' });
  });
  step('agent identity with the opamp-go test agent through the load balancer (both gateways), over WebSocket and HTTP', async () => {
    const binary = await buildOpampGoAgent();
    const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const r = await fleet.api<T>(method, path, body);
      if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
      return r.json;
    };
    for (const [name, endpoint] of [
      ['distributed-ws', fleet.wsEndpoint],
      ['distributed-http', fleet.httpEndpoint],
    ] as const) {
      await runIdentityScenario({ call, endpoint, enrollmentToken: fleet.agentToken, binary, workDir: identityWork, offerHeartbeatS: OFFER_HEARTBEAT_S, agents: goAgents }, name);
    }
  }, 300_000);
});
