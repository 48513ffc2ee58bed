/**
 * Certificate revocation through config-service on the real Kafka, Redis and
 * PostgreSQL (issue 18 item 5): RevokeAgentCertificates takes the
 * certificate out of the gateways' directory into the revocation set (and
 * announces it), re-signs its CA's CRL (served as PEM and DER), records the
 * reason and audits it, and leaves the agent's bearer credential alone;
 * RevokeAgents revokes the agents' certificates and their own credentials
 * (C69); bad input is refused with the reason and counted; the certificate
 * sweep re-signs a CRL with less than half its validity left and drops
 * revocations of certificates past their end.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fleet } from '@opamp/contracts';
import { createRedisConnection } from '@opamp/bus-redis';
import { AgentCapabilities } from '@opamp/protocol';
import { testCsr, testInfra, waitFor } from '@opamp/testing';
import type Redis from 'ioredis';
import { ConfigServiceBed, type OwnCredentialAgent } from './config-service.bed';

const CAPS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsHeartbeat;
const CSR_CHANGE = fleet.v1.AgentChange.AGENT_CHANGE_CERTIFICATE_REQUEST;
const DIRECTORY = 'opamp:agent-tokens';
const REVOKED = 'opamp:agent-certs-revoked';

let bed: ConfigServiceBed;
let caPem: string;
let caId: string;
let subscriber: Redis;
const announced: string[] = [];
const dir = mkdtempSync(join(tmpdir(), 'crl-'));

beforeAll(async () => {
  bed = await ConfigServiceBed.start('revoke', { overrides: { credentialKey: Buffer.alloc(32, 5), publicOpampUrl: 'https://opamp.example.com/v1/opamp', offerHeartbeatS: 15 } });
  const ca = await bed.rpc('CreateCertificateAuthority', {});
  caPem = String(ca['certificatePem']);
  caId = String(ca['id']);
  subscriber = createRedisConnection({ url: testInfra().redisUrl, connectionName: 'revoke-test-sub' });
  subscriber.on('message', (_channel: string, message: string) => announced.push(message));
  await subscriber.subscribe('opamp:agent-tokens:changes');
}, 60_000);

afterAll(async () => {
  await subscriber?.quit();
  await bed?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Listed {
  id: string;
  fingerprint: string;
  serial: string;
  state: string;
  revokeReason: string;
}

/** An agent on its own credential holding a certificate the tenant CA issued. */
async function agentWithCertificate(labels: Record<string, string> = {}): Promise<{ agent: OwnCredentialAgent; cert: Listed }> {
  const agent = await bed.agentOnOwnCredential({ capabilities: CAPS, labels });
  await agent.report({ changes: CSR_CHANGE, certificateRequestCsr: Buffer.from((await testCsr({ commonName: agent.uid.toString('hex') })).pem) });
  const listed = await waitFor(
    async () => (await bed.rpc('ListAgentCertificates', { instanceUid: agent.uid.toString('hex') }))['certificates'] as Listed[],
    (l) => l.length === 1,
    { description: 'its certificate issued' },
  );
  await waitFor(() => bed.redis.hget(DIRECTORY, listed[0].fingerprint), (v) => v !== null, { description: 'its certificate in the directory' });
  return { agent, cert: listed[0] };
}

async function crl(format: 'pem' | 'der'): Promise<{ status: number; type: string | null; body: Buffer }> {
  const res = await fetch(`${bed.httpBase}/api/v1/certificate-authorities/${caId}/crl${format === 'der' ? '?format=der' : ''}`, { headers: { authorization: bed.primary.bearer() } });
  return { status: res.status, type: res.headers.get('content-type'), body: Buffer.from(await res.arrayBuffer()) };
}

/** What OpenSSL reads in the CRL (and that it verifies with the CA's key). */
function opensslText(der: Buffer): string {
  writeFileSync(join(dir, 'ca.pem'), caPem);
  writeFileSync(join(dir, 'crl.der'), der);
  const r = spawnSync('openssl', ['crl', '-inform', 'DER', '-in', join(dir, 'crl.der'), '-CAfile', join(dir, 'ca.pem'), '-noout', '-text'], { encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`;
}

const secretDigest = (secret: string) => createHash('sha256').update(secret, 'utf8').digest('base64');

describe('certificate revocation', () => {
  it('revokes one certificate by serial: out of the directory into the revocation set, announced, in its CA’s re-signed CRL, audited; the bearer credential stays', async () => {
    const { agent, cert } = await agentWithCertificate();
    const before = await bed.rpc('GetCertificateRevocationList', { id: caId });
    const serial = cert.serial.toUpperCase().match(/../g)!.join(':');
    const revoked = await bed.rest('POST', '/agent-certificates:revoke', { serial, reason: 'KEY_COMPROMISE', note: 'laptop stolen' });
    expect(revoked).toMatchObject({ status: 200, json: { agents: 1, certificates: 1, credentials: 0, certificateIds: [cert.id], caIds: [caId] } });

    expect(await bed.redis.hget(DIRECTORY, cert.fingerprint)).toBeNull();
    const notAfter = (await bed.pool.query(`SELECT not_after FROM agent_certificates WHERE id = $1`, [cert.id])).rows[0]['not_after'] as string;
    expect(await bed.redis.hget(REVOKED, cert.fingerprint)).toBe(`${bed.tenants[0].id}|${cert.id}|${agent.uid.toString('hex')}|${new Date(notAfter).getTime()}`);
    await waitFor(() => announced, (a) => a.some((m) => m.startsWith(`revoke|${cert.fingerprint}|`)), { description: 'the revocation announced to gateways' });
    // Its own bearer credential is not the certificate: it stays accepted.
    expect(await bed.redis.hget(DIRECTORY, secretDigest(agent.secret))).toMatch(/\|1\|0$/);

    const [listed] = (await bed.rpc('ListAgentCertificates', { instanceUid: agent.uid.toString('hex') }))['certificates'] as Listed[];
    expect(listed).toMatchObject({ state: 'REVOKED', revokeReason: 'KEY_COMPROMISE: laptop stolen' });

    const after = await bed.rpc('GetCertificateRevocationList', { id: caId });
    expect(Number(after['crlNumber'])).toBe(Number(before['crlNumber']) + 1);
    expect(after['entries']).toBe(1);
    const der = await crl('der');
    expect(der).toMatchObject({ status: 200, type: 'application/pkix-crl' });
    expect(der.body.equals(Buffer.from(after['crlDer'] as Uint8Array))).toBe(true);
    const text = opensslText(der.body);
    expect(text).toContain('verify OK');
    expect(text).toMatch(new RegExp(`Serial Number: 0*${cert.serial.replace(/^0+/, '').toUpperCase()}[\\s\\S]*Key Compromise`));
    const pem = await crl('pem');
    expect(pem.type).toContain('application/x-pem-file');
    expect(pem.body.toString()).toMatch(/^-----BEGIN X509 CRL-----\n/);

    const audit = await bed.pool.query(`SELECT actor, details FROM audit_log WHERE action = 'agent_certificate.revoke' AND resource_name = $1`, [cert.serial.replace(/^0+/, '')]);
    expect(audit.rows).toHaveLength(1);
    expect(audit.rows[0]['details']).toMatchObject({ reason: 'key_compromise', note: 'laptop stolen', certificates: 1, fingerprints: [cert.fingerprint], crlsSigned: [caId] });

    // Revoked already: nothing left to revoke by that name.
    expect(await bed.rest('POST', '/agent-certificates:revoke', { fingerprint: cert.fingerprint })).toMatchObject({ status: 404 });
  });

  it('refuses a scope that is not one, a malformed value and an unknown reason, with the reason, counted, nothing revoked', async () => {
    const { cert } = await agentWithCertificate();
    const cases: Array<[Record<string, unknown>, string]> = [
      [{}, 'name exactly one of certificate_id, serial, fingerprint, instance_uid, selector'],
      [{ serial: 'zz' }, 'serial must be the certificate serial number in hex'],
      [{ fingerprint: cert.fingerprint, reason: 'CERTIFICATE_HOLD' }, 'reason must be one of'],
      [{ selector: 'team in (' }, 'selector'],
    ];
    for (const [body, message] of cases) {
      const r = await bed.rest('POST', '/agent-certificates:revoke', body);
      expect(r.status).toBe(400);
      expect(String((r.json['error'] as { message: string }).message)).toContain(message);
    }
    expect(await bed.rest('GET', '/certificate-authorities/not-a-uuid/revocation-list')).toMatchObject({ status: 400 });
    expect((await crl('pem')).status).toBe(200);
    const badFormat = await fetch(`${bed.httpBase}/api/v1/certificate-authorities/${caId}/crl?format=xml`, { headers: { authorization: bed.primary.bearer() } });
    expect(badFormat.status).toBe(400);
    expect(await bed.redis.hget(DIRECTORY, cert.fingerprint)).not.toBeNull();
    const metrics = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
    expect(metrics).toContain('opamp_config_api_requests_total{method="RevokeAgentCertificates",code="INVALID_ARGUMENT"} 4');
    expect(metrics).toContain('opamp_config_api_requests_total{method="GetCertificateRevocationList",code="INVALID_ARGUMENT"} 2');
  });

  it('revokes agents by selector (C69): every certificate and their own bearer credentials leave the directory, both audited', async () => {
    const team = `t${Date.now().toString(36)}`;
    const [a, b] = [await agentWithCertificate({ team }), await agentWithCertificate({ team })];
    const other = await agentWithCertificate({ team: 'other' });
    const listedBefore = Number((await bed.rpc('GetCertificateRevocationList', { id: caId }))['entries']);
    const r = await bed.rest('POST', '/agents:revoke', { selector: `team=${team}`, reason: 'CESSATION_OF_OPERATION' });
    expect(r).toMatchObject({ status: 200, json: { agents: 2, certificates: 2, credentials: 2 } });
    for (const x of [a, b]) {
      expect(await bed.redis.hget(DIRECTORY, x.cert.fingerprint)).toBeNull();
      expect(await bed.redis.hget(REVOKED, x.cert.fingerprint)).not.toBeNull();
      expect(await bed.redis.hget(DIRECTORY, secretDigest(x.agent.secret))).toBeNull();
    }
    expect(await bed.redis.hget(DIRECTORY, other.cert.fingerprint)).not.toBeNull();
    expect(await bed.redis.hget(DIRECTORY, secretDigest(other.agent.secret))).not.toBeNull();
    const states = await bed.pool.query(`SELECT state, revoke_reason_code FROM agent_certificates WHERE id = ANY($1::uuid[])`, [[a.cert.id, b.cert.id]]);
    expect(states.rows).toEqual([
      { state: 'revoked', revoke_reason_code: 'cessation_of_operation' },
      { state: 'revoked', revoke_reason_code: 'cessation_of_operation' },
    ]);
    const audit = await bed.pool.query(`SELECT action FROM audit_log WHERE resource_name = $1 ORDER BY id`, [`team=${team}`]);
    expect(audit.rows.map((x) => x['action'])).toEqual(['agent.revoke', 'agent_credential.revoke']);
    expect((await bed.rpc('GetCertificateRevocationList', { id: caId }))['entries']).toBe(listedBefore + 2);
    const metrics = await fetch(`${bed.httpBase}/metrics`).then((x) => x.text());
    expect(metrics).toContain('opamp_config_certificates_revoked_total{reason="cessation_of_operation"} 2');
    expect(metrics).toMatch(/opamp_config_crls_signed_total [1-9]/);
  });

  it('the sweep re-signs a CRL with less than half its validity left, and drops revocations of certificates past their end', async () => {
    // Signed at the first read when nothing was revoked yet; then made nearly due.
    await bed.rpc('GetCertificateRevocationList', { id: caId });
    await bed.pool.query(`UPDATE certificate_revocation_lists SET next_update = now() + interval '1 minute' WHERE ca_id = $1`, [caId]);
    const before = Number((await bed.pool.query(`SELECT crl_number FROM certificate_revocation_lists WHERE ca_id = $1`, [caId])).rows[0]['crl_number']);
    const gone = 'ee'.repeat(32);
    await bed.redis.hset(REVOKED, gone, `${bed.tenants[0].id}|c|${'ab'.repeat(16)}|${Date.now() - 1000}`);
    // The sweep lock is the database's: another bed's sweep on it may hold it for a moment.
    const swept = await waitFor(() => bed.primary.certificateSweeper.sweepOnce(), (r) => !r.skipped, { description: 'a sweep that got the lock' });
    expect(swept.crlsSigned).toBeGreaterThanOrEqual(1);
    const row = (await bed.pool.query(`SELECT crl_number, next_update FROM certificate_revocation_lists WHERE ca_id = $1`, [caId])).rows[0];
    expect(Number(row['crl_number'])).toBe(before + 1);
    expect(new Date(row['next_update'] as string).getTime()).toBeGreaterThan(Date.now() + 23 * 3_600_000);
    expect(await bed.redis.hget(REVOKED, gone)).toBeNull();
  });
});
