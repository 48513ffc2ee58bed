/**
 * Agents' own telemetry in the distributed mode (issue 19): gateways,
 * status-ingest and config-service as processes on the real Kafka, Redis and
 * PostgreSQL, behind the load balancer. The opamp-go test agent
 * (-own-metrics) is offered own_metrics by config-service (the balancer's
 * address, /v1/metrics, its own credential), sends its own metrics there,
 * a gateway's receiver produces them to the run's telemetry topic,
 * status-ingest counts them, and GetAgent shows them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildOpampGoAgent, type OpampGoAgentProcess, startOpampGoAgent, waitFor } from '@opamp/testing';
import { loadE2eConfig } from './config/e2e.config';
import { DistributedFleet } from './harness/distributed-fleet';

const START_MS = 90_000;
const fleet = new DistributedFleet(loadE2eConfig(), { startMs: START_MS });
const agents: OpampGoAgentProcess[] = [];
const work = mkdtempSync(join(tmpdir(), 'opamp-owntel-dist-'));
let failed = false;

beforeAll(async () => {
  await fleet.start().catch((err: unknown) => {
    failed = true;
    throw fleet.explain(err);
  });
}, START_MS + 30_000);

afterAll(async () => {
  await Promise.allSettled(agents.map((a) => a.terminate()));
  rmSync(work, { recursive: true, force: true });
  await fleet.stop();
  await fleet.cleanUp(failed);
}, 60_000);

const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
  const r = await fleet.api<T>(method, path, body);
  if (r.status !== 200) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json;
};

describe("agents' own telemetry (distributed: gateways, status-ingest, config-service)", () => {
  it('offer -> own metrics through the balancer -> the gateway -> Kafka -> status-ingest -> GetAgent', async () => {
    try {
      await call('PUT', '/tenant-settings', { ownTelemetryToServer: true });
      const agent = await startOpampGoAgent({ binary: await buildOpampGoAgent(), endpoint: fleet.wsEndpoint, token: fleet.agentToken, heartbeatSeconds: 1, ownMetrics: true, stateDir: join(work, 'agent') });
      agents.push(agent);
      const offered = await agent.waitForEvent((e) => e.event === 'own_metrics_offered', 60_000, 'own_metrics offered');
      expect(offered.endpoint).toBe(`${new URL(fleet.httpEndpoint).origin}/v1/metrics`);
      await agent.waitForEvent((e) => e.event === 'own_metrics_sent' && e.status === 200, 30_000, 'own metrics accepted');
      const view = await waitFor(
        () => call<{ ownTelemetry?: { dataPoints: string; lastReceivedTime: string } }>('GET', `/agents/${agent.uid}`),
        (a) => Number(a.ownTelemetry?.dataPoints ?? 0) >= 2,
        { timeoutMs: 30_000, description: 'the data points counted by status-ingest, in GetAgent' },
      );
      expect(view.ownTelemetry!.lastReceivedTime).toMatch(/^\d{4}-/);
    } catch (err) {
      failed = true;
      throw fleet.explain(err);
    }
  }, 180_000);
});
