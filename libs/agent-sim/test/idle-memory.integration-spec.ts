/**
 * Measures what 1,000 idle WebSocket agents cost in one process (the swarm
 * budget) and fails if the cost per agent grows far beyond what was measured.
 * The server runs in a child process so its memory is not counted.
 */
import { fork, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { waitFor } from '@opamp/testing';
import { SimulatedAgent, type AgentProfile } from '../src';

const AGENTS = 1000;

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function settle(): { heap: number; external: number; rss: number } {
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, external: m.external + m.arrayBuffers, rss: m.rss };
}

async function startSink(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(path.join(__dirname, 'ws-ack-sink.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('error', reject);
  });
  return { child, port };
}

describe('idle agent memory', () => {
  let sink: { child: ChildProcess; port: number };
  const agents: SimulatedAgent[] = [];

  beforeAll(async () => {
    sink = await startSink();
  });

  afterAll(async () => {
    for (const a of agents) a.kill();
    sink.child.kill();
  });

  it(`keeps ${AGENTS} idle WS agents small`, async () => {
    const profile: AgentProfile = {
      endpoint: `ws://127.0.0.1:${sink.port}/v1/opamp`,
      heartbeatIntervalMs: 30_000,
      receivedLimit: 0,
      reconnect: { initialMs: 100, maxMs: 2000 },
    };
    // Warm up code paths (module loading, JIT) so they do not count as per-agent cost.
    const warm = new SimulatedAgent({ profile });
    warm.start();
    await waitFor(() => warm.receivedCount, (n) => n >= 1, { timeoutMs: 5000 });
    warm.kill();

    const before = settle();
    for (let i = 0; i < AGENTS; i++) {
      const a = new SimulatedAgent({
        profile,
        description: { identifying: { 'service.name': 'otelcol', 'service.instance.id': `sim-${i}` } },
      });
      agents.push(a);
      a.start();
    }
    await waitFor(
      () => agents.filter((a) => a.connected && a.receivedCount >= 1).length,
      (n) => n === AGENTS,
      { timeoutMs: 20_000, description: 'all agents connected and acknowledged' },
    );
    const after = settle();
    const perAgent = {
      heapBytes: Math.round((after.heap - before.heap) / AGENTS),
      externalBytes: Math.round((after.external - before.external) / AGENTS),
      rssBytes: Math.round((after.rss - before.rss) / AGENTS),
    };
    console.log(`idle WS agent memory per agent (${AGENTS} agents): ${JSON.stringify(perAgent)}`);
    // Measured ~5.4 KiB heap (~1 KiB of it the agent object, the rest the ws socket) and ~13 KiB RSS
    // per agent; fail on a gross regression.
    expect(perAgent.heapBytes).toBeLessThan(16 * 1024);
    expect(agents.every((a) => a.errorsByKind.transport === undefined)).toBe(true);
  });
});
