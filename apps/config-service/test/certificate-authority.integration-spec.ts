/**
 * Tenants' certificate authorities, certificate policies, agents'
 * certificates and the CSRs waiting for approval (issue 18, items 1-2), over
 * the real API on PostgreSQL and Redis: gRPC and the REST mirror.
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { createCertificateAuthority } from '@opamp/certificate-authority';
import * as grpc from '@grpc/grpc-js';
import { AgentTokenKeys } from '@opamp/contracts';
import { decodeTokenValue } from '@opamp/bus-redis';
import { testCsr, waitFor } from '@opamp/testing';
import { ConfigServiceBed } from './config-service.bed';

const A = 0;
const B = 1;
let bed: ConfigServiceBed;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('certs', { tenants: 2, overrides: { credentialKey: Buffer.alloc(32, 9) } });
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

async function newestAudit(tenant = A): Promise<Record<string, unknown>> {
  const res = await bed.rpc('ListAuditEvents', { pageSize: 1 }, { tenant });
  return (res['events'] as Array<Record<string, unknown>>)[0];
}

type Ca = { id: string; state: string; certificatePem: string; fingerprint: string; overlapEndTime: string; keyType: string; notAfter: string };

describe('certificate authorities', () => {
  it('a tenant without a CA has none, and approving a request then fails with the reason', async () => {
    expect(await bed.rpc('ListCertificateAuthorities', {}, { tenant: B })).toEqual({ certificateAuthorities: [], trustBundlePem: '' });
    const id = await bed.putCertificateRequest(B, bed.newUid(), (await testCsr()).pem);
    await expect(bed.rpc('ApproveCertificateRequest', { id }, { tenant: B })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'the tenant has no certificate authority (CreateCertificateAuthority)',
    });
  });

  it('creates the tenant CA (P-256 by default) with its key sealed, once, audited', async () => {
    const res = await bed.rest('POST', '/certificate-authorities', { lifetimeDays: 30 });
    expect(res.status).toBe(200);
    const ca = res.json as unknown as Ca;
    expect(ca).toMatchObject({ state: 'ACTIVE', source: 'BUILT_IN', keyType: 'ecdsa-p256' });
    const cert = new X509Certificate(ca.certificatePem);
    expect(cert.ca).toBe(true);
    expect(cert.fingerprint256.replace(/:/g, '').toLowerCase()).toBe(ca.fingerprint);
    expect(Date.parse(ca.notAfter) - Date.now()).toBeGreaterThan(29 * 86_400_000);
    const { rows } = await bed.pool.query(`SELECT sealed_key FROM certificate_authorities WHERE id = $1`, [ca.id]);
    const sealed = rows[0]['sealed_key'] as Buffer;
    // Version byte of the sealed form, not a PKCS#8 DER SEQUENCE (0x30).
    expect(sealed[0]).toBe(1);
    expect(await newestAudit()).toMatchObject({ action: 'certificate_authority.create', resourceType: 'certificate_authority', resourceName: ca.id, afterHash: ca.fingerprint });

    const again = await bed.rest('POST', '/certificate-authorities', {});
    expect(again.status).toBe(409);
    expect(again.json['error']).toMatchObject({ status: 'ALREADY_EXISTS', message: 'the tenant has a certificate authority already (RotateCertificateAuthority replaces it)' });
  });

  it('refuses a CA key type or lifetime it does not make', async () => {
    await expect(bed.rpc('CreateCertificateAuthority', { keyType: 'rsa-1024' }, { tenant: B })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'key_type must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072',
    });
    await expect(bed.rpc('CreateCertificateAuthority', { lifetimeDays: 100_000 }, { tenant: B })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    expect((await bed.rpc('ListCertificateAuthorities', {}, { tenant: B }))['certificateAuthorities']).toEqual([]);
  });

  it('rotates: a new CA signs, the old one is trusted until its overlap ends; both are in the trust bundle', async () => {
    const before = ((await bed.rpc('ListCertificateAuthorities', {}))['certificateAuthorities'] as Ca[]).find((c) => c.state === 'ACTIVE')!;
    await expect(bed.rpc('RotateCertificateAuthority', { overlapHours: 100_000 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    const rotated = (await bed.rpc('RotateCertificateAuthority', { overlapHours: 48, keyType: 'rsa-2048' })) as unknown as Ca;
    expect(rotated).toMatchObject({ state: 'ACTIVE', keyType: 'rsa-2048' });
    const list = await bed.rpc('ListCertificateAuthorities', {});
    const cas = list['certificateAuthorities'] as Ca[];
    expect(cas.map((c) => [c.id, c.state])).toEqual([
      [rotated.id, 'ACTIVE'],
      [before.id, 'RETIRING'],
    ]);
    const overlapEnd = Date.parse(cas[1].overlapEndTime);
    expect(Math.abs(overlapEnd - (Date.now() + 48 * 3_600_000))).toBeLessThan(120_000);
    expect(list['trustBundlePem']).toBe(`${rotated.certificatePem.trim()}\n${before.certificatePem.trim()}\n`);
    expect(await newestAudit()).toMatchObject({ action: 'certificate_authority.rotate', resourceName: rotated.id, beforeHash: before.fingerprint, afterHash: rotated.fingerprint });
    await expect(bed.rpc('RotateCertificateAuthority', {}, { tenant: B })).rejects.toMatchObject({ code: grpc.status.FAILED_PRECONDITION });
  });
});

describe('the certificate policy', () => {
  it('has defaults, refuses what cannot be a policy with the reason, and keeps what is set, audited', async () => {
    expect(await bed.rpc('GetCertificatePolicy', {}, { tenant: B })).toEqual({
      requireApproval: false,
      lifetimeHours: 168,
      keyTypes: ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'],
      allowedDnsNames: [],
      rotateAtPercent: 67,
    });
    await expect(bed.rpc('UpdateCertificatePolicy', { policy: { keyTypes: ['dsa'] } })).rejects.toMatchObject({
      code: grpc.status.INVALID_ARGUMENT,
      details: 'policy.key type must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096',
    });
    const bad = await bed.rest('PUT', '/certificate-policy', { lifetimeHours: 100_000 });
    expect(bad.status).toBe(400);
    expect((bad.json['error'] as { message: string }).message).toContain('lifetime_hours must be a whole number from 1 to 8784');
    const set = await bed.rest('PUT', '/certificate-policy', { requireApproval: true, lifetimeHours: 48, keyTypes: ['ecdsa-p256'], allowedDnsNames: ['*.agents.example.com'] });
    expect(set.status).toBe(200);
    expect(await bed.rpc('GetCertificatePolicy', {})).toEqual({ requireApproval: true, lifetimeHours: 48, keyTypes: ['ecdsa-p256'], allowedDnsNames: ['*.agents.example.com'], rotateAtPercent: 67 });
    expect(await newestAudit()).toMatchObject({ action: 'certificate_policy.update', resourceType: 'certificate_policy', resourceName: bed.tenants[A].id });
  });
});

describe('certificate requests and agents\u2019 certificates', () => {
  it('approving a waiting CSR signs it with the active CA, publishes it to the directory and lists it with its expiry', async () => {
    const uid = bed.newUid();
    const csr = await testCsr({ commonName: uid.toString('hex'), dnsNames: ['h1.agents.example.com'] });
    const id = await bed.putCertificateRequest(A, uid, csr.pem);
    const waiting = await bed.rpc('ListCertificateRequests', { state: 'PENDING' });
    expect((waiting['requests'] as Array<{ id: string }>).map((r) => r.id)).toContain(id);

    const approved = await bed.rest('POST', `/certificate-requests/${id}:approve`, { reason: 'known host' });
    expect(approved.status).toBe(200);
    expect(approved.json).toMatchObject({ id, state: 'APPROVED', decisionReason: 'known host', instanceUid: uid.toString('hex') });
    expect(await newestAudit()).toMatchObject({ action: 'certificate_request.approve', resourceType: 'certificate_request', resourceName: id });

    const listed = await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') });
    const [cert] = listed['certificates'] as Array<{ id: string; state: string; fingerprint: string; certificatePem: string; notAfter: string; requestId: string }>;
    expect(cert).toMatchObject({ state: 'ISSUED', requestId: id, id: approved.json['certificateId'] });
    const x = new X509Certificate(cert.certificatePem);
    const active = ((await bed.rpc('ListCertificateAuthorities', {}))['certificateAuthorities'] as Ca[]).find((c) => c.state === 'ACTIVE')!;
    expect(x.verify(new X509Certificate(active.certificatePem).publicKey)).toBe(true);
    expect(x.subjectAltName).toBe(`URI:urn:opamp:tenant:${encodeURIComponent(bed.tenants[A].id)}:agent:${uid.toString('hex')}, DNS:h1.agents.example.com`);
    expect(x.publicKey.export({ format: 'der', type: 'spki' })).toEqual(csr.spki);
    expect(Math.abs(Date.parse(cert.notAfter) - (Date.now() + 48 * 3_600_000))).toBeLessThan(120_000);

    const entry = await bed.redis.hget(AgentTokenKeys.directory(), cert.fingerprint);
    expect(decodeTokenValue(cert.fingerprint, entry ?? '')).toEqual({ digest: cert.fingerprint, tenantId: bed.tenants[A].id, tokenId: cert.id, kind: 'certificate', uidHex: uid.toString('hex'), active: false });

    const soon = (days: number) => bed.rest('GET', `/agent-certificates?expiresWithinDays=${days}`).then((r) => (r.json['certificates'] as Array<{ id: string }>).map((c) => c.id));
    expect(await soon(1)).not.toContain(cert.id);
    expect(await soon(3)).toContain(cert.id);
    await expect(bed.rpc('ApproveCertificateRequest', { id })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
  });

  it('approval checks the policy as it is now: a key type no longer accepted is refused with the reason', async () => {
    const id = await bed.putCertificateRequest(A, bed.newUid(), (await testCsr({ keyType: 'rsa-2048' })).pem, 'rsa-2048');
    await expect(bed.rpc('ApproveCertificateRequest', { id })).rejects.toMatchObject({
      code: grpc.status.FAILED_PRECONDITION,
      details: 'the request no longer meets the certificate policy: the key (rsa-2048) is not one of the accepted types: ecdsa-p256',
    });
    expect(((await bed.rpc('ListCertificateRequests', { state: 'PENDING' }))['requests'] as Array<{ id: string }>).map((r) => r.id)).toContain(id);
  });

  it('denying drops the request without a certificate, audited', async () => {
    const uid = bed.newUid();
    const id = await bed.putCertificateRequest(A, uid, (await testCsr()).pem);
    expect(await bed.rpc('DenyCertificateRequest', { id, reason: 'unknown host' })).toMatchObject({ id, state: 'DENIED', decisionReason: 'unknown host', certificateId: '' });
    expect(await newestAudit()).toMatchObject({ action: 'certificate_request.deny', resourceName: id });
    expect((await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') }))['certificates']).toEqual([]);
  });

  it("another tenant cannot see or decide a tenant's requests and certificates", async () => {
    const uid = bed.newUid();
    const id = await bed.putCertificateRequest(A, uid, (await testCsr()).pem);
    await expect(bed.rpc('ApproveCertificateRequest', { id }, { tenant: B })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    await expect(bed.rpc('DenyCertificateRequest', { id }, { tenant: B })).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    expect(((await bed.rpc('ListCertificateRequests', {}, { tenant: B }))['requests'] as Array<{ id: string }>).map((r) => r.id)).not.toContain(id);
    expect((await bed.rpc('ListAgentCertificates', {}, { tenant: B }))['certificates']).toEqual([]);
  });

  it('refuses bad filters and ids with the reason', async () => {
    await expect(bed.rpc('ListAgentCertificates', { state: 'LOST' })).rejects.toMatchObject({ details: 'state must be one of ISSUED, ACTIVE, SUPERSEDED, REVOKED, EXPIRED' });
    await expect(bed.rpc('ListAgentCertificates', { expiresWithinDays: -1 })).rejects.toMatchObject({ code: grpc.status.INVALID_ARGUMENT });
    await expect(bed.rpc('ApproveCertificateRequest', { id: 'x' })).rejects.toMatchObject({ details: 'id must be a certificate request id (a UUID)' });
  });
});

describe('the certificate sweep', () => {
  it('expires certificates past their end (out of the directory) and retires CAs whose overlap ended (out of the trust bundle)', async () => {
    const uid = bed.newUid();
    const id = await bed.putCertificateRequest(A, uid, (await testCsr()).pem);
    await bed.rpc('ApproveCertificateRequest', { id });
    const [cert] = (await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') }))['certificates'] as Array<{ id: string; fingerprint: string }>;
    expect(await bed.redis.hget(AgentTokenKeys.directory(), cert.fingerprint)).not.toBeNull();
    await bed.pool.query(`UPDATE agent_certificates SET not_after = now() - interval '1 second' WHERE id = $1`, [cert.id]);
    const retiring = ((await bed.rpc('ListCertificateAuthorities', {}))['certificateAuthorities'] as Ca[]).filter((c) => c.state === 'RETIRING');
    expect(retiring.length).toBeGreaterThan(0);
    await bed.pool.query(`UPDATE certificate_authorities SET overlap_ends_at = now() - interval '1 second' WHERE state = 'retiring'`);

    // The sweep lock is the database's: another bed's sweep on it may hold it for a moment.
    const swept = await waitFor(() => bed.primary.certificateSweeper.sweepOnce(), (r) => !r.skipped, { description: 'a sweep that got the lock' });
    expect(swept.expired).toBeGreaterThanOrEqual(1);
    expect((await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') }))['certificates']).toMatchObject([{ id: cert.id, state: 'EXPIRED' }]);
    expect(await bed.redis.hget(AgentTokenKeys.directory(), cert.fingerprint)).toBeNull();
    const list = await bed.rpc('ListCertificateAuthorities', {});
    const states = new Map((list['certificateAuthorities'] as Ca[]).map((c) => [c.id, c.state]));
    for (const r of retiring) expect(states.get(r.id)).toBe('RETIRED');
    expect(String(list['trustBundlePem']).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
  });
});

describe('an operator-provided CA (external CA)', () => {
  it("takes the operator's CA certificate and key, signs with it, and refuses a key of another certificate without echoing it", async () => {
    const mine = await createCertificateAuthority({ tenantId: 'operator' });
    const other = await createCertificateAuthority({ tenantId: 'operator' });
    const pem = (k: Buffer) => createPrivateKey({ key: k, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
    const bad = await bed.rest('POST', '/certificate-authorities', { certificatePem: mine.certificatePem, privateKeyPem: pem(other.pkcs8) }, { tenant: B });
    expect(bad.status).toBe(400);
    const message = (bad.json['error'] as { message: string }).message;
    expect(message).toBe('certificate_pem / private_key_pem: the key does not belong to the CA certificate');
    await expect(bed.rpc('CreateCertificateAuthority', { certificatePem: mine.certificatePem }, { tenant: B })).rejects.toMatchObject({ details: 'an operator CA needs both certificate_pem and private_key_pem' });

    const ca = (await bed.rpc('CreateCertificateAuthority', { certificatePem: mine.certificatePem, privateKeyPem: pem(mine.pkcs8) }, { tenant: B })) as unknown as Ca & { source: string };
    expect(ca).toMatchObject({ state: 'ACTIVE', source: 'OPERATOR', fingerprint: mine.fingerprintHex, keyType: 'ecdsa-p256' });
    const stored = await bed.pool.query(`SELECT sealed_key FROM certificate_authorities WHERE id = $1`, [ca.id]);
    expect((stored.rows[0]['sealed_key'] as Buffer).includes(mine.pkcs8)).toBe(false);

    const uid = bed.newUid();
    const id = await bed.putCertificateRequest(B, uid, (await testCsr()).pem);
    await bed.rpc('ApproveCertificateRequest', { id }, { tenant: B });
    const [cert] = (await bed.rpc('ListAgentCertificates', { instanceUid: uid.toString('hex') }, { tenant: B }))['certificates'] as Array<{ certificatePem: string }>;
    expect(new X509Certificate(cert.certificatePem).verify(new X509Certificate(mine.certificatePem).publicKey)).toBe(true);
  });
});

