/**
 * A small real swarm: 300 agents (2/3 WebSocket, 1/3 plain HTTP) in 3 worker
 * processes bound to 127.0.0.2-4, against a real gateway edge on the real
 * Kafka and Redis. Every agent connects, heartbeats flow through the gateway
 * into Kafka, and convergence is measured when the test pushes a remote
 * config to the agents of one environment.
 */
import { createHash } from 'node:crypto';
import { fleet } from '@opamp/contracts';
import { waitFor } from '@opamp/testing';
import { runSwarm, type SwarmHandle, type SwarmProgress } from '../src';
import { GatewayHarness, TOKEN } from './gateway-harness';

const AGENTS = 300;
const HEARTBEAT_MS = 1_000;

describe('swarm against a real gateway', () => {
  const gateway = new GatewayHarness();
  let swarm: SwarmHandle | undefined;
  const progress: SwarmProgress[] = [];

  beforeAll(async () => {
    await gateway.start();
  });

  afterAll(async () => {
    await swarm?.stop();
    await gateway.stop();
  });

  it('connects every agent, carries heartbeats, measures convergence, and stops its workers', async () => {
    swarm = await runSwarm({
      agents: AGENTS,
      endpoints: [gateway.wsUrl],
      wsFraction: 2 / 3,
      workers: 3,
      addresses: ['127.0.0.2', '127.0.0.3', '127.0.0.4'],
      rampPerSecond: 600,
      durationMs: 50_000,
      seed: 7,
      statsIntervalMs: 250,
      agent: {
        headers: { Authorization: `Bearer ${TOKEN}` },
        heartbeatIntervalMs: HEARTBEAT_MS,
        applyDelayMs: 100,
        healthFlapsPerHour: 360,
        unhealthyMs: 500,
        reconnect: { initialMs: 100, maxMs: 2_000 },
      },
    });
    swarm.on('progress', (p) => progress.push(p));
    expect(swarm.plan.workers.map((w) => w.addresses)).toEqual([['127.0.0.2'], ['127.0.0.3'], ['127.0.0.4']]);

    // Every agent connected, over both transports, each with its own uid and description.
    const connected = await swarm.waitConnected(20_000);
    expect(connected.connected).toBe(AGENTS);
    const seen = await waitFor(
      () => [...gateway.agents.values()].filter((a) => a.labels),
      (a) => a.length === AGENTS,
      { timeoutMs: 15_000, description: 'every agent described in Kafka' },
    );
    expect(seen.filter((a) => a.transport === fleet.v1.Transport.TRANSPORT_HTTP)).toHaveLength(AGENTS / 3);
    for (const a of seen) {
      expect(a.uidHex[12]).toBe('7'); // UUIDv7
      expect(a.labels).toEqual(expect.objectContaining({ 'service.name': expect.any(String), 'host.name': expect.any(String), 'os.type': expect.any(String) }));
    }
    // The gateway sees the same labels the swarm computes from its seed (what the selector is evaluated on).
    const byHost = new Map(seen.map((a) => [a.labels!['host.name'], a.labels!]));
    for (let i = 0; i < AGENTS; i++) expect(byHost.get(swarm.labelsOf(i)['host.name'])).toEqual(swarm.labelsOf(i));

    // Heartbeats: every agent keeps sending, the gateway keeps answering.
    const before = gateway.records;
    await waitFor(() => [...gateway.agents.values()], (all) => all.every((a) => a.messages >= 3), {
      timeoutMs: 10_000,
      description: 'three messages from every agent',
    });
    expect(gateway.records - before).toBeGreaterThanOrEqual(AGENTS);
    await waitFor(() => swarm!.progress(), (p) => p.outPerS > AGENTS / 2 && p.inPerS > AGENTS / 2, {
      timeoutMs: 5_000,
      description: 'message rates in progress',
    });

    // Convergence: mark t0, push a config to the prod agents, wait until all of them report APPLIED.
    const body = 'receivers: {otlp: {protocols: {grpc: {}}}}\nexporters: {debug: {}}\n';
    const hash = createHash('sha256').update(body).digest();
    const targets = seen.filter((a) => a.labels!['deployment.environment.name'] === 'prod');
    expect(targets.length).toBeGreaterThan(AGENTS / 3);
    const marked = swarm.markConvergenceStart(hash.toString('hex'), 'deployment.environment.name=prod');
    expect(marked).toMatchObject({ targeted: targets.length, applied: 0, converged: false });
    await Promise.all(targets.map((a) => gateway.pushRemoteConfig(a, hash, body)));
    const converged = await swarm.waitConverged(15_000);
    expect(converged).toMatchObject({ converged: true, targeted: targets.length, applied: targets.length, failed: 0 });
    // At least the simulated apply delay, and not absurdly long.
    expect(converged.convergenceMs).toBeGreaterThanOrEqual(100);
    expect(converged.convergenceMs).toBeLessThan(10_000);
    expect(converged.appliedLatencyMs.count).toBe(targets.length);
    // The gateway received the APPLIED reports too, and nobody else was touched.
    await waitFor(
      () => targets.filter((a) => a.lastRemoteStatus?.hash === hash.toString('hex') && a.lastRemoteStatus.status === 1),
      (done) => done.length === targets.length,
      { timeoutMs: 10_000, description: 'APPLIED reports in Kafka' },
    );
    expect(seen.filter((a) => !targets.includes(a) && a.lastRemoteStatus)).toEqual([]);

    const report = await swarm.stop();
    swarm = undefined;
    expect(report.stopReason).toBe('stopped by caller');
    expect(report.agents).toMatchObject({ total: AGENTS, ws: 200, http: 100, started: AGENTS, peakConnected: AGENTS });
    expect(report.agents.allConnectedAfterMs).toBeGreaterThan(0);
    expect(report.connectLatencyMs.count).toBe(AGENTS);
    expect(report.connectLatencyMs.p99).toBeGreaterThan(0);
    expect(report.messages.sent).toBeGreaterThan(AGENTS * 3);
    expect(report.healthFlaps).toBeGreaterThan(0);
    expect(report.convergence).toHaveLength(1);
    expect(report.timeSeries.length).toBeGreaterThan(4);
    expect(progress.length).toBeGreaterThan(4);
    // The workers are gone, each exited by itself.
    for (const w of report.memory.workers) {
      expect(w.exitCode).toBe(0);
      expect(w.agents).toBe(100);
      expect(() => process.kill(w.pid, 0)).toThrow();
    }
    // Agents said goodbye: the gateway has no connection left.
    await waitFor(() => gateway.edge.connectionCount, (n) => n === 0, { timeoutMs: 5_000, description: 'connections closed' });
  });
});
