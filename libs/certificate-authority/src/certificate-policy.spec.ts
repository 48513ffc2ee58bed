import { testCsr } from '@opamp/testing';
import { agentUri } from './agent-certificate-names';
import { checkedPolicy, decideRequest, dnsNameAllowed, DEFAULT_CERTIFICATE_POLICY } from './certificate-policy';
import { parseCertificateRequest } from './certificate-request';

const UID = '0123456789abcdef0123456789abcdef';
const OTHER = 'fedcba9876543210fedcba9876543210';
const agent = { tenantId: 'acme', uidHex: UID };

async function request(o: Parameters<typeof testCsr>[0]) {
  return parseCertificateRequest((await testCsr(o)).pem);
}

describe('decideRequest', () => {
  it('grants a CSR without a uid to the sender, and one naming the sender', async () => {
    expect(decideRequest(DEFAULT_CERTIFICATE_POLICY, await request({ commonName: 'any client' }), agent)).toEqual({ tenantId: 'acme', uidHex: UID, dnsNames: [] });
    expect(decideRequest(DEFAULT_CERTIFICATE_POLICY, await request({ uris: [agentUri('acme', UID)] }), agent).uidHex).toBe(UID);
  });

  it("refuses a CSR for another agent's uid (C67)", async () => {
    const r = await request({ commonName: OTHER });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, r, agent)).toThrow(expect.objectContaining({ code: 'uid_mismatch' }));
    const byUri = await request({ uris: [agentUri('acme', OTHER)] });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, byUri, agent)).toThrow("the CSR names another agent's instance_uid");
  });

  it('grants the new uid after the server reassigned it, while the agent still speaks as the old one (C67)', async () => {
    const r = await request({ commonName: OTHER });
    expect(decideRequest(DEFAULT_CERTIFICATE_POLICY, r, { ...agent, reassignedUidHex: OTHER }).uidHex).toBe(OTHER);
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, r, { ...agent, reassignedUidHex: 'aa'.repeat(16) })).toThrow(expect.objectContaining({ code: 'uid_mismatch' }));
    // A CSR made before the agent learnt its new uid names the old one: the certificate is for the new one all the same.
    const old = await request({ commonName: UID });
    expect(decideRequest(DEFAULT_CERTIFICATE_POLICY, old, { ...agent, reassignedUidHex: OTHER }).uidHex).toBe(OTHER);
  });

  it('refuses a key type the policy does not accept, naming it', async () => {
    const policy = checkedPolicy({ keyTypes: ['ecdsa-p256'] });
    const rsa = await request({ keyType: 'rsa-2048' });
    expect(() => decideRequest(policy, rsa, agent)).toThrow('the key (rsa-2048) is not one of the accepted types: ecdsa-p256');
    const weak = await request({ keyType: 'rsa-1024' });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, weak, agent)).toThrow(expect.objectContaining({ code: 'key_type', message: expect.stringContaining('rsa 1024') }));
    const p521 = await request({ keyType: 'ecdsa-p521' });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, p521, agent)).toThrow(expect.objectContaining({ code: 'key_type' }));
  });

  it('refuses another tenant, URIs other than the agent URI, and SAN kinds not issued', async () => {
    const tenant = await request({ uris: [agentUri('globex', UID)] });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, tenant, agent)).toThrow(expect.objectContaining({ code: 'tenant_mismatch' }));
    const uri = await request({ uris: ['https://evil.example.com/'] });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, uri, agent)).toThrow(expect.objectContaining({ code: 'san_not_allowed' }));
    const email = await request({ emails: ['ops@example.com'] });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, email, agent)).toThrow('the CSR asks for subject alternative names of a kind not issued (email)');
  });

  it('grants DNS names only as the policy allows', async () => {
    const r = await request({ dnsNames: ['Host1.Agents.Example.com'] });
    expect(() => decideRequest(DEFAULT_CERTIFICATE_POLICY, r, agent)).toThrow(expect.objectContaining({ code: 'san_not_allowed' }));
    const policy = checkedPolicy({ allowedDnsNames: ['*.agents.example.com'] });
    expect(decideRequest(policy, r, agent).dnsNames).toEqual(['host1.agents.example.com']);
  });
});

describe('dnsNameAllowed', () => {
  it('matches exact names and *.suffix patterns of one label or more, never the bare suffix or a look-alike', () => {
    const p = ['*.agents.example.com', 'gw.example.com'];
    expect(dnsNameAllowed(p, 'a.agents.example.com')).toBe(true);
    expect(dnsNameAllowed(p, 'a.b.agents.example.com')).toBe(true);
    expect(dnsNameAllowed(p, 'GW.example.com')).toBe(true);
    expect(dnsNameAllowed(p, 'agents.example.com')).toBe(false);
    expect(dnsNameAllowed(p, 'evilagents.example.com')).toBe(false);
    expect(dnsNameAllowed(p, 'x.gw.example.com')).toBe(false);
  });
});

describe('checkedPolicy', () => {
  it('fills the defaults and refuses what cannot be a policy, with the reason', () => {
    expect(checkedPolicy({})).toEqual(DEFAULT_CERTIFICATE_POLICY);
    expect(() => checkedPolicy({ keyTypes: ['dsa-1024'] })).toThrow('key type must be one of ecdsa-p256, ecdsa-p384, rsa-2048, rsa-3072, rsa-4096');
    expect(() => checkedPolicy({ lifetimeHours: 0 })).toThrow('lifetime_hours must be a whole number from 1 to 8784');
    expect(() => checkedPolicy({ lifetimeHours: 1.5 })).toThrow('lifetime_hours');
    expect(() => checkedPolicy({ allowedDnsNames: ['a b'] })).toThrow('allowed DNS names must be host names or *.suffix patterns');
    expect(() => checkedPolicy({ allowedDnsNames: ['*.*.example.com'] })).toThrow('allowed DNS names');
    expect(checkedPolicy({ requireApproval: true, lifetimeHours: 48, keyTypes: ['ecdsa-p256'] })).toEqual({ keyTypes: ['ecdsa-p256'], lifetimeHours: 48, allowedDnsNames: [], requireApproval: true, rotateAtPercent: 67 });
    expect(checkedPolicy({ rotateAtPercent: 80 }).rotateAtPercent).toBe(80);
    expect(() => checkedPolicy({ rotateAtPercent: 99 })).toThrow('rotate_at_percent must be a whole number from 10 to 95');
    expect(() => checkedPolicy({ rotateAtPercent: 50.5 })).toThrow('rotate_at_percent');
  });
});
