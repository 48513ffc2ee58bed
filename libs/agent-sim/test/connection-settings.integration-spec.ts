/**
 * The simulated agent following connection settings offers like the OpAMP
 * supervisor, against the built embedded server (real gateway, identity
 * reconciler and credential directory): enrolled with the tenant's token it is
 * offered a credential of its own, reports APPLYING, reconnects with it and
 * reports APPLIED; a rotation moves it to the next one without a refused
 * connection. A second server offers an endpoint its gateway refuses: the
 * agent rolls back to the settings that worked, reports FAILED and is not
 * offered (nor tries) that offer again.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import {
  randomPortBase,
  startEmbeddedServerProcess,
  stopEmbeddedServerProcess,
  waitFor,
  type EmbeddedServerProcess,
} from '@opamp/testing';
import { DEFAULT_AGENT_CAPABILITIES, SimulatedAgent, type ConnectionSettingsReport, type TransportKind } from '../src';

const S = opamp.proto.v1.ConnectionSettingsStatuses;
const CAPABILITIES = DEFAULT_AGENT_CAPABILITIES | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsConnectionSettingsStatus;
/** The heartbeat interval the servers put in their offers (the agents start with 30 s). */
const OFFER_HEARTBEAT_S = 2;
const WAIT = { timeoutMs: 30_000 };

interface ApiCredential {
  id: string;
  state: string;
}

describe('simulated agent following connection settings offers (embedded server)', () => {
  const work = mkdtempSync(join(tmpdir(), 'agent-sim-settings-'));
  let server: EmbeddedServerProcess;
  let refusing: EmbeddedServerProcess;
  const agents: SimulatedAgent[] = [];

  beforeAll(async () => {
    const refusingBase = randomPortBase();
    [server, refusing] = await Promise.all([
      startEmbeddedServerProcess({ dataDir: join(work, 'data'), startTimeoutMs: 90_000, env: { OPAMP_HEARTBEAT_INTERVAL_S: String(OFFER_HEARTBEAT_S) } }),
      // Offers a path of its own gateway that is not the OpAMP endpoint: the upgrade / POST there is refused.
      startEmbeddedServerProcess({
        dataDir: join(work, 'data-refusing'),
        basePort: refusingBase,
        startTimeoutMs: 90_000,
        env: { OPAMP_PUBLIC_OPAMP_URL: `http://127.0.0.1:${refusingBase}/v1/not-opamp` },
      }),
    ]);
  }, 180_000);

  afterAll(async () => {
    for (const a of agents) a.kill();
    await Promise.all([server, refusing].filter(Boolean).map((s) => stopEmbeddedServerProcess(s)));
    rmSync(work, { recursive: true, force: true });
  });

  const api = async <T>(target: EmbeddedServerProcess, method: string, path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${target.api}${path}`, {
      method,
      headers: { authorization: `Bearer ${target.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  const credentialsOf = (target: EmbeddedServerProcess, uid: string) => api<{ credentials: ApiCredential[] }>(target, 'GET', `/agents/${uid}/credentials`);

  const startAgent = (target: EmbeddedServerProcess, transport: TransportKind, heartbeatIntervalMs = 30_000) => {
    const agent = new SimulatedAgent({
      endpoint: transport === 'ws' ? target.ws : target.http,
      headers: { Authorization: `Bearer ${target.agentToken}` },
      capabilities: CAPABILITIES,
      followConnectionSettings: true,
      heartbeatIntervalMs,
      reconnect: { initialMs: 50, maxMs: 500 },
      description: { identifying: { 'service.name': 'agent-sim-settings', 'service.instance.id': `${transport}-${agents.length}` } },
    });
    const reports: ConnectionSettingsReport[] = [];
    agent.on('connectionSettings', (r) => reports.push(r));
    agents.push(agent);
    agent.start();
    return { agent, reports };
  };
  const statuses = (reports: ConnectionSettingsReport[]) => reports.map((r) => S[r.status]);

  it.each<TransportKind>(['ws', 'http'])('%s: takes its own credential, reports APPLYING then APPLIED, and follows a rotation without a refused connection', async (transport) => {
    const { agent, reports } = startAgent(server, transport);
    const enrollment = agent.connectionHeaders['Authorization'];

    await waitFor(() => agent.connectionSettingsStatus, (s) => s?.status === S.ConnectionSettingsStatuses_APPLIED, { ...WAIT, description: 'the first offer applied' });
    const first = Buffer.from(agent.connectionSettingsStatus?.hash ?? []);
    expect(statuses(reports)).toEqual(['ConnectionSettingsStatuses_APPLYING', 'ConnectionSettingsStatuses_APPLIED']);
    expect(agent.connectionHeaders['Authorization']).toMatch(/^Bearer opamp_agent_/);
    expect(agent.connectionHeaders['Authorization']).not.toBe(enrollment);
    expect(agent.heartbeatIntervalMs).toBe(OFFER_HEARTBEAT_S * 1000);
    await waitFor(() => credentialsOf(server, agent.instanceUidString), (r) => r.credentials.some((c) => c.state === 'ACTIVE'), { ...WAIT, description: 'its credential active' });

    const own = agent.connectionHeaders['Authorization'];
    expect(await api(server, 'POST', '/agent-credentials:rotate', { instanceUid: agent.instanceUidString })).toEqual({ agents: 1, credentials: 1 });
    await waitFor(
      () => agent.connectionSettingsStatus,
      (s) => s?.status === S.ConnectionSettingsStatuses_APPLIED && !Buffer.from(s.hash ?? []).equals(first),
      { ...WAIT, description: 'the rotation applied' },
    );
    expect(agent.connectionHeaders['Authorization']).toMatch(/^Bearer opamp_agent_/);
    expect(agent.connectionHeaders['Authorization']).not.toBe(own);
    const after = await waitFor(
      () => credentialsOf(server, agent.instanceUidString),
      (r) => r.credentials.filter((c) => c.state === 'ACTIVE').length === 1 && r.credentials.some((c) => c.state === 'SUPERSEDED'),
      { ...WAIT, description: 'the new credential active, the old one superseded' },
    );
    expect(after.credentials).toHaveLength(2);
    expect(statuses(reports).slice(2)).toEqual(['ConnectionSettingsStatuses_APPLYING', 'ConnectionSettingsStatuses_APPLIED']);
    // No connection of this well-behaved agent was refused, nor any message.
    expect(agent.errorsByKind).toEqual({});
    expect(agent.connected).toBe(true);
  });

  it.each<TransportKind>(['ws', 'http'])('%s: a refused offer is rolled back to the settings that worked and reported FAILED, and not tried again', async (transport) => {
    const { agent, reports } = startAgent(refusing, transport, 1000);
    const enrollment = agent.connectionHeaders['Authorization'];
    const endpoint = agent.endpoint;

    const failed = await waitFor(() => agent.connectionSettingsStatus, (s) => s?.status === S.ConnectionSettingsStatuses_FAILED, { ...WAIT, description: 'the offer failed' });
    expect(failed?.errorMessage).toMatch(/HTTP 4\d\d/);
    expect(statuses(reports)).toEqual(['ConnectionSettingsStatuses_APPLYING', 'ConnectionSettingsStatuses_FAILED']);
    // Back on what worked: the enrollment token at the first endpoint, connected again.
    expect(agent.connectionHeaders['Authorization']).toBe(enrollment);
    expect(agent.endpoint).toBe(endpoint);
    await waitFor(() => agent.connected, (c) => c, { ...WAIT, description: 'reconnected with the old settings' });
    const refusedOnce = agent.errorsByKind.http_status;
    expect(refusedOnce).toBe(1);

    // FAILED reported for this hash: the server does not offer it again, and the agent would not try it.
    const sent = agent.sent;
    await waitFor(() => agent.sent, (n) => n >= sent + 2, { ...WAIT, description: 'two more heartbeats / polls' });
    expect(agent.errorsByKind.http_status).toBe(1);
    expect(statuses(reports)).toEqual(['ConnectionSettingsStatuses_APPLYING', 'ConnectionSettingsStatuses_FAILED']);
    expect(agent.connectionSettingsStatus).toEqual(failed);
    const creds = await credentialsOf(refusing, agent.instanceUidString);
    expect(creds.credentials.map((c) => c.state)).toEqual(['OFFERED']);
  });
});
