/**
 * The client certificate a mutual-TLS terminator verified, as the edge reads
 * it from the terminator's headers, and how it combines with a bearer
 * credential into the one credential a connection speaks with. Pure.
 *
 * A certificate is known by its fingerprint: the lowercase hex SHA-256 of
 * its DER, the key of its entry (kind certificate) in the credential
 * directory. The terminator passes either that fingerprint (HAProxy:
 * `%[ssl_c_der,sha2(256),hex]`) or the certificate itself as URL-encoded PEM
 * (ingress-nginx: `ssl-client-cert`), whose fingerprint the edge computes.
 *
 * - A believed certificate is the connection's credential: no bearer header
 *   is needed. Its directory entry binds it to one tenant and one agent.
 * - A certificate the directory does not know (never issued here, revoked,
 *   expired) is refused, even with a valid bearer header beside it: a revoked
 *   certificate must not fall back to a token. A revoked one (in the
 *   revocation set) is refused saying so.
 * - With both, both must name the same agent: the same tenant, and, when the
 *   bearer credential is an agent's own, the same instance_uid.
 * - Without a believed certificate, the bearer credential alone, as before.
 */
import { createHash } from 'node:crypto';
import type { AgentCredential } from './agent-token.authority';
import type { RejectionReason } from './edge-metrics';

/** What the rule reads from the credential directory. */
export interface CertificateDirectory {
  /** The unexpired directory entry (kind certificate) of this fingerprint, or null. */
  certificateCredential(fingerprintHex: string): AgentCredential | null;
  /** Whether the certificate was revoked (refused with that reason, not as unknown). */
  certificateRevoked?(fingerprintHex: string): boolean;
}

export type ConnectCredential =
  | { readonly ok: true; readonly credential: AgentCredential }
  | { readonly ok: false; readonly metric: RejectionReason; readonly detail: string };

const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A fingerprint header's value as the directory keys it (lowercase hex, colons allowed); null when it is not one. */
export function parseFingerprint(value: string): string | null {
  const hex = value.trim().replace(/:/g, '').toLowerCase();
  return SHA256_HEX.test(hex) ? hex : null;
}

/** The fingerprint of a certificate passed as (URL-encoded) PEM; null when the value holds no certificate. */
export function fingerprintOfPem(value: string): string | null {
  let pem: string;
  try {
    pem = decodeURIComponent(value);
  } catch {
    return null;
  }
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) return null;
  const der = Buffer.from(m[1].replace(/\s+/g, ''), 'base64');
  if (der.length === 0) return null;
  return createHash('sha256').update(der).digest('hex');
}

/**
 * The credential a connection speaks with. `bearer` is what the bearer header
 * authenticated to (null when absent or not valid), `bearerPresented` whether
 * one was sent at all, `fingerprint` the believed certificate's (null: none).
 */
export function connectCredential(
  directory: CertificateDirectory,
  bearer: AgentCredential | null,
  bearerPresented: boolean,
  fingerprint: string | null,
): ConnectCredential {
  if (fingerprint === null) {
    return bearer ? { ok: true, credential: bearer } : { ok: false, metric: 'unauthorized', detail: 'unauthorized' };
  }
  if (directory.certificateRevoked?.(fingerprint)) {
    return { ok: false, metric: 'certificate_revoked', detail: 'client certificate revoked: connect with a certificate the server issued since' };
  }
  const certificate = directory.certificateCredential(fingerprint);
  if (!certificate) {
    return { ok: false, metric: 'unknown_certificate', detail: 'client certificate not accepted: not issued by this server, revoked or expired' };
  }
  if (!bearerPresented) return { ok: true, credential: certificate };
  if (!bearer) return { ok: false, metric: 'unauthorized', detail: 'unauthorized: the bearer credential beside the client certificate is not valid' };
  const bearerUid = bearer.kind === 'agent' || bearer.kind === 'certificate' ? bearer.uidHex : undefined;
  if (bearer.tenantId !== certificate.tenantId || (bearerUid !== undefined && bearerUid !== certificate.uidHex)) {
    return { ok: false, metric: 'credential_mismatch', detail: 'the client certificate and the bearer credential belong to different agents' };
  }
  return { ok: true, credential: certificate };
}
