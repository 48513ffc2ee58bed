/**
 * Renewing an agent's certificate for the key it already holds: OpAMP gives
 * the server no way to ask an agent for a new CSR, and a key the server made
 * would have to travel in the offer (TLSCertificate.private_key) and wait in
 * the database with it. So a rotation signs the public key of the agent's
 * current certificate again (which came from its own CSR), with the names it
 * carries, under the tenant's active CA and policy. An agent that wants a new
 * key sends a new CSR whenever it likes (§3.6.5 step 8).
 */
import { parseAgentUri } from './agent-certificate-names';
import { CertificateRefusal } from './certificate-refusal';
import type { CertificateGrant } from './certificate-policy';
import { keyTypeOfSpki, type KeyType } from './key-algorithm';
import { x509 } from './x509-runtime';

export interface RenewalRequest {
  readonly publicKey: x509.PublicKey;
  readonly keyType: KeyType | null;
  readonly grant: CertificateGrant;
}

/** What renewing `certificatePem` signs: its key and the agent and DNS names it names; refused when it names no agent of this tenant. */
export function renewalRequestOf(certificatePem: string, tenantId: string, uidHex: string): RenewalRequest {
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(certificatePem);
  } catch {
    throw new CertificateRefusal('malformed', 'the certificate to renew cannot be read');
  }
  const names = cert.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [];
  const agent = names.filter((n) => n.type === 'url').map((n) => parseAgentUri(n.value))[0] ?? null;
  if (!agent || agent.tenantId !== tenantId || agent.uidHex !== uidHex) throw new CertificateRefusal('uid_mismatch', 'the certificate to renew names another agent');
  const dnsNames = names.filter((n) => n.type === 'dns').map((n) => n.value);
  return { publicKey: cert.publicKey, keyType: keyTypeOfSpki(new Uint8Array(cert.publicKey.rawData)).type, grant: { tenantId, uidHex, dnsNames } };
}
