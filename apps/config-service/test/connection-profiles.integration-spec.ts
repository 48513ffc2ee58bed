/**
 * Connection profiles in config-service on the real Kafka, Redis and
 * PostgreSQL: the resource is validated (the credential's header refused)
 * and audited without its values; creating, changing or deleting one offers
 * its agents on their own credential what they now get (its heartbeat
 * interval and headers beside the credential, gated by capability) once per
 * content hash; HTTP agents find it in the pending store; a 0x8000 agent's
 * APPLIED or FAILED is shown per agent (GetAgent) and per profile (counts),
 * and FAILED for the current hash is not offered again before its back-off;
 * a change's offers are due in the database, so another replica sends them
 * when the one that made the change does not.
 */
import { PendingPushStore } from '@opamp/bus-redis';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, decodeServerToAgent, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const BASE = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const CAPS = BASE | AgentCapabilities.ReportsHeartbeat;
const REPORTING = CAPS | AgentCapabilities.ReportsConnectionSettingsStatus;
const K = fleet.v1.CredentialKind;
const S = opamp.proto.v1.ConnectionSettingsStatuses;

interface Counts {
  agents: number;
  applied: number;
  applying: number;
  failed: number;
  notReported: number;
}

describe('connection profiles (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('profiles', { pushes: true, overrides: { credentialKey: Buffer.alloc(32, 7), publicOpampUrl: 'https://opamp.example.com/v1/opamp', offerHeartbeatS: 15 } });
  });
  afterAll(() => bed.close());

  const tenant = () => bed.tenants[0].id;
  const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.connectionSettings).map((m) => m.connectionSettings!);
  const api = () => bed.primary.api.connectionProfiles;

  /** An agent enrolled and switched to its own credential (one offer so far). */
  const agentOnOwnCredential = (labels: Record<string, string>, capabilities = CAPS, transport = 1) => bed.agentOnOwnCredential({ labels, capabilities, transport });

  it('refuses bad profiles with a clear message, counted, and stores nothing', async () => {
    const before = bed.primary.api.metrics.invalidArguments;
    const bad = await bed.rest('POST', '/connection-profiles', { name: 'bad', opamp: { headers: [{ key: 'authorization', value: 'Bearer stolen' }] } });
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining("Authorization header carries the agent's own credential") });
    const injected = await bed.rest('POST', '/connection-profiles', { name: 'bad', opamp: { headers: [{ key: 'X-A', value: 'v\r\nX-B: 1' }] } });
    expect(injected.status).toBe(400);
    const endpoint = await bed.rest('POST', '/connection-profiles', { name: 'bad', opamp: { destinationEndpoint: 'ftp://elsewhere/' } });
    expect((endpoint.json['error'] as { message: string }).message).toMatch(/destination_endpoint must use ws, wss, http, https/);
    expect(bed.primary.api.metrics.invalidArguments).toBe(before + 3);
    expect((await bed.pool.query(`SELECT 1 FROM connection_profiles WHERE tenant_id = $1 AND name = 'bad'`, [tenant()])).rows).toEqual([]);
  });

  it('a profile reaches its agents on their own credential once per content: heartbeat and headers beside the credential, gated by capability; a change and a deletion offer again', async () => {
    const a = await agentOnOwnCredential({ team: 'pay' });
    const noHb = await agentOnOwnCredential({ team: 'pay' }, BASE);
    const other = await agentOnOwnCredential({ team: 'search' });
    for (const x of [a, noHb, other]) expect(offersTo(x.uid)).toHaveLength(1);

    const created = await bed.rest('POST', '/connection-profiles', {
      name: 'pay',
      selector: 'team=pay',
      priority: 10,
      opamp: { heartbeatIntervalSeconds: 7, headers: [{ key: 'X-Team', value: 'payments-secret-42' }] },
      otherConnections: { metrics: { destinationEndpoint: 'https://metrics.example.com/v1/metrics' } },
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ name: 'pay', selector: 'team=pay', priority: 10, opamp: { heartbeatIntervalSeconds: 7, headers: [{ key: 'X-Team', value: 'payments-secret-42' }] } });

    const [, offer] = await waitFor(() => offersTo(a.uid), (o) => o.length === 2, { description: 'the profile offered' });
    expect(Number(offer.opamp!.heartbeatIntervalSeconds)).toBe(7);
    expect(offer.opamp!.headers!.headers).toEqual([
      { key: 'Authorization', value: `Bearer ${a.secret}` },
      { key: 'X-Team', value: 'payments-secret-42' },
    ]);
    expect(offer.opamp!.destinationEndpoint).toBe('wss://opamp.example.com/v1/opamp');
    // No AcceptsOtherConnectionSettings: none offered.
    expect(offer.otherConnections ?? {}).toEqual({});
    const [, plain] = await waitFor(() => offersTo(noHb.uid), (o) => o.length === 2, { description: 'the profile offered without a heartbeat' });
    expect(plain.opamp!.heartbeatIntervalSeconds ?? 0).toEqual(0);
    expect(plain.opamp!.headers!.headers!.map((h) => h.key)).toEqual(['Authorization', 'X-Team']);
    await api().idle();
    expect(offersTo(other.uid)).toHaveLength(1);

    // The agent reporting again (same content) is not offered it again.
    const handled = bed.primary.identity.identity!.metrics.eventsHandled;
    await a.report({ changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    await waitFor(() => bed.identityHandled(), (n) => n > handled, { description: 'the report handled' });
    expect(offersTo(a.uid)).toHaveLength(2);

    // The audit log has the change, but not the header's value.
    const audit = await bed.pool.query(`SELECT action, details FROM audit_log WHERE tenant_id = $1 AND resource_type = 'connection_profile' AND resource_name = 'pay'`, [tenant()]);
    expect(audit.rows.map((r) => r['action'])).toEqual(['connection_profile.create']);
    expect(JSON.stringify(audit.rows)).not.toContain('payments-secret-42');

    // An update changes the content: offered again; a deletion returns to the server's settings.
    const updated = await bed.rest('PUT', '/connection-profiles/pay', { selector: 'team=pay', priority: 10, opamp: { heartbeatIntervalSeconds: 9, headers: [{ key: 'X-Team', value: 'payments-secret-42' }] } });
    expect(updated.status).toBe(200);
    const third = (await waitFor(() => offersTo(a.uid), (o) => o.length === 3, { description: 'the update offered' }))[2];
    expect(Number(third.opamp!.heartbeatIntervalSeconds)).toBe(9);
    expect((await bed.rest('DELETE', '/connection-profiles/pay')).status).toBe(200);
    const fourth = (await waitFor(() => offersTo(a.uid), (o) => o.length === 4, { description: 'the deletion offered' }))[3];
    expect(Number(fourth.opamp!.heartbeatIntervalSeconds)).toBe(15);
    expect(fourth.opamp!.headers!.headers!.map((h) => h.key)).toEqual(['Authorization']);
    // Back to the content first offered: the same hash (C60).
    expect(Buffer.from(fourth.hash!)).toEqual(Buffer.from(offersTo(a.uid)[0].hash!));
  });

  it('a plain-HTTP agent finds the offer in its pending store (its next poll)', async () => {
    const h = await agentOnOwnCredential({ team: 'http' }, CAPS, 2);
    const store = new PendingPushStore(bed.redis);
    await store.take(tenant(), h.uid.toString('hex'));
    await bed.rest('POST', '/connection-profiles', { name: 'http', selector: 'team=http', opamp: { heartbeatIntervalSeconds: 5, headers: [{ key: 'X-Poll', value: '1' }] } });
    const items = await waitFor(() => store.take(tenant(), h.uid.toString('hex')), (i) => i.some((x) => x.kind === 'connection_settings'), { description: 'pending offer' });
    const settings = decodeServerToAgent(items.find((x) => x.kind === 'connection_settings')!.serverToAgent).connectionSettings!;
    expect(settings.opamp!.destinationEndpoint).toBe('https://opamp.example.com/v1/opamp');
    expect(Number(settings.opamp!.heartbeatIntervalSeconds)).toBe(5);
    expect(settings.opamp!.headers!.headers!.map((x) => x.key)).toEqual(['Authorization', 'X-Poll']);
  });

  it('a change is durable: with this replica\'s offer queue stopped, its offers are due in the database and another replica sends them', async () => {
    const a = await agentOnOwnCredential({ team: 'durable' });
    const queue = bed.primary.identity.offers as unknown as { stop(): Promise<void>; start(): void };
    await queue.stop();
    try {
      expect((await bed.rest('POST', '/connection-profiles', { name: 'durable', selector: 'team=durable', opamp: { heartbeatIntervalSeconds: 9 } })).status).toBe(200);
      const due = await bed.pool.query(`SELECT offer_due_at FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 AND state = 'active'`, [tenant(), a.uid]);
      expect(due.rows[0]['offer_due_at']).not.toBeNull();
      expect(offersTo(a.uid)).toHaveLength(1);
      // Another replica (its queue runs from its start) finds the offer due and sends it.
      await bed.startReplica('durable');
      const [, offer] = await waitFor(() => offersTo(a.uid), (o) => o.length === 2, { description: 'the profile offered by the other replica' });
      expect(Number(offer.opamp!.heartbeatIntervalSeconds)).toBe(9);
    } finally {
      queue.start();
    }
  });

  it('over gRPC as over REST: a new endpoint moves a group (each agent gets its transport\'s form, its credential kept); a bad one is INVALID_ARGUMENT', async () => {
    const ws = await agentOnOwnCredential({ cluster: 'move' });
    const http = await agentOnOwnCredential({ cluster: 'move' }, CAPS, 2);
    const store = new PendingPushStore(bed.redis);
    await store.take(tenant(), http.uid.toString('hex'));
    await expect(bed.primary.rpc('CreateConnectionProfile', { connectionProfile: { name: 'move', opamp: { destinationEndpoint: 'mailto:x@example.com' } } })).rejects.toMatchObject({
      code: 3,
      details: expect.stringContaining('destination_endpoint must use ws, wss, http, https'),
    });
    const created = await bed.primary.rpc('CreateConnectionProfile', {
      connectionProfile: { name: 'move', selector: 'cluster=move', priority: 1, opamp: { destinationEndpoint: 'wss://cluster-b.example.com:4320/v1/opamp' } },
    });
    expect(created).toMatchObject({ name: 'move', opamp: { destinationEndpoint: 'wss://cluster-b.example.com:4320/v1/opamp' }, agentCounts: { agents: 2 } });
    const offer = (await waitFor(() => offersTo(ws.uid), (o) => o.length === 2, { description: 'the move offered' }))[1];
    expect(offer.opamp!.destinationEndpoint).toBe('wss://cluster-b.example.com:4320/v1/opamp');
    expect(offer.opamp!.headers!.headers).toEqual([{ key: 'Authorization', value: `Bearer ${ws.secret}` }]);
    const items = await waitFor(() => store.take(tenant(), http.uid.toString('hex')), (i) => i.some((x) => x.kind === 'connection_settings'), { description: 'pending move' });
    expect(decodeServerToAgent(items.find((x) => x.kind === 'connection_settings')!.serverToAgent).connectionSettings!.opamp!.destinationEndpoint).toBe('https://cluster-b.example.com:4320/v1/opamp');
    const got = await bed.primary.rpc('GetConnectionProfile', { name: 'move' });
    expect(got['agentCounts']).toMatchObject({ agents: 2, notReported: 2 });
    await bed.primary.rpc('DeleteConnectionProfile', { name: 'move' });
  });

  it('shows what 0x8000 agents report per agent and per profile; FAILED for the current hash is not offered again', async () => {
    const ok = await agentOnOwnCredential({ team: 'obs' }, REPORTING | AgentCapabilities.AcceptsOtherConnectionSettings);
    const bad = await agentOnOwnCredential({ team: 'obs' }, REPORTING);
    const silent = await agentOnOwnCredential({ team: 'obs' }, CAPS);
    await bed.rest('POST', '/connection-profiles', {
      name: 'obs',
      selector: 'team=obs',
      opamp: { heartbeatIntervalSeconds: 11, headers: [{ key: 'X-Obs', value: '1' }], tls: { minVersion: '1.2' } },
      otherConnections: { logs: { destinationEndpoint: 'https://logs.example.com/v1/logs', headers: [{ key: 'X-Key', value: 'k' }], otherSettings: { region: 'eu' } } },
    });
    const okOffer = (await waitFor(() => offersTo(ok.uid), (o) => o.length === 2, { description: 'offered' }))[1];
    expect(okOffer.otherConnections!['logs']).toMatchObject({ destinationEndpoint: 'https://logs.example.com/v1/logs', otherSettings: { region: 'eu' } });
    expect(okOffer.opamp!.tls).toMatchObject({ minVersion: '1.2' });
    const badOffer = (await waitFor(() => offersTo(bad.uid), (o) => o.length === 2, { description: 'offered' }))[1];
    await waitFor(() => offersTo(silent.uid), (o) => o.length === 2, { description: 'offered' });

    const before = await bed.rest('GET', '/connection-profiles/obs');
    expect(before.json['agentCounts']).toEqual({ agents: 3, applied: 0, applying: 0, failed: 0, notReported: 3 });

    await ok.report({ connectionSettingsHash: Buffer.from(okOffer.hash!), connectionSettingsStatus: S.ConnectionSettingsStatuses_APPLIED, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS });
    const handled = bed.identityHandled();
    await bed.report({
      tenant: tenant(),
      uid: bad.uid,
      capabilities: REPORTING,
      labels: { team: 'obs' },
      credentialId: bad.id,
      credentialKind: K.CREDENTIAL_KIND_AGENT,
      connectionId: 'bad-reconnected',
      connectionSettingsHash: Buffer.from(badOffer.hash!),
      connectionSettingsStatus: S.ConnectionSettingsStatuses_FAILED,
      connectionSettingsError: 'proxy unreachable',
      changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION | fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS,
    });
    await waitFor(() => bed.identityHandled(), (n) => n >= handled + 1, { description: 'the reports handled' });
    // FAILED for the current hash, on a new connection: waits for the operator.
    expect(offersTo(bad.uid)).toHaveLength(2);

    const agent = await bed.rest('GET', `/agents/${ok.uid.toString('hex')}`);
    expect(agent.json['connectionSettings']).toEqual({
      profileName: 'obs',
      reportedHash: Buffer.from(okOffer.hash!).toString('hex'),
      status: 'CONNECTION_SETTINGS_STATE_APPLIED',
      errorMessage: '',
      offeredHash: Buffer.from(okOffer.hash!).toString('hex'),
    });
    const failed = await bed.rest('GET', `/agents/${bad.uid.toString('hex')}`);
    expect(failed.json['connectionSettings']).toMatchObject({ profileName: 'obs', status: 'CONNECTION_SETTINGS_STATE_FAILED', errorMessage: 'proxy unreachable' });

    const profile = await bed.rest('GET', '/connection-profiles/obs');
    expect(profile.json['agentCounts']).toEqual({ agents: 3, applied: 1, applying: 0, failed: 1, notReported: 1 });
    const listed = await bed.rest('GET', '/connection-profiles');
    const counts = Object.fromEntries((listed.json['connectionProfiles'] as Array<{ name: string; agentCounts: Counts }>).map((p) => [p.name, p.agentCounts]));
    expect(counts['obs']).toEqual({ agents: 3, applied: 1, applying: 0, failed: 1, notReported: 1 });
    expect(counts['http']).toMatchObject({ agents: 1 });
  });
});
