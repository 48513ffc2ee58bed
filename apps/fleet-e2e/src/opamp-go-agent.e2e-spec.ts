/**
 * A real OpAMP client library against the built embedded server: the opamp-go
 * test agent (apps/fleet-e2e/test-agents/opamp-go-agent), over WebSocket and
 * over plain HTTP, connects with the server's agent token, is listed with its
 * labels, applies a configuration an assignment sends it and shows in sync,
 * and is disconnected once SIGTERM stopped it; a wrong token is refused (401).
 * The agent's connection settings flow (the server offers no settings yet) is
 * proven by its own Go tests against an opamp-go server, run here too.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { OPAMP_GO_AGENT_SOURCES, uniqueName, waitFor } from '@opamp/testing';
import { loadE2eConfig } from './config/e2e.config';
import { GoAgentBed } from './harness/go-agent-bed';

interface ApiAgent {
  instanceUid: string;
  connected: boolean;
  credential?: { state: string };
  transport: string;
  labels: Record<string, string>;
  nonIdentifyingAttributes: Record<string, string>;
  remoteConfigStatus: string;
  remoteConfigHash: string;
  desiredConfigHash: string;
  configurationName: string;
  inSync: boolean;
}

const COLLECTOR_YAML =
  'receivers:\n  otlp:\n    protocols:\n      grpc:\n        endpoint: 127.0.0.1:4317\nexporters:\n  debug:\n    verbosity: basic\nservice:\n  pipelines:\n    traces:\n      receivers: [otlp]\n      exporters: [debug]\n';

describe('the opamp-go test agent against the embedded server', () => {
  const bed = new GoAgentBed('opamp-goagent');
  const call = bed.call;
  const agentByUid = (uid: string) => call<ApiAgent>('GET', `/agents/${uid}`);
  const start = (options: Parameters<GoAgentBed['startAgent']>[0]) => bed.startAgent(options);

  beforeAll(() => bed.start(), 600_000);
  afterAll(() => bed.stop());

  const transports = [
    { transport: 'websocket', endpoint: () => bed.server.ws },
    { transport: 'http', endpoint: () => bed.server.http },
  ];

  it.each(transports)('$transport: connects with the agent token, applies an assigned configuration, is disconnected after SIGTERM', async ({ transport, endpoint }) => {
    const env = uniqueName(`goagent-${transport}`);
    // A 1 s heartbeat: plain HTTP gets what the server pushes on its next poll.
    const agent = await start({ endpoint: endpoint(), token: bed.server.agentToken, labels: { env, region: 'eu' }, heartbeatSeconds: 1 });
    const connected = await agent.waitForEvent((e) => e.event === 'connected', 30_000, 'connected');
    expect(connected.credential).toMatch(/^[0-9a-f]{12}$/);

    const listed = await waitFor(
      () => call<{ agents: ApiAgent[] }>('GET', `/agents?selector=${encodeURIComponent(`env=${env}`)}`),
      // On the credential of its own it is offered at once (agent-identity.e2e-spec.ts): what is sent
      // to a plain-HTTP agent while it switches may be dropped by its old client and is sent again
      // only after the status wait, so the configuration comes once it has switched.
      (r) => r.agents.length === 1 && r.agents[0].connected && r.agents[0].credential?.state === 'ACTIVE',
      { timeoutMs: 30_000, description: 'the agent listed by its label' },
    );
    expect(listed.agents[0]).toMatchObject({
      instanceUid: agent.uid,
      connected: true,
      transport,
      labels: expect.objectContaining({ env, region: 'eu', 'service.name': 'opamp-go-test-agent' }),
      nonIdentifyingAttributes: expect.objectContaining({ env, region: 'eu' }),
    });

    const name = uniqueName('goagent-config');
    await call('POST', '/configurations', { name, files: { 'collector.yaml': { contentType: 'text/yaml', body: COLLECTOR_YAML } } });
    await call('POST', '/assignments', { name, configurationName: name, selector: `env=${env}`, priority: 10 });
    const received = await agent.waitForEvent((e) => e.event === 'remote_config', 30_000, 'remote_config');
    expect(received.files).toEqual(['collector.yaml']);

    const synced = await waitFor(() => agentByUid(agent.uid), (a) => a.inSync, { timeoutMs: 30_000, description: 'the agent in sync' });
    expect(synced).toMatchObject({
      configurationName: name,
      remoteConfigStatus: 'REMOTE_CONFIG_STATUS_APPLIED',
      remoteConfigHash: received.hash,
      desiredConfigHash: received.hash,
    });

    expect(await agent.terminate()).toBe(0);
    expect(agent.events.at(-1)?.event).toBe('stopped');
    const gone = await waitFor(() => agentByUid(agent.uid), (a) => !a.connected, { timeoutMs: 30_000, description: 'the agent disconnected' });
    expect(gone.connected).toBe(false);
    // No secrets in its output: the token appears in no event and no library log line.
    expect(JSON.stringify(agent.events) + agent.stderr()).not.toContain(bed.server.agentToken);
  });

  it.each(transports)('$transport: a wrong token is refused with 401 and the agent says so', async ({ endpoint }) => {
    const agent = await start({ endpoint: endpoint(), token: 'not-a-token', heartbeatSeconds: 1 });
    const failed = await agent.waitForEvent((e) => e.event === 'connect_failed', 30_000, 'connect_failed');
    expect(failed).toMatchObject({ status: 401 });
    expect(agent.events.filter((e) => e.event === 'connected')).toEqual([]);
    expect(JSON.stringify(agent.events)).not.toContain('not-a-token');
    await expect(agentByUid(agent.uid)).rejects.toThrow(/404/);
    expect(await agent.stop()).toBe(0);
  });
});

/** Some of the agent's Go tests, by name: a run without them (e.g. nothing compiled) fails. */
const EXPECTED_GO_TESTS = [
  'TestAcceptedOfferIsKeptAndPersisted/ws',
  'TestAcceptedOfferIsKeptAndPersisted/http',
  'TestRefusedOfferIsRolledBack/ws',
  'TestRefusedOfferIsRolledBack/http',
  'TestAcceptedSettingsAreKeptPrivately',
  'TestOfferKeepsWhatItLeavesEmpty',
  'TestStoreKeepsOnlyBytesOfTheOfferedHash',
  'TestDownloadsResumeWithRangeOnlyWhenAsked/resume=true',
];

describe("the opamp-go test agent's own tests (go test)", () => {
  it('pass, among them: offers kept and persisted, refused offers rolled back, over WebSocket and HTTP', async () => {
    const root = join(__dirname, '..', '..', '..');
    const env = { ...loadE2eConfig().inheritedEnv, GOFLAGS: '-mod=mod -buildvcs=false' };
    const out = await new Promise<string>((resolve) => {
      // Its exit code is in the per-test results below; a failure prints the test's output.
      execFile('go', ['test', '-count=1', '-json', '.'], { cwd: join(root, OPAMP_GO_AGENT_SOURCES), env, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 }, (_err, stdout, stderr) =>
        resolve(`${stdout}${stderr}`),
      );
    });
    const lines = out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { Action: string; Test?: string; Output?: string });
    const results = lines.filter((e) => e.Test !== undefined && ['pass', 'fail', 'skip'].includes(e.Action));
    const failed = results.filter((r) => r.Action !== 'pass').map((r) => `${r.Test}: ${r.Action}`);
    const missing = EXPECTED_GO_TESTS.filter((name) => !results.some((r) => r.Test === name && r.Action === 'pass'));
    // A failure or a build error shows what go test printed.
    const shown = failed.length + missing.length > 0 ? `${lines.map((e) => e.Output ?? '').join('')}\n${out.split('\n').filter((l) => !l.startsWith('{')).join('\n')}` : '';
    expect({ failed, missing, output: shown }).toEqual({ failed: [], missing: [], output: '' });
  }, 320_000);
});
