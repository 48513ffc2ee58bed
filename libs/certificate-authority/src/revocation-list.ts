/**
 * A CA's certificate revocation list (RFC 5280 §5): the serials of the
 * certificates it revoked that have not expired yet (an expired certificate
 * is refused by its dates; dropping it keeps the list short), each with its
 * revocation time and reason code, signed by the CA's key with
 * @peculiar/x509. thisUpdate is now, nextUpdate now plus the validity: a
 * terminator refuses every client of a CA whose CRL is past nextUpdate, so
 * the server re-signs well before.
 */
import { CLOCK_SKEW_MS, MAX_CRL_VALIDITY_HOURS, MIN_CRL_VALIDITY_HOURS } from './certificate-limits';
import { signingAlgorithmOf, type KeyType } from './key-algorithm';
import { nativeCrypto } from './native-crypto';
import { x509, type CryptoKey } from './x509-runtime';

const HOUR_MS = 3_600_000;

/** Why a certificate was revoked: RFC 5280's CRLReason codes an operator can mean (certificateHold and removeFromCRL are not revocations). */
export const REVOCATION_REASONS = {
  unspecified: x509.X509CrlReason.unspecified,
  key_compromise: x509.X509CrlReason.keyCompromise,
  ca_compromise: x509.X509CrlReason.cACompromise,
  affiliation_changed: x509.X509CrlReason.affiliationChanged,
  superseded: x509.X509CrlReason.superseded,
  cessation_of_operation: x509.X509CrlReason.cessationOfOperation,
  privilege_withdrawn: x509.X509CrlReason.privilegeWithdrawn,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

export function isRevocationReason(v: string): v is RevocationReason {
  return Object.prototype.hasOwnProperty.call(REVOCATION_REASONS, v);
}

/** One revoked certificate as the list names it. */
export interface RevokedSerial {
  /** Lowercase hex, as issued. */
  readonly serialHex: string;
  readonly revokedAt: Date;
  readonly reason: RevocationReason;
}

export interface SignedRevocationList {
  readonly pem: string;
  readonly der: Buffer;
  readonly thisUpdate: Date;
  readonly nextUpdate: Date;
}

/** Throws Error with the reason when the validity (hours) is not one a CRL may have. */
export function checkCrlValidityHours(hours: number): number {
  if (!Number.isInteger(hours) || hours < MIN_CRL_VALIDITY_HOURS || hours > MAX_CRL_VALIDITY_HOURS) {
    throw new Error(`a CRL's validity must be a whole number of hours from ${MIN_CRL_VALIDITY_HOURS} to ${MAX_CRL_VALIDITY_HOURS}`);
  }
  return hours;
}

/**
 * The list signed now. thisUpdate starts a little in the past (terminators
 * whose clocks run behind would call a CRL "not yet valid" and refuse everyone).
 */
export async function signRevocationList(
  ca: { certificatePem: string; keyType: KeyType; signingKey: CryptoKey },
  revoked: readonly RevokedSerial[],
  validityHours: number,
  nowMs = Date.now(),
): Promise<SignedRevocationList> {
  checkCrlValidityHours(validityHours);
  const second = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const caCert = new x509.X509Certificate(ca.certificatePem);
  const thisUpdate = second(nowMs - CLOCK_SKEW_MS);
  const nextUpdate = second(nowMs + validityHours * HOUR_MS);
  const crl = await x509.X509CrlGenerator.create(
    {
      issuer: caCert.subjectName,
      thisUpdate,
      nextUpdate,
      signingAlgorithm: signingAlgorithmOf(ca.keyType),
      signingKey: ca.signingKey,
      extensions: [await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey, false, nativeCrypto)],
      entries: [...revoked]
        .sort((a, b) => a.serialHex.localeCompare(b.serialHex))
        .map((r) => ({ serialNumber: r.serialHex, revocationDate: second(r.revokedAt.getTime()), reason: REVOCATION_REASONS[r.reason] })),
    },
    nativeCrypto,
  );
  // The library labels it "CRL"; OpenSSL (and so HAProxy) reads only RFC 7468's "X509 CRL".
  const pem = x509.PemConverter.encode(crl.rawData, 'X509 CRL');
  return { pem: pem.endsWith('\n') ? pem : `${pem}\n`, der: Buffer.from(crl.rawData), thisUpdate, nextUpdate };
}
