/**
 * Own-telemetry destinations (issue 19, item 1) in config-service on the real
 * Kafka, Redis and PostgreSQL: a profile's destinations are validated (400,
 * counted, nothing stored) and audited without their values; turning the
 * tenant setting own_telemetry_to_server on offers ReportsOwnMetrics agents
 * on their own credential this server's receiver with that credential, only
 * them (gated), once per content; a profile's external destination replaces
 * it; and the agent's reported status shows in GetAgent.
 */
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const BASE = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsHeartbeat;
const OWN_METRICS = BASE | AgentCapabilities.ReportsOwnMetrics | AgentCapabilities.ReportsConnectionSettingsStatus;
const S = opamp.proto.v1.ConnectionSettingsStatuses;

describe('own-telemetry destinations (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('owntel', { pushes: true, overrides: { credentialKey: Buffer.alloc(32, 9), publicOpampUrl: 'wss://fleet.example.com:4320/v1/opamp', offerHeartbeatS: 15 } });
  });
  afterAll(() => bed.close());

  const tenant = () => bed.tenants[0].id;
  const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.connectionSettings).map((m) => m.connectionSettings!);

  it('refuses bad destinations with a clear message, counted, and stores nothing', async () => {
    const before = bed.primary.api.metrics.invalidArguments;
    const scheme = await bed.rest('POST', '/connection-profiles', { name: 'bad', ownTelemetry: { metrics: { destinationEndpoint: 'grpc://otlp.example.com:4317' } } });
    expect(scheme.status).toBe(400);
    expect(scheme.json['error']).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('own_telemetry.metrics.destination_endpoint must use http, https') });
    const missing = await bed.rest('POST', '/connection-profiles', { name: 'bad', ownTelemetry: { logs: { headers: [] } } });
    expect((missing.json['error'] as { message: string }).message).toMatch(/own_telemetry\.logs\.destination_endpoint is required/);
    const setting = await bed.rest('PUT', '/tenant-settings', { ownTelemetryToServer: 'yes' });
    expect(setting.status).toBe(400);
    expect((setting.json['error'] as { message: string }).message).toMatch(/ownTelemetryToServer' must be true or false/);
    expect(bed.primary.api.metrics.invalidArguments).toBe(before + 3);
    expect((await bed.pool.query(`SELECT 1 FROM connection_profiles WHERE tenant_id = $1 AND name = 'bad'`, [tenant()])).rows).toEqual([]);
  });

  it('the tenant setting offers this server as the destination to ReportsOwnMetrics agents only, with their own credential, once; a profile\'s external one replaces it', async () => {
    const reporting = await bed.agentOnOwnCredential({ labels: { team: 'obs' }, capabilities: OWN_METRICS });
    const silent = await bed.agentOnOwnCredential({ labels: { team: 'obs' }, capabilities: BASE });
    expect(offersTo(reporting.uid)).toHaveLength(1);
    expect(offersTo(reporting.uid)[0].ownMetrics).toBeFalsy();

    const on = await bed.rest('PUT', '/tenant-settings', { ownTelemetryToServer: true });
    expect(on.status).toBe(200);
    expect(on.json).toMatchObject({ ownTelemetryToServer: true });
    expect((await bed.rest('GET', '/tenant-settings')).json).toMatchObject({ ownTelemetryToServer: true });
    const [, offer] = await waitFor(() => offersTo(reporting.uid), (o) => o.length === 2, { description: 'own metrics offered' });
    expect(offer.ownMetrics).toMatchObject({ destinationEndpoint: 'https://fleet.example.com:4320/v1/metrics', headers: { headers: [{ key: 'Authorization', value: `Bearer ${reporting.secret}` }] } });
    expect(offer.ownTraces).toBeFalsy();
    await bed.primary.api.connectionProfiles.idle();
    // The agent without the capability: its offer's content did not change, so nothing is sent (C45, C61).
    expect(offersTo(silent.uid)).toHaveLength(1);

    // It reports the new hash APPLIED: not offered again, and GetAgent shows it.
    const handled = bed.identityHandled();
    await reporting.report({ changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS, connectionSettingsHash: Buffer.from(offer.hash!), connectionSettingsStatus: S.ConnectionSettingsStatuses_APPLIED });
    await waitFor(() => bed.identityHandled(), (n) => n > handled, { description: 'the report handled' });
    expect(offersTo(reporting.uid)).toHaveLength(2);
    const agent = await waitFor(
      () => bed.rest('GET', `/agents/${reporting.uid.toString('hex')}`),
      (r) => (r.json['connectionSettings'] as { status?: string } | undefined)?.status === 'CONNECTION_SETTINGS_STATE_APPLIED',
      { description: 'the status in GetAgent' },
    );
    expect(agent.json['connectionSettings']).toMatchObject({ reportedHash: Buffer.from(offer.hash!).toString('hex'), offeredHash: Buffer.from(offer.hash!).toString('hex') });

    // An external destination for the group: offered instead, with its headers and never the agent's credential.
    const created = await bed.rest('POST', '/connection-profiles', {
      name: 'obs',
      selector: 'team=obs',
      ownTelemetry: { metrics: { destinationEndpoint: 'https://otlp.example.com/v1/metrics', headers: [{ key: 'X-Api-Key', value: 'backend-secret-7' }] } },
    });
    expect(created.status).toBe(200);
    expect(created.json).toMatchObject({ ownTelemetry: { metrics: { destinationEndpoint: 'https://otlp.example.com/v1/metrics' } } });
    const third = (await waitFor(() => offersTo(reporting.uid), (o) => o.length === 3, { description: 'the external destination offered' }))[2];
    expect(third.ownMetrics).toMatchObject({ destinationEndpoint: 'https://otlp.example.com/v1/metrics', headers: { headers: [{ key: 'X-Api-Key', value: 'backend-secret-7' }] } });
    expect(JSON.stringify(third.ownMetrics)).not.toContain(reporting.secret);

    // Audited: the setting's change, and the profile without the header's value.
    const audit = await bed.pool.query(`SELECT action, details FROM audit_log WHERE tenant_id = $1 AND action IN ('tenant.update_settings', 'connection_profile.create') ORDER BY id`, [tenant()]);
    expect(audit.rows.map((r) => r['action'])).toEqual(['tenant.update_settings', 'connection_profile.create']);
    expect(audit.rows[0]['details']).toMatchObject({ ownTelemetryToServer: { from: false, to: true } });
    expect(JSON.stringify(audit.rows)).not.toContain('backend-secret-7');
  });
});
