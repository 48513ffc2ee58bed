/**
 * The certificate authority, policy and requests on the embedded database
 * (PGlite), as the embedded server runs them: the same SQL as on PostgreSQL
 * (text[] columns, the one-waiting-request-per-agent upsert, the trust bundle).
 */
import { X509Certificate } from 'node:crypto';
import { MemoryPendingStore, MemoryPushBus } from '@opamp/bus-memory';
import { migrateToLatest, PgliteSqlDatabase } from '@opamp/store';
import { testCsr } from '@opamp/testing';
import { AgentPushDispatcher, certificateServices, csrDigest, DesiredStateRepository, FleetApiService, type Caller, type CertificateServices, type CredentialDirectoryEntry } from '../src';

const tenant = 'embedded';
const caller: Caller = { tenantId: tenant, tokenId: 'test' };
let db: PgliteSqlDatabase;
let api: FleetApiService;
let services: CertificateServices;
const directory = new Map<string, CredentialDirectoryEntry>();

function uid(i: number): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt32BE(i, 12);
  return b;
}

beforeAll(async () => {
  db = await PgliteSqlDatabase.open();
  await migrateToLatest(db);
  const repo = new DesiredStateRepository(db);
  services = certificateServices(db, Buffer.alloc(32, 3), { put: async (e) => void directory.set(e.digest, e), remove: async (d) => void directory.delete(d) });
  api = new FleetApiService(repo, new AgentPushDispatcher(new MemoryPushBus(), new MemoryPendingStore()), null, null, { certificates: services });
  await db.query(`INSERT INTO tenants (id, name) VALUES ($1, $1)`, [tenant]);
}, 60_000);

afterAll(async () => {
  await db?.close();
});

it('keeps the policy, one waiting request per agent, and signs an approved one with the active CA', async () => {
  await api.certificateAuthorities.updateCertificatePolicy(caller, { policy: { requireApproval: true, keyTypes: ['ecdsa-p256', 'rsa-2048'], allowedDnsNames: ['a.example.com', '*.b.example.com'] } });
  expect(await api.certificateAuthorities.getCertificatePolicy(caller)).toEqual({ requireApproval: true, lifetimeHours: 168, keyTypes: ['ecdsa-p256', 'rsa-2048'], allowedDnsNames: ['a.example.com', '*.b.example.com'], rotateAtPercent: 67 });
  const ca = await api.certificateAuthorities.createCertificateAuthority(caller, {});

  const first = (await testCsr()).pem;
  const second = (await testCsr()).pem;
  const put = (pem: string) =>
    db.transaction((tx) => services.certificates.putPending(tx, { tenantId: tenant, instanceUid: uid(1), senderUid: uid(1), csrPem: pem, csrDigest: csrDigest(pem), keyType: 'ecdsa-p256', dnsNames: ['a.example.com'] }));
  const a = await put(first);
  expect((await put(first)).id).toBe(a.id);
  const b = await put(second);
  expect(b).toMatchObject({ id: a.id, csrPem: second, dnsNames: ['a.example.com'] });
  expect(await services.certificates.countPending(tenant)).toBe(1);

  const approved = await api.agentCertificates.approveCertificateRequest(caller, { id: a.id });
  expect(approved).toMatchObject({ state: 'APPROVED' });
  const [cert] = (await api.agentCertificates.listAgentCertificates(caller, { instanceUid: uid(1).toString('hex') }))['certificates'] as Array<{ certificatePem: string; fingerprint: string }>;
  expect(new X509Certificate(cert.certificatePem).verify(new X509Certificate(String(ca['certificatePem'])).publicKey)).toBe(true);
  expect(directory.get(cert.fingerprint)).toMatchObject({ kind: 'certificate', tenantId: tenant, uidHex: uid(1).toString('hex') });
  // Approved, so the agent's next CSR waits afresh.
  expect((await put(first)).id).not.toBe(a.id);

  await api.certificateAuthorities.rotateCertificateAuthority(caller, { overlapHours: 2 });
  const list = await api.certificateAuthorities.listCertificateAuthorities(caller);
  expect((list['certificateAuthorities'] as Array<{ state: string }>).map((c) => c.state)).toEqual(['ACTIVE', 'RETIRING']);
  expect(String(list['trustBundlePem']).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
});
