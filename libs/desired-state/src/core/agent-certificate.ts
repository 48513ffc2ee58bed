/**
 * Agents' certificate requests, pure: what becomes of a CSR an agent sends in
 * connection_settings_request (conformance C65-C68), and the certificate part
 * of a connection settings offer.
 *
 * - an agent that does not accept OpAMP connection settings (0x100) cannot be
 *   given a certificate: refused;
 * - a tenant without a CA: refused (the server should not advertise 0x40 then);
 * - garbage, a bad signature, a key type or SAN the policy refuses, or another
 *   agent's uid: refused with the reason (BAD_REQUEST, C66, C67);
 * - with approval on, the request waits for an operator (C68); else issued.
 */
import { decideRequest, CertificateRefusal, parseCertificateRequest, type CertificateGrant, type CertificatePolicy, type CertificateRequestInfo, type RequestingAgent } from '@opamp/certificate-authority';
import { mayOffer, type opamp } from '@opamp/protocol';

export type CertificateRequestOutcome =
  | { readonly action: 'refuse'; readonly code: string; readonly message: string }
  | { readonly action: 'wait' | 'issue'; readonly grant: CertificateGrant; readonly request: CertificateRequestInfo };

export interface CertificateRequestInput {
  readonly csr: Uint8Array;
  readonly capabilities: number;
  /** The tenant's policy; null when the tenant has no CA to sign with. */
  readonly policy: CertificatePolicy | null;
  readonly agent: RequestingAgent;
}

export async function judgeCertificateRequest(input: CertificateRequestInput): Promise<CertificateRequestOutcome> {
  if (!mayOffer(input.capabilities, 'connection_settings.opamp')) {
    return { action: 'refuse', code: 'not_accepted', message: 'a certificate is given through OpAMP connection settings: the agent must accept them (AcceptsOpAMPConnectionSettings, 0x100)' };
  }
  if (!input.policy) return { action: 'refuse', code: 'no_authority', message: 'this server issues no client certificates for the tenant (it has no certificate authority)' };
  try {
    const request = await parseCertificateRequest(input.csr);
    const grant = decideRequest(input.policy, request, input.agent);
    return { action: input.policy.requireApproval ? 'wait' : 'issue', grant, request };
  } catch (err) {
    if (err instanceof CertificateRefusal) return { action: 'refuse', code: err.code, message: `certificate request refused: ${err.message}` };
    throw err;
  }
}

/** The certificate of an offer (C65): the signed certificate and its CA, no private key (the agent keeps the one it made the CSR with). */
export function offerCertificate(certificatePem: string, caCertificatePem: string): opamp.proto.v1.ITLSCertificate {
  return { cert: Buffer.from(certificatePem, 'utf8'), privateKey: Buffer.alloc(0), caCert: Buffer.from(caCertificatePem, 'utf8') };
}
