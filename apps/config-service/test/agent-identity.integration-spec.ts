/**
 * Agents' identity in config-service on the real Kafka, Redis and PostgreSQL:
 * an agent that accepts connection settings and connects with an enrollment
 * token is enrolled (the token's use counted) and offered its own credential,
 * which the gateways' Redis directory holds before the offer leaves; the offer
 * is not repeated to the same connection while the agent switches; seen with
 * it, the credential becomes active (the enrollment token then stops speaking
 * for the agent); rotation offers a new one; revocation removes it from the
 * directory (every gateway closes its connections); a token past its use
 * limit enrolls no further agent; without a credential key nothing is issued.
 */
import { createHash } from 'node:crypto';
import { AgentTokenDirectory, type AgentTokenChange } from '@opamp/bus-redis';
import { fleet } from '@opamp/contracts';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import { waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const CAPS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsHeartbeat;
const K = fleet.v1.CredentialKind;
const KEY = Buffer.alloc(32, 5);
/** How the gateways' directory knows a secret: base64 SHA-256. */
const agentTokenDigest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('base64');

describe('agent identity (config-service on real Kafka, Redis, PostgreSQL)', () => {
  let bed: ConfigServiceBed;
  const changes: AgentTokenChange[] = [];
  let unwatch: () => Promise<void>;
  let watcher: ReturnType<ConfigServiceBed['redis']['duplicate']>;

  beforeAll(async () => {
    bed = await ConfigServiceBed.start('identity', { pushes: true, overrides: { credentialKey: KEY, publicOpampUrl: 'https://opamp.example.com/v1/opamp', offerHeartbeatS: 15 } });
    watcher = bed.redis.duplicate();
    unwatch = await AgentTokenDirectory.watch(watcher, (c) => changes.push(c));
  });
  afterAll(async () => {
    await unwatch();
    await watcher.quit();
    await bed.close();
  });

  const tenant = () => bed.tenants[0].id;
  async function enrollmentToken(): Promise<string> {
    const created = await bed.rest('POST', '/agent-tokens', { name: 'enrollment' });
    expect(created.status).toBe(200);
    return String((created.json['token'] as { id: string }).id);
  }
  const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.connectionSettings);
  const directoryValue = async (secret: string) => bed.redis.hget('opamp:agent-tokens', agentTokenDigest(secret));

  it('enrolls, issues and offers an own credential (the directory first), does not repeat it while awaited, activates it when the agent switches, revokes it', async () => {
    const tokenId = await enrollmentToken();
    const uid = bed.newUid();
    await bed.report({ tenant: tenant(), uid, capabilities: CAPS, labels: {}, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    const [offer] = await waitFor(() => offersTo(uid), (o) => o.length === 1, { description: 'an offer' });
    const settings = offer.connectionSettings!.opamp!;
    expect(settings.destinationEndpoint).toBe('wss://opamp.example.com/v1/opamp');
    expect(Number(settings.heartbeatIntervalSeconds)).toBe(15);
    const [header] = settings.headers!.headers!;
    expect(header.key).toBe('Authorization');
    const secret = header.value!.replace(/^Bearer /, '');
    expect(offer.connectionSettings!.hash).toHaveLength(32);
    // The gateways accept it (not yet as the agent's active one) before the agent can try it.
    expect(await directoryValue(secret)).toMatch(new RegExp(`^${tenant()}\\|[0-9a-f-]{36}\\|a\\|${uid.toString('hex')}\\|0\\|0$`));
    // Only its hash is stored.
    const stored = await bed.pool.query(`SELECT * FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2`, [tenant(), uid]);
    expect(stored.rows).toHaveLength(1);
    expect(JSON.stringify(stored.rows)).not.toContain(secret);
    const credentialId = String(stored.rows[0]['id']);
    expect((await bed.pool.query(`SELECT uses FROM api_tokens WHERE id = $1`, [tokenId])).rows[0]['uses']).toBe(1);

    // The same connection reporting again meanwhile is not offered it again.
    const handled = bed.reconciler.metrics.eventsHandled;
    await bed.report({ tenant: tenant(), uid, capabilities: CAPS, labels: { x: '1' }, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    await bed.handled(handled, 1);
    await waitFor(() => bed.identityHandled(), (n) => n >= 2, { description: 'the identity handler caught up' });
    expect(offersTo(uid)).toHaveLength(1);

    // Seen with it (a new connection): active, and so the enrollment token no longer speaks for the agent.
    await bed.report({ tenant: tenant(), uid, capabilities: CAPS, labels: {}, credentialId, credentialKind: K.CREDENTIAL_KIND_AGENT, connectionId: 'conn-2', changes: fleet.v1.AgentChange.AGENT_CHANGE_CREDENTIAL });
    await waitFor(() => directoryValue(secret), (v) => v?.endsWith('|1|0') === true, { description: 'the credential active in the directory' });
    const listed = await bed.rest('GET', `/agents/${uid.toString('hex')}/credentials`);
    expect(listed.json).toMatchObject({ credentials: [{ id: credentialId, state: 'ACTIVE', enrollmentTokenId: tokenId }], enrollment: { enrollmentTokenId: tokenId, enrollments: 1 } });

    // Rotation: a second credential on offer and in the directory; the old one keeps working meanwhile.
    const rotated = await bed.rest('POST', '/agent-credentials:rotate', { instanceUid: uid.toString('hex') });
    expect(rotated.json).toEqual({ agents: 1, credentials: 1 });
    const [, second] = await waitFor(() => offersTo(uid), (o) => o.length === 2, { description: 'the rotation offered' });
    const next = second.connectionSettings!.opamp!.headers!.headers![0].value!.replace(/^Bearer /, '');
    expect(next).not.toBe(secret);
    expect(await directoryValue(next)).toMatch(/\|a\|[0-9a-f]{32}\|0\|0$/);
    expect(await directoryValue(secret)).toMatch(/\|1\|0$/);
    const pending = await bed.rest('GET', '/agent-credentials:pending-switches');
    expect((pending.json['credentials'] as Array<{ id: string; retireTime: string }>).map((c) => c.id)).toEqual([credentialId]);

    // Revocation: both leave the directory (gateways close their connections on `del`).
    const revoked = await bed.rest('POST', '/agent-credentials:revoke', { instanceUid: uid.toString('hex'), reason: 'lost laptop' });
    expect(revoked.json).toEqual({ agents: 1, credentials: 2 });
    expect(await directoryValue(secret)).toBeNull();
    expect(await directoryValue(next)).toBeNull();
    await waitFor(() => changes.filter((c) => c.action === 'del'), (d) => d.length >= 2, { description: 'two deletions announced' });
    const audit = await bed.pool.query(`SELECT action FROM audit_log WHERE tenant_id = $1 AND (resource_name = $2 OR action LIKE 'agent_credential.%') ORDER BY id`, [tenant(), uid.toString('hex')]);
    expect(audit.rows.map((r) => r['action'])).toEqual(['agent.enroll', 'agent_credential.issue', 'agent_credential.activate', 'agent_credential.rotate', 'agent_credential.revoke']);
  });

  /** Enrolls an agent and lets it switch to its own credential; returns its credential id and secret. */
  const agentOnOwnCredential = (enrollmentTokenId?: string) => bed.agentOnOwnCredential({ capabilities: CAPS, enrollmentTokenId });
  const sweeper = () => (bed.primary.identity as unknown as { sweeper: { sweepOnce(): Promise<{ expired: number; rotated: number }> } }).sweeper;

  it('answers a rotation before any offer leaves (the offer queue sends them), counts how far it got, shows a FAILED offer and replaces it on the next rotation', async () => {
    const labels = { rotation: 'queued' };
    const a = await bed.agentOnOwnCredential({ capabilities: CAPS | AgentCapabilities.ReportsConnectionSettingsStatus, labels });
    const b = await bed.agentOnOwnCredential({ capabilities: CAPS | AgentCapabilities.ReportsConnectionSettingsStatus, labels });
    const queue = bed.primary.identity.offers as unknown as { stop(): Promise<void>; start(): void };
    const live = (uid: Buffer) => bed.pool.query(`SELECT id, offered_at FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 AND state = 'offered'`, [tenant(), uid]);
    const status = async () => (await bed.rest('GET', `/agent-credentials:status?selector=${encodeURIComponent('rotation=queued')}`)).json;
    await queue.stop();
    try {
      expect((await bed.rest('POST', '/agent-credentials:rotate', { selector: 'rotation=queued' })).json).toEqual({ agents: 2, credentials: 2 });
      // Answered with the credentials written, none offered yet.
      expect((await live(a.uid)).rows.map((r) => r['offered_at'])).toEqual([null]);
      expect((await live(b.uid)).rows.map((r) => r['offered_at'])).toEqual([null]);
      expect(await status()).toEqual({ agents: 2, pending: 2, offered: 0, failed: 0, switched: 0 });
    } finally {
      queue.start();
    }
    const [, offerA] = await waitFor(() => offersTo(a.uid), (o) => o.length === 2, { description: 'a offered by the queue' });
    await waitFor(() => offersTo(b.uid), (o) => o.length === 2, { description: 'b offered by the queue' });
    expect(await bed.rpc('GetAgentCredentialsStatus', { selector: 'rotation=queued' })).toEqual({ agents: 2, pending: 0, offered: 2, failed: 0, switched: 0 });

    // a cannot use its offer: FAILED, with its message, listed so.
    await a.report({
      connectionSettingsHash: Buffer.from(offerA.connectionSettings!.hash as Uint8Array),
      connectionSettingsStatus: opamp.proto.v1.ConnectionSettingsStatuses.ConnectionSettingsStatuses_FAILED,
      connectionSettingsError: 'proxy refused the connection',
      changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION_SETTINGS_STATUS,
    });
    await waitFor(() => status(), (s) => s['failed'] === 1, { description: 'the failure counted' });
    const pending = (await bed.rest('GET', '/agent-credentials:pending-switches')).json['credentials'] as Array<Record<string, unknown>>;
    expect(pending.find((c) => c['id'] === a.id)).toMatchObject({ offerState: 'FAILED', offerError: 'proxy refused the connection', offerFailures: 1 });
    expect(pending.find((c) => c['id'] === b.id)).toMatchObject({ offerState: 'SENT', offerFailures: 0 });

    // Rotating a again replaces the failed credential: the gateways drop it, a fresh one is offered.
    const failedId = String((await live(a.uid)).rows[0]['id']);
    const failedSecret = bed.primary.identity.credentials.secretOf({ tenantId: tenant(), id: failedId });
    expect(await directoryValue(failedSecret)).not.toBeNull();
    expect((await bed.rest('POST', '/agent-credentials:rotate', { instanceUid: a.uid.toString('hex') })).json).toEqual({ agents: 1, credentials: 1 });
    expect(await directoryValue(failedSecret)).toBeNull();
    const [, , third] = await waitFor(() => offersTo(a.uid), (o) => o.length === 3, { description: 'a fresh credential offered' });
    expect(third.connectionSettings!.opamp!.headers!.headers![0].value).not.toBe(offerA.connectionSettings!.opamp!.headers!.headers![0].value);

    // b switches: counted as switched.
    const next = String((await live(b.uid)).rows[0]['id']);
    await bed.report({ tenant: tenant(), uid: b.uid, capabilities: CAPS, labels, credentialId: next, credentialKind: K.CREDENTIAL_KIND_AGENT, connectionId: 'b-next', changes: fleet.v1.AgentChange.AGENT_CHANGE_CREDENTIAL });
    await waitFor(() => status(), (s) => s['switched'] === 1, { description: 'b switched' });
    expect(await status()).toEqual({ agents: 2, pending: 0, offered: 1, failed: 0, switched: 1 });
  });

  it('expires an old credential whose rotation deadline passed, and rotates credentials older than the tenant\'s lifetime', async () => {
    const a = await agentOnOwnCredential();
    expect((await bed.rest('POST', '/agent-credentials:rotate', { instanceUid: a.uid.toString('hex') })).json).toEqual({ agents: 1, credentials: 1 });
    await bed.pool.query(`UPDATE agent_credentials SET retire_at = now() - interval '1 second' WHERE id = $1`, [a.id]);
    expect((await sweeper().sweepOnce()).expired).toBe(1);
    expect(await directoryValue(a.secret)).toBeNull();
    expect((await bed.pool.query(`SELECT state FROM agent_credentials WHERE id = $1`, [a.id])).rows[0]['state']).toBe('expired');

    const b = await agentOnOwnCredential();
    await bed.pool.query(`UPDATE tenants SET agent_credential_lifetime_days = 1 WHERE id = $1`, [tenant()]);
    await bed.pool.query(`UPDATE agent_credentials SET activated_at = now() - interval '2 days' WHERE id = $1`, [b.id]);
    try {
      expect((await sweeper().sweepOnce()).rotated).toBeGreaterThanOrEqual(1);
      // Offered at once to the connected agent; the old one still works until it switches.
      await waitFor(() => offersTo(b.uid), (o) => o.length === 2, { description: 'the scheduled rotation offered' });
      expect(await directoryValue(b.secret)).toMatch(/\|1\|0$/);
      expect((await bed.pool.query(`SELECT retire_at FROM agent_credentials WHERE id = $1`, [b.id])).rows[0]['retire_at']).not.toBeNull();
    } finally {
      await bed.pool.query(`UPDATE tenants SET agent_credential_lifetime_days = 0 WHERE id = $1`, [tenant()]);
    }
  });

  it('revokes with an enrollment token every credential of the agents it brought in, when asked to', async () => {
    const tokenId = await enrollmentToken();
    const a = await agentOnOwnCredential(tokenId);
    const b = await agentOnOwnCredential(tokenId);
    const other = await agentOnOwnCredential();
    const revoked = await bed.rest('DELETE', `/agent-tokens/${tokenId}?revokeCredentials=true`);
    expect(revoked.status).toBe(200);
    expect(await directoryValue(a.secret)).toBeNull();
    expect(await directoryValue(b.secret)).toBeNull();
    expect(await directoryValue(other.secret)).toMatch(/\|1\|0$/);
    const states = await bed.pool.query(`SELECT id, state FROM agent_credentials WHERE id = ANY($1::uuid[])`, [[a.id, b.id, other.id]]);
    expect(Object.fromEntries(states.rows.map((r) => [r['id'], r['state']]))).toEqual({ [a.id]: 'revoked', [b.id]: 'revoked', [other.id]: 'active' });
  });

  it('a directory sync from a snapshot that missed a live credential (another replica just issued it) keeps it, and drops what the database does not accept', async () => {
    const a = await agentOnOwnCredential();
    const bogus = agentTokenDigest('never-issued');
    await bed.redis.hset('opamp:agent-tokens', bogus, `${tenant()}|x`);
    // The snapshot without agents' credentials: as if it had been read before `a` was issued.
    await bed.api.agentTokens.syncAgentTokens([]);
    expect(await directoryValue(a.secret)).toMatch(/\|1\|0$/);
    expect(await bed.redis.hget('opamp:agent-tokens', bogus)).toBeNull();
  });

  it('moves an agent\'s credential to the new instance_uid the server assigned it', async () => {
    const a = await agentOnOwnCredential();
    const next = bed.newUid();
    await bed.report({
      tenant: tenant(),
      uid: next,
      capabilities: CAPS,
      labels: {},
      credentialId: a.id,
      credentialKind: K.CREDENTIAL_KIND_AGENT,
      previousInstanceUid: a.uid,
      changes: fleet.v1.AgentChange.AGENT_CHANGE_INSTANCE_UID,
    });
    await waitFor(() => directoryValue(a.secret), (v) => v?.includes(`|a|${next.toString('hex')}|`) === true, { description: 'the directory entry names the new uid' });
    const listed = await bed.rest('GET', `/agents/${next.toString('hex')}/credentials`);
    expect(listed.json).toMatchObject({ credentials: [{ id: a.id, state: 'ACTIVE' }] });
  });

  it('enrolls no further agent on a token past its use limit: the agent is refused and its connection closed', async () => {
    const tokenId = await enrollmentToken();
    await bed.pool.query(`UPDATE api_tokens SET max_uses = 1 WHERE id = $1`, [tokenId]);
    const first = bed.newUid();
    const second = bed.newUid();
    await bed.report({ tenant: tenant(), uid: first, capabilities: CAPS, labels: {}, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    await waitFor(() => offersTo(first), (o) => o.length === 1, { description: 'the first agent offered' });
    await bed.report({ tenant: tenant(), uid: second, capabilities: CAPS, labels: {}, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    const refusal = await waitFor(
      () => bed.pushes.filter((p) => Buffer.from(p.instanceUid).equals(second) && p.closeAfter),
      (p) => p.length === 1,
      { description: 'the second agent refused with a close' },
    );
    expect(refusal).toHaveLength(1);
    expect(bed.pushesFor(second)[0].errorResponse?.type).toBe(opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest);
    expect(bed.pushesFor(second)[0].errorResponse?.errorMessage).toMatch(/use limit/);
    expect(offersTo(second)).toEqual([]);
    expect((await bed.pool.query(`SELECT uses FROM api_tokens WHERE id = $1`, [tokenId])).rows[0]['uses']).toBe(1);
  });
});

describe('agent identity without a credential key', () => {
  let bed: ConfigServiceBed;
  beforeAll(async () => {
    bed = await ConfigServiceBed.start('identity_nokey', { pushes: true, overrides: { credentialKey: null, publicOpampUrl: 'https://opamp.example.com/v1/opamp' } });
  });
  afterAll(() => bed.close());

  it('enrolls the agent but issues and offers nothing', async () => {
    const uid = bed.newUid();
    const created = await bed.rest('POST', '/agent-tokens', { name: 'enrollment' });
    const tokenId = String((created.json['token'] as { id: string }).id);
    await bed.report({ tenant: bed.tenants[0].id, uid, capabilities: CAPS, labels: {}, credentialId: tokenId, credentialKind: K.CREDENTIAL_KIND_ENROLLMENT, changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION });
    await waitFor(() => bed.identityHandled(), (n) => n >= 1, { description: 'the identity handler ran' });
    await waitFor(() => bed.pool.query(`SELECT 1 FROM agent_enrollments WHERE instance_uid = $1`, [uid]), (r) => r.rows.length === 1, { description: 'enrolled' });
    expect((await bed.pool.query(`SELECT 1 FROM agent_credentials WHERE instance_uid = $1`, [uid])).rows).toEqual([]);
    expect(bed.pushesFor(uid).filter((m) => m.connectionSettings)).toEqual([]);
  });
});
