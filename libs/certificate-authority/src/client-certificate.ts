/**
 * Signing an agent's client certificate from a granted request: the subject
 * and SAN that name the agent (agent-certificate-names.ts), clientAuth only,
 * a random serial, and a validity that starts a little in the past (clock
 * skew) and never outlives the CA.
 */
import { createHash, randomBytes } from 'node:crypto';
import { agentSubject, agentUri } from './agent-certificate-names';
import { CertificateRefusal } from './certificate-refusal';
import { CLOCK_SKEW_MS, MIN_CLIENT_CERT_LIFETIME_HOURS } from './certificate-limits';
import type { CertificateGrant } from './certificate-policy';
import type { CertificateSigner } from './certificate-signer';
import type { KeyType } from './key-algorithm';
import { nativeCrypto } from './native-crypto';
import { x509 } from './x509-runtime';

const HOUR_MS = 3_600_000;

/** The extensions every agent certificate has alike, made once (each is serialized when made). */
const FIXED = {
  basicConstraints: new x509.BasicConstraintsExtension(false, undefined, true),
  keyUsageEc: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
  keyUsageRsa: new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
  clientAuth: new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth], false),
};

export interface IssuedCertificate {
  readonly certificatePem: string;
  readonly der: Buffer;
  readonly serialHex: string;
  /** SHA-256 of the DER, lowercase hex: the key of the credential directory's entry (kind CERTIFICATE). */
  readonly fingerprintHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly caCertificatePem: string;
}

/** 16 random bytes, first bit clear (a positive INTEGER) and never a leading zero byte (DER would shorten it). */
export function randomSerialHex(): string {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
}

/**
 * When a certificate signed now is valid: from now minus the clock skew to
 * now plus the lifetime, cut at the CA's own end. Refused when what is left of
 * the CA's life is shorter than the shortest certificate (the CA must rotate).
 */
export function validityOf(nowMs: number, lifetimeHours: number, caNotAfter: Date): { notBefore: Date; notAfter: Date } {
  const end = Math.min(nowMs + lifetimeHours * HOUR_MS, caNotAfter.getTime());
  if (end - nowMs < MIN_CLIENT_CERT_LIFETIME_HOURS * HOUR_MS) throw new CertificateRefusal('ca_expiring', 'the CA expires too soon to sign (rotate the CA)');
  // X.509 times have whole seconds: keep the dates what the certificate will say.
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  return { notBefore: second(nowMs - CLOCK_SKEW_MS), notAfter: second(end) };
}

export function fingerprintOf(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex');
}

export async function issueClientCertificate(
  signer: CertificateSigner,
  request: { publicKey: x509.PublicKey; keyType: KeyType | null },
  grant: CertificateGrant,
  lifetimeHours: number,
  nowMs = Date.now(),
): Promise<IssuedCertificate> {
  const { notBefore, notAfter } = validityOf(nowMs, lifetimeHours, signer.caNotAfter);
  const serialHex = randomSerialHex();
  const rsa = request.keyType?.startsWith('rsa-') ?? false;
  const sans: x509.JsonGeneralNames = [{ type: 'url', value: agentUri(grant.tenantId, grant.uidHex) }, ...grant.dnsNames.map((d) => ({ type: 'dns' as const, value: d }))];
  const certificate = await signer.sign({
    subject: agentSubject(grant.tenantId, grant.uidHex),
    publicKey: request.publicKey,
    serialHex,
    notBefore,
    notAfter,
    extensions: [
      FIXED.basicConstraints,
      rsa ? FIXED.keyUsageRsa : FIXED.keyUsageEc,
      FIXED.clientAuth,
      await signer.authorityKeyIdentifier(),
      await x509.SubjectKeyIdentifierExtension.create(request.publicKey, false, nativeCrypto),
      new x509.SubjectAlternativeNameExtension(sans, false),
    ],
  });
  const der = Buffer.from(certificate.rawData);
  return { certificatePem: certificate.toString('pem'), der, serialHex, fingerprintHex: fingerprintOf(der), notBefore, notAfter, caCertificatePem: signer.caCertificatePem };
}
