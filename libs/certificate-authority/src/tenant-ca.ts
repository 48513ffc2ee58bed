/**
 * A tenant's built-in certificate authority: a key generated here and a
 * self-signed CA certificate (path length 0: it signs agents, not other CAs).
 * The private key leaves only as PKCS#8, to be sealed (private-key-seal.ts).
 */
import { randomSerialHex, fingerprintOf } from './client-certificate';
import { CLOCK_SKEW_MS, DEFAULT_CA_LIFETIME_DAYS, MAX_CA_LIFETIME_DAYS, MIN_CA_LIFETIME_DAYS } from './certificate-limits';
import { CA_KEY_TYPES, DEFAULT_CA_KEY_TYPE, exportPkcs8, generateKeyPair, signingAlgorithmOf, type KeyType } from './key-algorithm';
import { x509 } from './x509-runtime';

const DAY_MS = 86_400_000;

export interface NewCertificateAuthority {
  readonly keyType: KeyType;
  readonly certificatePem: string;
  readonly pkcs8: Buffer;
  readonly serialHex: string;
  readonly fingerprintHex: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

export interface CertificateAuthorityOptions {
  readonly tenantId: string;
  readonly keyType?: KeyType;
  readonly lifetimeDays?: number;
  readonly nowMs?: number;
}

/** Throws Error with the reason when the options are not acceptable (the API's BAD_REQUEST). */
export function checkCaOptions(o: CertificateAuthorityOptions): { keyType: KeyType; lifetimeDays: number } {
  const keyType = o.keyType ?? DEFAULT_CA_KEY_TYPE;
  if (!CA_KEY_TYPES.includes(keyType)) throw new Error(`a CA key must be one of ${CA_KEY_TYPES.join(', ')}`);
  const lifetimeDays = o.lifetimeDays ?? DEFAULT_CA_LIFETIME_DAYS;
  if (!Number.isInteger(lifetimeDays) || lifetimeDays < MIN_CA_LIFETIME_DAYS || lifetimeDays > MAX_CA_LIFETIME_DAYS) {
    throw new Error(`a CA's lifetime_days must be a whole number from ${MIN_CA_LIFETIME_DAYS} to ${MAX_CA_LIFETIME_DAYS}`);
  }
  return { keyType, lifetimeDays };
}

export async function createCertificateAuthority(o: CertificateAuthorityOptions): Promise<NewCertificateAuthority> {
  const { keyType, lifetimeDays } = checkCaOptions(o);
  const nowMs = o.nowMs ?? Date.now();
  const keys = await generateKeyPair(keyType);
  const serialHex = randomSerialHex();
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notBefore = second(nowMs - CLOCK_SKEW_MS);
  const notAfter = second(nowMs + lifetimeDays * DAY_MS);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: [`OpAMP agents CA ${serialHex.slice(0, 8)}`] }, { O: [o.tenantId] }],
    keys,
    signingAlgorithm: signingAlgorithmOf(keyType),
    serialNumber: serialHex,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey, false),
    ],
  });
  return {
    keyType,
    certificatePem: certificate.toString('pem'),
    pkcs8: await exportPkcs8(keys.privateKey),
    serialHex,
    fingerprintHex: fingerprintOf(Buffer.from(certificate.rawData)),
    notBefore,
    notAfter,
  };
}
