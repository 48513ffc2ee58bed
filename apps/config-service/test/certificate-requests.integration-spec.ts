/**
 * Agents' CSRs through config-service on the real Kafka, Redis and PostgreSQL
 * (issue 18, C65-C68): a valid CSR from an agent that accepts OpAMP
 * connection settings gets an offer carrying the signed certificate and the
 * CA (the offer's hash changes); garbage, a bad signature, another agent's
 * uid or an agent that cannot take settings get BAD_REQUEST, counted, nothing
 * stored; after a server-assigned uid change the CSR is judged for the new
 * uid; with approval on the request waits, and the offer goes out once an
 * operator approves it.
 */
import { X509Certificate } from 'node:crypto';
import { fleet } from '@opamp/contracts';
import { agentUri } from '@opamp/certificate-authority';
import { testCsr, waitFor } from '@opamp/testing';
import { AgentCapabilities, opamp } from '@opamp/protocol';
import { ConfigServiceBed, type OwnCredentialAgent } from './config-service.bed';

const CAPS = AgentCapabilities.ReportsStatus | AgentCapabilities.AcceptsOpAMPConnectionSettings | AgentCapabilities.ReportsHeartbeat;
const CSR_CHANGE = fleet.v1.AgentChange.AGENT_CHANGE_CERTIFICATE_REQUEST;
const BAD_REQUEST = opamp.proto.v1.ServerErrorResponseType.ServerErrorResponseType_BadRequest;

let bed: ConfigServiceBed;
let caPem: string;

beforeAll(async () => {
  bed = await ConfigServiceBed.start('csr', { pushes: true, overrides: { credentialKey: Buffer.alloc(32, 4), publicOpampUrl: 'https://opamp.example.com/v1/opamp', offerHeartbeatS: 15 } });
  caPem = String((await bed.rpc('CreateCertificateAuthority', {}))['certificatePem']);
}, 60_000);

afterAll(async () => {
  await bed?.close();
});

const offersTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.connectionSettings);
const errorsTo = (uid: Buffer) => bed.pushesFor(uid).filter((m) => m.errorResponse);
const refused = (code: string) => bed.primary.certificateRequests.metrics.refused[code] ?? 0;

async function sendCsr(agent: OwnCredentialAgent, csr: Buffer | string, extra: Parameters<OwnCredentialAgent['report']>[0] = {}): Promise<void> {
  await agent.report({ changes: CSR_CHANGE, certificateRequestCsr: Buffer.from(csr), ...extra });
}

describe('a CSR from an agent', () => {
  it('gets an offer carrying the certificate signed by the tenant CA and the CA, with a new hash (C65)', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    const before = await waitFor(() => offersTo(agent.uid), (o) => o.length >= 1, { description: 'the credential offer' });
    const csr = await testCsr({ commonName: agent.uid.toString('hex') });
    await sendCsr(agent, csr.pem);
    const offers = await waitFor(() => offersTo(agent.uid), (o) => o.some((m) => m.connectionSettings?.opamp?.certificate), { description: 'an offer with a certificate' });
    const offer = offers.find((m) => m.connectionSettings?.opamp?.certificate)!.connectionSettings!;
    const tls = offer.opamp!.certificate!;
    expect(Buffer.from(tls.privateKey ?? []).length).toBe(0);
    expect(Buffer.from(tls.caCert!).toString()).toBe(caPem);
    const cert = new X509Certificate(Buffer.from(tls.cert!).toString());
    expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    expect(cert.publicKey.export({ format: 'der', type: 'spki' })).toEqual(csr.spki);
    expect(cert.subjectAltName).toBe(`URI:${agentUri(bed.tenants[0].id, agent.uid.toString('hex'))}`);
    // The rest of the offer is still the agent's: its own credential.
    expect(offer.opamp!.headers!.headers![0].value).toBe(`Bearer ${agent.secret}`);
    expect(Buffer.from(offer.hash!).equals(Buffer.from(before[0].connectionSettings!.hash!))).toBe(false);
    const listed = await bed.rpc('ListAgentCertificates', { instanceUid: agent.uid.toString('hex') });
    const [record] = listed['certificates'] as Array<{ fingerprint: string; state: string }>;
    expect(record.state).toBe('ISSUED');
    expect(record.fingerprint).toBe(cert.fingerprint256.replace(/:/g, '').toLowerCase());
    expect(await bed.redis.hget('opamp:agent-tokens', record.fingerprint)).toMatch(new RegExp(`\\|c\\|${agent.uid.toString('hex')}\\|0\\|0$`));
  });

  it('a new CSR replaces the certificate not used yet: at most one unused certificate per agent, in the directory and the offer', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    const certOf = (m: ReturnType<typeof offersTo>[number]) => Buffer.from(m.connectionSettings?.opamp?.certificate?.cert ?? []).toString();
    await sendCsr(agent, (await testCsr()).pem);
    const [first] = await waitFor(() => offersTo(agent.uid).filter((m) => certOf(m)), (o) => o.length >= 1, { description: 'the first certificate offered' });
    await sendCsr(agent, (await testCsr()).pem);
    const offers = await waitFor(() => offersTo(agent.uid).filter((m) => certOf(m) && certOf(m) !== certOf(first)), (o) => o.length >= 1, { description: 'the second certificate offered' });
    expect(certOf(offers[0])).not.toBe(certOf(first));
    const listed = (await bed.rpc('ListAgentCertificates', { instanceUid: agent.uid.toString('hex') }))['certificates'] as Array<{ fingerprint: string; state: string }>;
    expect(listed.map((c) => c.state)).toEqual(['ISSUED', 'SUPERSEDED']);
    expect(await bed.redis.hget('opamp:agent-tokens', listed[1].fingerprint)).toBeNull();
    expect(await bed.redis.hget('opamp:agent-tokens', listed[0].fingerprint)).not.toBeNull();
  });

  it('garbage, a bad signature, another uid, an agent without 0x100: BAD_REQUEST with the reason, counted, nothing stored (C66, C67)', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    const cases: Array<[Buffer | string, string, string]> = [
      ['not a csr', 'malformed', 'certificate request refused: the CSR is not one PEM "CERTIFICATE REQUEST" block'],
      [(await testCsr({ badSignature: true })).pem, 'bad_signature', "certificate request refused: the CSR's signature does not verify with its public key"],
      [(await testCsr({ commonName: 'ff'.repeat(16) })).pem, 'uid_mismatch', "certificate request refused: the CSR names another agent's instance_uid"],
    ];
    for (const [csr, code, message] of cases) {
      const count = refused(code);
      const errors = errorsTo(agent.uid).length;
      await sendCsr(agent, csr);
      const [error] = (await waitFor(() => errorsTo(agent.uid), (e) => e.length === errors + 1, { description: `BAD_REQUEST for ${code}` })).slice(-1);
      expect(error.errorResponse).toMatchObject({ type: BAD_REQUEST, errorMessage: message });
      expect(refused(code)).toBe(count + 1);
    }
    // An agent on an enrollment token that does not accept OpAMP connection settings.
    const notAccepting = bed.newUid();
    await bed.report({
      tenant: bed.tenants[0].id,
      uid: notAccepting,
      capabilities: AgentCapabilities.ReportsStatus,
      labels: {},
      credentialId: 'static-token',
      credentialKind: fleet.v1.CredentialKind.CREDENTIAL_KIND_ENROLLMENT,
      changes: fleet.v1.AgentChange.AGENT_CHANGE_CONNECTION | CSR_CHANGE,
      certificateRequestCsr: Buffer.from((await testCsr()).pem),
    });
    const [error] = await waitFor(() => errorsTo(notAccepting), (e) => e.length === 1, { description: 'BAD_REQUEST for no 0x100' });
    expect(error.errorResponse?.errorMessage).toContain('AcceptsOpAMPConnectionSettings, 0x100');
    const stored = await bed.pool.query(`SELECT count(*) AS n FROM agent_certificates WHERE instance_uid = ANY($1::bytea[])`, [[agent.uid, notAccepting]]);
    expect(Number(stored.rows[0]['n'])).toBe(0);
    expect(offersTo(agent.uid).some((m) => m.connectionSettings?.opamp?.certificate)).toBe(false);
    const metrics = await fetch(`${bed.httpBase}/metrics`).then((r) => r.text());
    expect(metrics).toContain(`opamp_config_certificate_requests_total{outcome="refused",reason="malformed"} ${refused('malformed')}`);
    expect(metrics).toContain(`opamp_config_certificate_requests_total{outcome="refused",reason="not_accepted"} 1`);
  });

  it('after the server gave the agent a new uid, a CSR sent with the old one is judged and signed for the new one (C67)', async () => {
    const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
    const newUid = bed.newUid();
    await bed.report({
      tenant: bed.tenants[0].id,
      uid: newUid,
      previousInstanceUid: agent.uid,
      capabilities: CAPS,
      labels: {},
      credentialId: agent.id,
      credentialKind: fleet.v1.CredentialKind.CREDENTIAL_KIND_AGENT,
      connectionId: `own-${agent.uid.toString('hex')}`,
      changes: fleet.v1.AgentChange.AGENT_CHANGE_INSTANCE_UID | CSR_CHANGE,
      certificateRequestCsr: Buffer.from((await testCsr({ commonName: agent.uid.toString('hex') })).pem),
    });
    const offers = await waitFor(() => offersTo(newUid), (o) => o.some((m) => m.connectionSettings?.opamp?.certificate), { description: 'the new uid offered a certificate' });
    const cert = new X509Certificate(Buffer.from(offers.find((m) => m.connectionSettings?.opamp?.certificate)!.connectionSettings!.opamp!.certificate!.cert!).toString());
    expect(cert.subject).toContain(`CN=${newUid.toString('hex')}`);
  });

  it('with approval on, the request waits (acknowledged, no offer, no error); approved, the offer is pushed (C68)', async () => {
    await bed.rpc('UpdateCertificatePolicy', { policy: { requireApproval: true } });
    try {
      const agent = await bed.agentOnOwnCredential({ capabilities: CAPS });
      await sendCsr(agent, (await testCsr()).pem);
      const waiting = await waitFor(
        () => bed.rpc('ListCertificateRequests', { state: 'PENDING' }).then((r) => (r['requests'] as Array<{ id: string; instanceUid: string }>).filter((q) => q.instanceUid === agent.uid.toString('hex'))),
        (r) => r.length === 1,
        { description: 'the request waiting' },
      );
      expect(errorsTo(agent.uid)).toEqual([]);
      expect(offersTo(agent.uid).some((m) => m.connectionSettings?.opamp?.certificate)).toBe(false);
      await bed.rpc('ApproveCertificateRequest', { id: waiting[0].id });
      const offers = await waitFor(() => offersTo(agent.uid), (o) => o.some((m) => m.connectionSettings?.opamp?.certificate), { description: 'the offer after approval' });
      const cert = new X509Certificate(Buffer.from(offers.find((m) => m.connectionSettings?.opamp?.certificate)!.connectionSettings!.opamp!.certificate!.cert!).toString());
      expect(cert.verify(new X509Certificate(caPem).publicKey)).toBe(true);
    } finally {
      await bed.rpc('UpdateCertificatePolicy', { policy: { requireApproval: false } });
    }
  });
});
