/**
 * Agents' own telemetry (issue 19) with a real OpAMP client library: the
 * opamp-go test agent (-own-metrics, declaring ReportsOwnMetrics) against the
 * built embedded server. With the tenant sending its agents' telemetry to
 * this server, the agent is offered own_metrics (this server's OTLP
 * receiver, its own credential), applies the offer and reports APPLIED,
 * POSTs its own metrics there, and GetAgent shows both the status and the
 * data received; the enrollment token and a forged credential are refused;
 * once its credential is revoked, the receiver refuses its exports (C69).
 */
import { collectorOwnMetrics, postOtlp, waitFor } from '@opamp/testing';
import { GoAgentBed } from './harness/go-agent-bed';

interface AgentView {
  connected: boolean;
  connectionSettings?: { status: string; reportedHash: string; offeredHash: string };
  ownTelemetry?: { dataPoints: string; spans: string; logRecords: string; lastReceivedTime: string };
}

describe("agents' own telemetry with the opamp-go test agent (embedded server)", () => {
  const bed = new GoAgentBed('opamp-owntel', { OPAMP_HEARTBEAT_INTERVAL_S: '2' });
  const call = bed.call;
  beforeAll(() => bed.start(), 600_000);
  afterAll(() => bed.stop());

  it('offer -> APPLIED -> own metrics received, shown per agent; a revoked credential is refused by the receiver', async () => {
    expect(await call('PUT', '/tenant-settings', { ownTelemetryToServer: true })).toMatchObject({ ownTelemetryToServer: true });
    const agent = await bed.startAgent({ endpoint: bed.server.ws, token: bed.server.agentToken, heartbeatSeconds: 1, ownMetrics: { intervalMs: 500 } });

    const offered = await agent.waitForEvent((e) => e.event === 'own_metrics_offered', 30_000, 'own_metrics offered');
    expect(offered.endpoint).toBe(`${new URL(bed.server.http).origin}/v1/metrics`);
    expect(offered.headerNames).toEqual(['Authorization']);
    // The agent's own credential (the one its OpAMP offer carries), not the enrollment token.
    const settings = await agent.waitForEvent((e) => e.event === 'settings_offered', 30_000, 'the connection settings offer');
    expect(offered.telemetryCredential).toBe(settings.offerCredential);
    expect(offered.telemetryCredential).not.toBe(agent.events[0]?.credential);
    await agent.waitForEvent((e) => e.event === 'own_metrics_sent' && e.status === 200, 30_000, 'own metrics accepted');

    const view = await waitFor(
      () => call<AgentView>('GET', `/agents/${agent.uid}`),
      (a) => Number(a.ownTelemetry?.dataPoints ?? 0) >= 2 && a.connectionSettings?.status === 'CONNECTION_SETTINGS_STATE_APPLIED',
      { timeoutMs: 30_000, description: 'data received and the settings APPLIED in GetAgent' },
    );
    expect(view.connectionSettings!.reportedHash).toBe(view.connectionSettings!.offeredHash);
    expect(view.ownTelemetry).toMatchObject({ spans: '0', logRecords: '0', lastReceivedTime: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });

    // Only an agent's own credential binds data to an agent.
    const origin = new URL(bed.server.http).origin;
    expect((await postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: bed.server.agentToken, encoding: 'protobuf', gzip: true })).status).toBe(401);
    expect((await postOtlp(origin, 'metrics', collectorOwnMetrics(), { credential: 'opamp_agent_forged' })).status).toBe(401);
    expect((await postOtlp(origin, 'metrics', collectorOwnMetrics())).status).toBe(401);

    await call('POST', '/agent-credentials:revoke', { instanceUid: agent.uid, reason: 'e2e: own telemetry follows revocation' });
    await agent.waitForEvent((e) => e.event === 'own_metrics_sent' && e.status === 401, 30_000, 'exports refused after the revocation');
  });
});
