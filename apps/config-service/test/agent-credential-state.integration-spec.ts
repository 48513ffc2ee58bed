/**
 * Agents' credential state in ListAgents and GetAgent (REST, real Kafka,
 * Redis and PostgreSQL): agents taken through the identity flow to each state
 * (never issued, on offer, active, rotating, revoked) show it with the kind
 * of credential they were last admitted with, and the credential_state filter
 * lists exactly the agents in the states named (REST and gRPC); an unknown
 * state is a 400 (INVALID_ARGUMENT).
 */
import { fleet } from '@opamp/contracts';
import { AgentCapabilities } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const BASE = AgentCapabilities.ReportsStatus | AgentCapabilities.ReportsHeartbeat;
const CAPS = BASE | AgentCapabilities.AcceptsOpAMPConnectionSettings;
const K = fleet.v1.CredentialKind;
const CONNECTION = fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION;

interface Summary {
  kind: string;
  state: string;
  retireTime: string;
}

describe('agent credential state in ListAgents and GetAgent (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  const uids: Record<'none' | 'offered' | 'active' | 'rotating' | 'revoked', string> = { none: '', offered: '', active: '', rotating: '', revoked: '' };
  let retireTime = '';

  const tenant = () => bed.tenants[0].id;
  const hexOf = (uid: Buffer) => uid.toString('hex');

  /** Enrolls an agent with the token; with the capability it is offered a credential, whose id is returned. */
  async function enroll(tokenId: string, capabilities: number): Promise<{ uid: Buffer; offered: string | null }> {
    const uid = bed.newUid();
    await bed.report({ tenant: tenant(), uid, capabilities, labels: { suite: 'credential-state' }, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: CONNECTION });
    if ((capabilities & AgentCapabilities.AcceptsOpAMPConnectionSettings) === 0) {
      await waitFor(() => bed.pool.query(`SELECT 1 FROM agent_enrollments WHERE instance_uid = $1`, [uid]), (r) => r.rows.length === 1, { description: 'enrolled' });
      return { uid, offered: null };
    }
    const rows = await waitFor(
      async () => (await bed.pool.query(`SELECT id FROM agent_credentials WHERE instance_uid = $1 AND state = 'offered'`, [uid])).rows,
      (r) => r.length === 1,
      { description: 'a credential on offer' },
    );
    return { uid, offered: String(rows[0]['id']) };
  }

  /** The agent connects with its own credential: it becomes active. */
  async function switchTo(uid: Buffer, credentialId: string, connectionId: string): Promise<void> {
    await bed.report({ tenant: tenant(), uid, capabilities: CAPS, labels: { suite: 'credential-state' }, credentialId, credentialKind: K.CREDENTIAL_KIND_AGENT, connectionId, changes: fleet.v1.AgentChange.AGENT_CHANGE_CREDENTIAL });
    await waitFor(
      async () => (await bed.pool.query(`SELECT state FROM agent_credentials WHERE id = $1`, [credentialId])).rows[0]?.['state'],
      (s) => s === 'active',
      { description: 'the credential active' },
    );
  }

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('credstate', { pushes: true, overrides: { credentialKey: Buffer.alloc(32, 7), publicOpampUrl: 'https://opamp.example.com/v1/opamp' } });
    const created = await bed.rest('POST', '/agent-tokens', { name: 'enrollment' });
    const tokenId = String((created.json['token'] as { id: string }).id);

    uids.none = hexOf((await enroll(tokenId, BASE)).uid);
    uids.offered = hexOf((await enroll(tokenId, CAPS)).uid);
    const active = await enroll(tokenId, CAPS);
    await switchTo(active.uid, active.offered!, 'conn-active-2');
    uids.active = hexOf(active.uid);
    const rotating = await enroll(tokenId, CAPS);
    await switchTo(rotating.uid, rotating.offered!, 'conn-rotating-2');
    expect((await bed.rest('POST', '/agent-credentials:rotate', { instanceUid: hexOf(rotating.uid) })).json).toEqual({ agents: 1, credentials: 1 });
    uids.rotating = hexOf(rotating.uid);
    const retire = await bed.pool.query(`SELECT retire_at FROM agent_credentials WHERE id = $1`, [rotating.offered]);
    retireTime = new Date(retire.rows[0]['retire_at'] as Date).toISOString();
    const revoked = await enroll(tokenId, CAPS);
    await switchTo(revoked.uid, revoked.offered!, 'conn-revoked-2');
    expect((await bed.rest('POST', '/agent-credentials:revoke', { instanceUid: hexOf(revoked.uid), reason: 'test' })).json).toEqual({ agents: 1, credentials: 1 });
    uids.revoked = hexOf(revoked.uid);
  }, 60_000);
  afterAll(() => bed?.close());

  async function list(query: string): Promise<Map<string, Summary>> {
    const r = await bed.rest('GET', `/agents?selector=suite%3Dcredential-state&pageSize=100${query}`);
    expect(r.status).toBe(200);
    return new Map((r.json['agents'] as Array<{ instanceUid: string; credential: Summary }>).map((a) => [a.instanceUid, a.credential]));
  }

  it('shows each agent its kind, state and, while rotating, the deadline', async () => {
    const all = await list('');
    expect(Object.fromEntries([...all].map(([uid, s]) => [Object.entries(uids).find(([, u]) => u === uid)?.[0], s]))).toEqual({
      none: { kind: 'ENROLLMENT_TOKEN', state: 'NONE', retireTime: '' },
      offered: { kind: 'ENROLLMENT_TOKEN', state: 'OFFERED', retireTime: '' },
      active: { kind: 'OWN_CREDENTIAL', state: 'ACTIVE', retireTime: '' },
      rotating: { kind: 'OWN_CREDENTIAL', state: 'ROTATING', retireTime },
      revoked: { kind: 'OWN_CREDENTIAL', state: 'REVOKED', retireTime: '' },
    });
    expect(retireTime).not.toBe('');
  });

  it('GetAgent shows the same summary', async () => {
    for (const [state, uid] of Object.entries(uids)) {
      const r = await bed.rest('GET', `/agents/${uid}`);
      expect({ state, credential: (r.json['credential'] as Summary).state }).toEqual({ state, credential: state.toUpperCase() });
    }
  });

  it.each([
    ['ROTATING', ['rotating']],
    ['ACTIVE', ['active']],
    ['REVOKED', ['revoked']],
    ['none', ['none']],
    // Every agent not on a credential of its own yet.
    ['NONE,OFFERED', ['none', 'offered']],
    ['OFFERED&credentialState=ROTATING', ['offered', 'rotating']],
  ])('credentialState=%s lists exactly %j', async (value, expected) => {
    const listed = await list(`&credentialState=${value}`);
    expect([...listed.keys()].sort()).toEqual(expected.map((k) => uids[k as keyof typeof uids]).sort());
  });

  it('answers the same over gRPC', async () => {
    const r = await bed.rpc('ListAgents', { selector: 'suite=credential-state', credentialState: ['ROTATING', 'NONE'], pageSize: 100 });
    const agents = r['agents'] as Array<{ instanceUid: string; credential: Summary }>;
    expect(Object.fromEntries(agents.map((a) => [a.instanceUid, a.credential.state]))).toEqual({ [uids.rotating]: 'ROTATING', [uids.none]: 'NONE' });
    expect(agents.find((a) => a.instanceUid === uids.rotating)?.credential.retireTime).toBe(retireTime);
    await expect(bed.rpc('ListAgents', { credentialState: ['EXPIRED'] })).rejects.toMatchObject({ details: expect.stringContaining('credential_state: unknown state "EXPIRED"') });
  });

  it('refuses an unknown state with 400 and names the valid ones (counted)', async () => {
    const counted = bed.api.metrics.invalidArguments;
    const r = await bed.rest('GET', '/agents?credentialState=SUPERSEDED');
    expect(bed.api.metrics.invalidArguments).toBe(counted + 1);
    expect(r.status).toBe(400);
    expect((r.json['error'] as { message: string }).message).toBe('credential_state: unknown state "SUPERSEDED"; one of NONE, OFFERED, ACTIVE, ROTATING, REVOKED');
  });

  it('refuses a selector that does not parse with 400, over REST and gRPC, for rotate, revoke and status (found by the fuzz soak: they were 500s)', async () => {
    const counted = bed.api.metrics.invalidArguments;
    for (const [method, path] of [['POST', '/agent-credentials:rotate'], ['POST', '/agent-credentials:revoke']] as const) {
      const r = await bed.rest(method, path, { selector: '<' });
      expect([path, r.status]).toEqual([path, 400]);
      expect((r.json['error'] as { message: string }).message).toMatch(/selector/);
    }
    expect((await bed.rest('GET', '/agent-credentials:status?selector=a%20%3C')).status).toBe(400);
    await expect(bed.rpc('GetAgentCredentialsStatus', { selector: '\u0001' })).rejects.toMatchObject({ code: 3 });
    expect(bed.api.metrics.invalidArguments).toBe(counted + 4);
  });
});
