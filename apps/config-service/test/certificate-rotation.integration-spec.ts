/**
 * Certificate activation and rotation through config-service on the real
 * Kafka, Redis and PostgreSQL (issue 18 item 4, C64): an agent seen on a
 * certificate issued to it has it activated; a renewal (due at the policy's
 * share of the lifetime, asked for per agent or selector, or after a CA
 * rotation) is signed for the key the agent holds and offered through the
 * offer queue, the old and new both in the gateways' directory until the
 * agent reconnects with the new one, then the old one superseded and gone.
 */
import { randomBytes, X509Certificate } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';
import { fleet } from '@opamp/contracts';
import { testCsr, waitFor } from '@opamp/testing';
import { AgentCapabilities } from '@opamp/protocol';
import { ConfigServiceBed, type OwnCredentialAgent } from './config-service.bed';

const CAPS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsHeartbeat;
const K = fleet.v1.CredentialKind;
const C = fleet.v1.AgentChange;

type Cert = { id: string; state: string; fingerprint: string; notAfter: string; caId: string; certificatePem: string };

let bed: ConfigServiceBed;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('certrot', { pushes: true, overrides: { credentialKey: Buffer.alloc(32, 6), publicOpampUrl: 'https://opamp.example.com/v1/opamp', offerHeartbeatS: 15 } });
  await bed.rpc('CreateCertificateAuthority', {});
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

const certificatesOf = async (uid: Buffer) => (await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') }))['certificates'] as Cert[];
const entryOf = (fingerprint: string) => bed.redis.hget('opamp:agent-tokens', fingerprint);
const certOfferedTo = (uid: Buffer) =>
  bed
    .pushesFor(uid)
    .map((m) => Buffer.from(m.connectionSettings?.opamp?.certificate?.cert ?? []).toString())
    .filter((pem) => pem.length > 0);

interface CertificateAgent extends OwnCredentialAgent {
  spki: Buffer;
  /** Reports the agent connected on this certificate (the terminator's verified fingerprint). */
  onCertificate(id: string): Promise<void>;
}

/** An agent on its own credential that sent a CSR, got its certificate and connected with it (active). */
async function agentWithCertificate(labels: Record<string, string> = {}): Promise<CertificateAgent & { certificate: Cert }> {
  const agent = await bed.agentOnOwnCredential({ capabilities: CAPS, labels });
  const csr = await testCsr({ commonName: agent.uid.toString('hex') });
  await agent.report({ changes: C.AGENT_CHANGE_CERTIFICATE_REQUEST, certificateRequestCsr: Buffer.from(csr.pem) });
  const [issued] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 1, { description: 'its certificate issued' });
  const onCertificate = (id: string) => agent.report({ credentialId: id, credentialKind: K.CREDENTIAL_KIND_CERTIFICATE, changes: C.AGENT_CHANGE_CREDENTIAL });
  await onCertificate(issued.id);
  const [active] = await waitFor(() => certificatesOf(agent.uid), (l) => l[0]?.state === 'ACTIVE', { description: 'its certificate active' });
  return { ...agent, spki: csr.spki, onCertificate, certificate: active };
}

describe('activation', () => {
  it('an agent seen on the certificate issued to it has it activated: the directory marks it its own (C64)', async () => {
    const agent = await agentWithCertificate();
    expect(agent.certificate.state).toBe('ACTIVE');
    expect(await entryOf(agent.certificate.fingerprint)).toMatch(new RegExp(`\\|c\\|${agent.uid.toString('hex')}\\|1\\|0$`));
    const [audit] = (await bed.pool.query(`SELECT details FROM audit_log WHERE action = 'agent_certificate.activate' AND resource_name = $1`, [agent.uid.toString('hex')])).rows;
    expect(audit['details']).toMatchObject({ certificateId: agent.certificate.id, superseded: [] });
  });
});

describe('activation lagging issuance (issue 18 item 7)', () => {
  /** What status-ingest writes as the agent's connection on `certificateId` opens, before config-service hears the event. */
  const connectedOn = (uid: Buffer, certificateId: string) =>
    bed.pool.query(`UPDATE agents SET credential_id = $3, credential_kind = $4 WHERE tenant_id = $1 AND instance_uid = $2`, [bed.tenants[0].id, uid, certificateId, K.CREDENTIAL_KIND_CERTIFICATE]);

  it('the same CSR delivered again (a replayed batch) issues nothing: the certificate the agent connects on stays accepted', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    const csr = Buffer.from((await testCsr({ commonName: agent.uid.toString('hex') })).pem);
    await agent.report({ changes: C.AGENT_CHANGE_CERTIFICATE_REQUEST, certificateRequestCsr: csr });
    const [issued] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 1, { description: 'its certificate issued' });
    await connectedOn(agent.uid, issued.id);
    const since = bed.identityHandled();
    // The replay: the event of the message that carried the CSR, on the connection it came on (no credential change).
    await agent.report({ changes: C.AGENT_CHANGE_CERTIFICATE_REQUEST, certificateRequestCsr: csr, credentialId: undefined, credentialKind: undefined });
    await waitFor(() => bed.identityHandled(), (n) => n > since, { description: 'the replayed event handled' });
    expect((await certificatesOf(agent.uid)).map((c) => [c.id, c.state])).toEqual([[issued.id, 'ISSUED']]);
    expect(await entryOf(issued.fingerprint)).not.toBeNull();
    // Its activation arrives: the one certificate it has.
    await agent.report({ credentialId: issued.id, credentialKind: K.CREDENTIAL_KIND_CERTIFICATE, changes: C.AGENT_CHANGE_CREDENTIAL });
    await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 1 && l[0].state === 'ACTIVE', { description: 'it activated' });
  });

  it('a new CSR from an agent connected on its issued, not yet activated certificate: that one is activated, not superseded; the new one waits', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    await agent.report({ changes: C.AGENT_CHANGE_CERTIFICATE_REQUEST, certificateRequestCsr: Buffer.from((await testCsr({ commonName: agent.uid.toString('hex') })).pem) });
    const [first] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 1, { description: 'its first certificate issued' });
    // On its connection through the terminator (on `first`) it sends another CSR (a new key) in the same message.
    const csr = Buffer.from((await testCsr({ commonName: agent.uid.toString('hex') })).pem);
    await agent.report({ credentialId: first.id, credentialKind: K.CREDENTIAL_KIND_CERTIFICATE, changes: C.AGENT_CHANGE_CREDENTIAL | C.AGENT_CHANGE_CERTIFICATE_REQUEST, certificateRequestCsr: csr });
    const listed = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2 && l[1].state === 'ACTIVE', { description: 'the second issued, the first activated' });
    const [second] = listed;
    expect(listed.map((c) => [c.id, c.state])).toEqual([
      [second.id, 'ISSUED'],
      [first.id, 'ACTIVE'],
    ]);
    expect(await entryOf(first.fingerprint)).toMatch(/\|1\|0$/);
    expect(await entryOf(second.fingerprint)).not.toBeNull();
    // It switches to the second: that one active, the first superseded and out of the directory.
    await agent.report({ credentialId: second.id, credentialKind: K.CREDENTIAL_KIND_CERTIFICATE, changes: C.AGENT_CHANGE_CREDENTIAL });
    const after = await waitFor(() => certificatesOf(agent.uid), (l) => l[0].state === 'ACTIVE', { description: 'the second active' });
    expect(after.map((c) => c.state)).toEqual(['ACTIVE', 'SUPERSEDED']);
    await waitFor(() => entryOf(first.fingerprint), (v) => v === null, { description: 'the first out of the directory' });
  });
  it('a renewal made while the agent is connected on the previous renewal, not yet activated, leaves that one accepted', async () => {
    const agent = await agentWithCertificate();
    const uidHex = agent.uid.toString('hex');
    await bed.rpc('RotateAgentCertificates', { instanceUid: uidHex });
    const [renewal] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the first renewal' });
    // The agent reconnected on it (status-ingest wrote its row); its event waits in the queue, and the operator asks again.
    await connectedOn(agent.uid, renewal.id);
    await bed.rpc('RotateAgentCertificates', { instanceUid: uidHex });
    const listed = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 3, { description: 'the second renewal' });
    const [second] = listed;
    expect(listed.map((c) => [c.id, c.state])).toEqual([
      [second.id, 'ISSUED'],
      [renewal.id, 'ISSUED'],
      [agent.certificate.id, 'ACTIVE'],
    ]);
    expect(await entryOf(renewal.fingerprint)).not.toBeNull();
    // Its activation arrives: the one it is on is active, the older one superseded, the newer one still offered.
    await agent.onCertificate(renewal.id);
    const after = await waitFor(() => certificatesOf(agent.uid), (l) => l[1].state === 'ACTIVE', { description: 'the first renewal active' });
    expect(after.map((c) => c.state)).toEqual(['ISSUED', 'ACTIVE', 'SUPERSEDED']);
    expect(await entryOf(second.fingerprint)).not.toBeNull();
    await waitFor(() => entryOf(agent.certificate.fingerprint), (v) => v === null, { description: 'the oldest out of the directory' });
  });
});

describe('rotation on demand', () => {
  it('per agent: renewed for the key it holds and offered; old and new accepted until it reconnects with the new one, the old one gone after', async () => {
    const agent = await agentWithCertificate();
    const before = certOfferedTo(agent.uid).length;
    expect(await bed.rpc('RotateAgentCertificates', { instanceUid: agent.uid.toString('hex') })).toEqual({ certificates: 1 });
    const listed = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the renewal issued' });
    const [renewal, old] = listed;
    expect([renewal.state, old.state]).toEqual(['ISSUED', 'ACTIVE']);
    const pem = new X509Certificate(renewal.certificatePem);
    expect(pem.publicKey.export({ format: 'der', type: 'spki' })).toEqual(agent.spki);
    // Offered through the queue: the offer carries the renewal.
    const offered = await waitFor(() => certOfferedTo(agent.uid), (o) => o.length > before && o.includes(renewal.certificatePem), { description: 'the renewal offered' });
    expect(offered.at(-1)).toBe(renewal.certificatePem);
    // Both accepted while the agent has not switched (it still reports the old one).
    await agent.onCertificate(old.id);
    expect(await entryOf(old.fingerprint)).not.toBeNull();
    expect(await entryOf(renewal.fingerprint)).not.toBeNull();
    expect((await certificatesOf(agent.uid)).map((c) => c.state)).toEqual(['ISSUED', 'ACTIVE']);
    // It reconnects with the new one: activated, the old one superseded and out of the directory (refused by gateways).
    await agent.onCertificate(renewal.id);
    const after = await waitFor(() => certificatesOf(agent.uid), (l) => l[0].state === 'ACTIVE', { description: 'the renewal active' });
    expect(after.map((c) => c.state)).toEqual(['ACTIVE', 'SUPERSEDED']);
    await waitFor(() => entryOf(old.fingerprint), (v) => v === null, { description: 'the old certificate out of the directory' });
    expect(await entryOf(renewal.fingerprint)).toMatch(/\|1\|0$/);
    const audits = (await bed.pool.query(`SELECT action, details FROM audit_log WHERE resource_name = $1 AND action LIKE 'agent_certificate.%' ORDER BY id`, [agent.uid.toString('hex')])).rows;
    expect(audits.map((a) => a['action'])).toEqual(['agent_certificate.issue', 'agent_certificate.activate', 'agent_certificate.request_rotation', 'agent_certificate.rotate', 'agent_certificate.activate']);
    expect(audits[2]['details']).toEqual({ instanceUid: agent.uid.toString('hex'), certificates: 1 });
    expect(audits[3]['details']).toMatchObject({ reason: 'requested', renews: old.id, certificateId: renewal.id });
  });

  it('per selector: only the agents it matches, one call, audited; bad scopes are refused with the reason', async () => {
    const run = randomBytes(4).toString('hex');
    const prod = [await agentWithCertificate({ run, env: 'prod' }), await agentWithCertificate({ run, env: 'prod' })];
    const dev = await agentWithCertificate({ run, env: 'dev' });
    expect(await bed.rpc('RotateAgentCertificates', { selector: `run=${run},env=prod` })).toEqual({ certificates: 2 });
    for (const a of prod) await waitFor(() => certificatesOf(a.uid), (l) => l.length === 2 && l[0].state === 'ISSUED', { description: 'a prod agent renewed' });
    await bed.primary.certificateSweeper.sweepOnce();
    expect((await certificatesOf(dev.uid)).map((c) => c.state)).toEqual(['ACTIVE']);
    const [audit] = (await bed.pool.query(`SELECT details FROM audit_log WHERE action = 'agent_certificate.request_rotation' AND resource_name = $1`, [`run=${run},env=prod`])).rows;
    expect(audit['details']).toEqual({ selector: `run=${run},env=prod`, certificates: 2 });

    await expect(bed.rpc('RotateAgentCertificates', { selector: 'env=prod', instanceUid: dev.uid.toString('hex') })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'name exactly one of instance_uid, selector, all_agents',
    });
    await expect(bed.rpc('RotateAgentCertificates', {})).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const bad = await bed.rest('POST', '/agent-certificates:rotate', { selector: 'env in (' });
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toMatchObject({ status: 'INVALID_ARGUMENT', message: expect.stringContaining('selector: invalid label selector') });
    const badUid = await bed.rest('POST', '/agent-certificates:rotate', { instanceUid: 'nope' });
    expect(badUid.status).toBe(400);
  });
});

describe('rotation before expiry', () => {
  it("is due at the policy's share of the lifetime, found by the certificate sweep, and not before", async () => {
    const agent = await agentWithCertificate();
    // 60% of its life gone: not due at the default 67%, due at 50%.
    await bed.pool.query(`UPDATE agent_certificates SET not_before = now() - interval '150 hours', not_after = now() + interval '100 hours' WHERE id = $1`, [agent.certificate.id]);
    await bed.primary.certificateSweeper.sweepOnce();
    expect((await certificatesOf(agent.uid)).map((c) => c.state)).toEqual(['ACTIVE']);
    await bed.rpc('UpdateCertificatePolicy', { policy: { rotateAtPercent: 50 } });
    try {
      expect(await bed.rpc('GetCertificatePolicy', {})).toMatchObject({ rotateAtPercent: 50 });
      await bed.primary.certificateSweeper.sweepOnce();
      const [renewal, old] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the renewal' });
      expect([renewal.state, old.state]).toEqual(['ISSUED', 'ACTIVE']);
      expect(Date.parse(renewal.notAfter)).toBeGreaterThan(Date.parse(old.notAfter));
      // Renewed once: a later pass leaves it alone while the renewal waits for the agent.
      await bed.primary.certificateSweeper.sweepOnce();
      expect(await certificatesOf(agent.uid)).toHaveLength(2);
      const { rows } = await bed.pool.query(`SELECT rotation_reason FROM agent_certificates WHERE id = $1`, [renewal.id]);
      expect(rows[0]['rotation_reason']).toBe('expiry');
    } finally {
      await bed.rpc('UpdateCertificatePolicy', { policy: {} });
    }
    await expect(bed.rpc('UpdateCertificatePolicy', { policy: { rotateAtPercent: 99 } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'policy.rotate_at_percent must be a whole number from 10 to 95 (0: the default, 67)',
    });
  });

  it('a renewal the agent does not switch to is listed after the bound, with the certificate it still uses', async () => {
    const agent = await agentWithCertificate();
    await bed.rpc('RotateAgentCertificates', { instanceUid: agent.uid.toString('hex') });
    const [renewal] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the renewal' });
    const pending = async () => ((await bed.rpc('ListPendingCertificateSwitches', { pageSize: 1000 }))['switches'] as Array<{ instanceUid: string; offered: Cert; current: Cert }>).filter((s) => s.instanceUid === agent.uid.toString('hex'));
    expect(await pending()).toEqual([]);
    await bed.pool.query(`UPDATE agent_certificates SET created_at = now() - interval '2 hours' WHERE id = $1`, [renewal.id]);
    const [stalled] = await pending();
    expect(stalled.offered.id).toBe(renewal.id);
    expect(stalled.current.id).toBe(agent.certificate.id);
    const rest = await bed.rest('GET', '/agent-certificates:pending-switches?olderThanMinutes=-1');
    expect(rest.status).toBe(400);
    // Asked again: a fresh renewal (a new offer) replaces the one it never took, which gateways stop accepting.
    expect(await bed.rpc('RotateAgentCertificates', { instanceUid: agent.uid.toString('hex') })).toEqual({ certificates: 1 });
    const again = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 3, { description: 'a fresh renewal' });
    const states = Object.fromEntries(again.map((c) => [c.id === renewal.id ? 'first renewal' : c.id === agent.certificate.id ? 'active' : 'fresh', c.state]));
    expect(states).toEqual({ fresh: 'ISSUED', 'first renewal': 'SUPERSEDED', active: 'ACTIVE' });
    await waitFor(() => entryOf(renewal.fingerprint), (v) => v === null, { description: 'the first renewal out of the directory' });
    const fresh = again.find((c) => c.state === 'ISSUED')!;
    await waitFor(() => certOfferedTo(agent.uid), (o) => o.includes(fresh.certificatePem), { description: 'the fresh renewal offered' });
  });
});

describe('expiry visible', () => {
  type Listed = { instanceUid: string; certificate: { state: string; notAfter: string; renewalPending: boolean } };
  const list = async (q: string) => ((await bed.rest('GET', `/agents?${q}`)).json['agents'] as Listed[]).map((a) => ({ uid: a.instanceUid, ...a.certificate }));

  it('ListAgents and GetAgent carry the certificate and its end; "expires within N days" filters (expired included), gRPC and REST', async () => {
    const run = randomBytes(4).toString('hex');
    const soon = await agentWithCertificate({ run });
    const later = await agentWithCertificate({ run });
    const gone = await agentWithCertificate({ run });
    const none = await bed.agentOnOwnCredential({ capabilities: CAPS, labels: { run } });
    await bed.pool.query(`UPDATE agent_certificates SET not_after = now() + interval '12 hours' WHERE id = $1`, [soon.certificate.id]);
    await bed.pool.query(`UPDATE agent_certificates SET not_after = now() - interval '1 minute' WHERE id = $1`, [gone.certificate.id]);
    await bed.primary.certificateSweeper.sweepOnce();
    const all = await list(`selector=run%3D${run}&pageSize=10`);
    const by = new Map(all.map((a) => [a.uid, a]));
    expect(by.get(later.uid.toString('hex'))).toMatchObject({ state: 'ACTIVE', notAfter: later.certificate.notAfter, renewalPending: false });
    expect(by.get(gone.uid.toString('hex'))).toMatchObject({ state: 'EXPIRED' });
    expect(by.get(none.uid.toString('hex'))).toMatchObject({ state: 'NONE', notAfter: '' });
    expect(Date.parse(by.get(soon.uid.toString('hex'))!.notAfter) - Date.now()).toBeLessThan(13 * 3_600_000);
    const within1 = await list(`selector=run%3D${run}&certificateExpiresWithinDays=1`);
    expect(within1.map((a) => a.uid).sort()).toEqual([soon.uid.toString('hex'), gone.uid.toString('hex')].sort());
    const within30 = (await bed.rpc('ListAgents', { selector: `run=${run}`, certificateExpiresWithinDays: 30 }))['agents'] as Listed[];
    expect(within30).toHaveLength(3);
    const detail = await bed.rpc('GetAgent', { instanceUid: later.uid.toString('hex') });
    expect(detail['certificate']).toEqual({ state: 'ACTIVE', notAfter: later.certificate.notAfter, renewalPending: false });
    const bad = await bed.rest('GET', '/agents?certificateExpiresWithinDays=-3');
    expect(bad.status).toBe(400);
    expect(bad.json['error']).toMatchObject({ message: 'certificate_expires_within_days must be a whole number from 0 to 3650' });
  });

  it('the Prometheus gauge counts, per tenant, agents expiring within 7 days, expired, and rotations stalled', async () => {
    const stalled = await agentWithCertificate();
    await bed.rpc('RotateAgentCertificates', { instanceUid: stalled.uid.toString('hex') });
    const [renewal] = await waitFor(() => certificatesOf(stalled.uid), (l) => l.length === 2, { description: 'the renewal' });
    await bed.pool.query(`UPDATE agent_certificates SET created_at = now() - interval '2 hours' WHERE id = $1`, [renewal.id]);
    const tenant = bed.tenants[0].id;
    const expiring = ((await bed.rpc('ListAgents', { certificateExpiresWithinDays: 7, pageSize: 1000 }))['agents'] as Listed[]).filter((a) => a.certificate.state !== 'EXPIRED');
    const expired = ((await bed.rpc('ListAgents', { certificateExpiresWithinDays: 7, pageSize: 1000 }))['agents'] as Listed[]).filter((a) => a.certificate.state === 'EXPIRED');
    const stalledListed = (await bed.rpc('ListPendingCertificateSwitches', { pageSize: 1000 }))['switches'] as unknown[];
    const metrics = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
    const value = (state: string) => Number(new RegExp(`^opamp_config_agent_certificates\\{tenant="${tenant}",state="${state}"\\} (\\d+)$`, 'm').exec(metrics)?.[1] ?? NaN);
    expect(expired.length).toBeGreaterThanOrEqual(1);
    expect(stalledListed.length).toBeGreaterThanOrEqual(1);
    expect(value('expiring')).toBe(expiring.length);
    expect(value('expired')).toBe(expired.length);
    expect(value('rotation_stalled')).toBe(stalledListed.length);
    expect(metrics).toMatch(/^opamp_config_certificate_renewals_total\{reason="requested"\} [1-9]/m);
    expect(metrics).toMatch(/^opamp_config_certificate_activations_total [1-9]/m);
  });
});

describe('rotation with revocation (issue 18 items 4 and 5)', () => {
  type Listed = { instanceUid: string; certificate: { state: string; notAfter: string; renewalPending: boolean } };

  it('revoking an agent whose renewal waits revokes both; neither is renewed or listed as a pending switch again, and ListAgents/GetAgent say REVOKED', async () => {
    const run = randomBytes(4).toString('hex');
    const agent = await agentWithCertificate({ run });
    const uid = agent.uid.toString('hex');
    await bed.rpc('RotateAgentCertificates', { instanceUid: uid });
    const [renewal, old] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the renewal' });
    expect([renewal.state, old.state]).toEqual(['ISSUED', 'ACTIVE']);

    expect(await bed.rpc('RevokeAgentCertificates', { instanceUid: uid, reason: 'KEY_COMPROMISE' })).toMatchObject({ agents: 1, certificates: 2 });
    expect((await certificatesOf(agent.uid)).map((c) => c.state)).toEqual(['REVOKED', 'REVOKED']);
    expect(await entryOf(renewal.fingerprint)).toBeNull();
    expect(await entryOf(old.fingerprint)).toBeNull();
    // Nothing live to renew: on demand or by the sweep, no new certificate for the compromised key.
    expect(await bed.rpc('RotateAgentCertificates', { instanceUid: uid })).toEqual({ certificates: 0 });
    await bed.pool.query(`UPDATE agent_certificates SET created_at = now() - interval '2 hours' WHERE id = $1`, [renewal.id]);
    await bed.primary.certificateSweeper.sweepOnce();
    expect(await certificatesOf(agent.uid)).toHaveLength(2);
    const switches = (await bed.rpc('ListPendingCertificateSwitches', { pageSize: 1000 }))['switches'] as Array<{ instanceUid: string }>;
    expect(switches.filter((w) => w.instanceUid === uid)).toEqual([]);

    const [listed] = (await bed.rest('GET', `/agents?selector=run%3D${run}`)).json['agents'] as Listed[];
    expect(listed.certificate).toEqual({ state: 'REVOKED', notAfter: renewal.notAfter, renewalPending: false });
    expect((await bed.rpc('GetAgent', { instanceUid: uid }))['certificate']).toEqual({ state: 'REVOKED', notAfter: renewal.notAfter, renewalPending: false });
    // A revoked certificate is not one that expires soon.
    expect((await bed.rpc('ListAgents', { selector: `run=${run}`, certificateExpiresWithinDays: 3650 }))['agents'] ?? []).toEqual([]);
  });
});

describe('CA rotation', () => {
  it("renews the certificates the retiring CA signed during the overlap, signed by the new CA; both accepted until the switch", async () => {
    const agent = await agentWithCertificate();
    const ca = (await bed.rpc('RotateCertificateAuthority', { overlapHours: 24 })) as { id: string; certificatePem: string };
    const [renewal, old] = await waitFor(() => certificatesOf(agent.uid), (l) => l.length === 2, { description: 'the renewal by the new CA' });
    expect(renewal.caId).toBe(ca.id);
    expect(old.caId).not.toBe(ca.id);
    expect(new X509Certificate(renewal.certificatePem).verify(new X509Certificate(ca.certificatePem).publicKey)).toBe(true);
    const { rows } = await bed.pool.query(`SELECT rotation_reason FROM agent_certificates WHERE id = $1`, [renewal.id]);
    expect(rows[0]['rotation_reason']).toBe('ca_rotation');
    expect(await entryOf(old.fingerprint)).not.toBeNull();
    await agent.onCertificate(renewal.id);
    await waitFor(() => entryOf(old.fingerprint), (v) => v === null, { description: 'the old certificate out of the directory' });
  });
});
