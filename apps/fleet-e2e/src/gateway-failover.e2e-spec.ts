/**
 * A gateway killed with SIGKILL and brought straight back under the same id,
 * as a container restart policy does (issue 16's compose run, issue 21's fault
 * suite): 200 WebSocket agents behind the load balancer, half of them on the
 * victim. After the failover every agent must be connected, and a version
 * pushed after it must reach every agent, whichever gateway it landed on.
 */
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent } from '@opamp/agent-sim';
import { waitFor } from '@opamp/testing';
import { loadE2eConfig } from './config/e2e.config';
import { DistributedFleet } from './harness/distributed-fleet';

const AGENTS = 200;
const START_MS = 90_000;
const CONVERGE_MS = 90_000;
const POLL_MS = 500;

const config = loadE2eConfig();
const fleet = new DistributedFleet(config, { startMs: START_MS });
const agents: SimulatedAgent[] = [];
let failed = false;

const COLLECTOR = (version: number) => `receivers:\n  otlp:\n    protocols:\n      grpc: {}\nexporters:\n  debug: {}\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n# v${version}\n`;

interface ApiAgent {
  instanceUid: string;
  connected: boolean;
  gatewayId: string;
  inSync: boolean;
  configurationVersion: number;
  remoteConfigStatus: string;
}

async function listAgents(): Promise<ApiAgent[]> {
  const out: ApiAgent[] = [];
  let token = '';
  do {
    const r = await fleet.api<{ agents: ApiAgent[]; nextPageToken?: string }>('GET', `/agents?pageSize=1000${token ? `&pageToken=${encodeURIComponent(token)}` : ''}`);
    if (r.status !== 200) throw new Error(`GET /agents: ${r.status} ${JSON.stringify(r.json)}`);
    out.push(...r.json.agents);
    token = r.json.nextPageToken ?? '';
  } while (token);
  return out;
}

/** Waits until every agent of the run satisfies `accept`; a timeout names up to ten that do not, with their state. */
async function waitAll(description: string, accept: (a: ApiAgent) => boolean): Promise<void> {
  const uids = agents.map((a) => a.instanceUid.toString('hex'));
  const lagging = async () => {
    const all = new Map((await listAgents()).map((a) => [a.instanceUid, a]));
    return uids.filter((u) => !all.has(u) || !accept(all.get(u) as ApiAgent));
  };
  try {
    await waitFor(lagging, (left) => left.length === 0, { timeoutMs: CONVERGE_MS, intervalMs: POLL_MS, description });
  } catch {
    const all = new Map((await listAgents()).map((a) => [a.instanceUid, a]));
    const left = uids.filter((u) => !all.has(u) || !accept(all.get(u) as ApiAgent));
    throw new Error(`timed out waiting for ${description}: ${left.length} agents lagging, e.g. ${JSON.stringify(left.slice(0, 10).map((u) => all.get(u) ?? { instanceUid: u, missing: true }))}`);
  }
}

async function pushVersion(version: number): Promise<void> {
  const body = { files: { 'collector.yaml': { body: COLLECTOR(version), contentType: 'text/yaml' } } };
  if (version === 1) {
    expect((await fleet.api('POST', '/configurations', { name: fleet.run, ...body })).status).toBe(200);
    expect((await fleet.api('POST', '/assignments', { name: fleet.run, configurationName: fleet.run, selector: `e2e.run=${fleet.run}`, priority: 1 })).status).toBe(200);
  } else {
    const r = await fleet.api('PUT', `/configurations/${fleet.run}`, body);
    expect(r.json).toMatchObject({ version });
  }
  await waitAll(`every agent connected and in sync with v${version}`, (a) => a.connected && a.inSync && a.configurationVersion === version && a.remoteConfigStatus === 'REMOTE_CONFIG_STATUS_APPLIED');
}

function step(name: string, fn: () => Promise<void>, timeoutMs = 240_000): void {
  it(
    name,
    async () => {
      if (failed) throw new Error('skipped: an earlier step failed');
      try {
        await fn();
      } catch (err) {
        failed = true;
        throw fleet.explain(err);
      }
    },
    timeoutMs,
  );
}

beforeAll(async () => {
  await fleet.start();
}, START_MS + 30_000);

afterAll(async () => {
  await Promise.all(agents.map((a) => a.stop().catch(() => undefined)));
  await fleet.stop();
  await fleet.cleanUp(failed);
}, 60_000);

describe('a gateway killed and restarted under the same id', () => {
  step(`${AGENTS} WebSocket agents connect through the balancer onto both gateways and take v1`, async () => {
    for (let i = 0; i < AGENTS; i++) {
      const agent = new SimulatedAgent({
        endpoint: fleet.wsEndpoint,
        headers: { Authorization: `Bearer ${fleet.agentToken}` },
        capabilities: DEFAULT_AGENT_CAPABILITIES,
        heartbeatIntervalMs: 10_000,
        reconnect: { initialMs: 200, maxMs: 5_000 },
        requestTimeoutMs: 10_000,
        description: {
          identifying: { 'service.name': 'failover', 'service.instance.id': `${fleet.run}-${i}` },
          nonIdentifying: { 'e2e.run': fleet.run, 'host.name': `host-${i}` },
        },
      });
      agent.on('error', () => undefined); // reconnects are the point of this test
      agents.push(agent);
      agent.start();
    }
    await waitAll('every agent connected', (a) => a.connected);
    expect(new Set((await listAgents()).map((a) => a.gatewayId)).size).toBe(2);
    await pushVersion(1);
  });

  step('after kill -9 and an immediate restart of gateway 1, a version pushed reaches every agent', async () => {
    const before = await listAgents();
    expect(before.filter((a) => a.gatewayId === fleet.gatewayIds[0]).length).toBeGreaterThan(0);
    await fleet.gateways[0].kill();
    fleet.gateways[0].start();
    await fleet.gatewayReady(0);
    await waitFor(() => agents.filter((a) => !a.connected).length, (n) => n === 0, { timeoutMs: CONVERGE_MS, intervalMs: 200, description: 'every agent connected again (its own view)' });
    await pushVersion(2);
  });
});
