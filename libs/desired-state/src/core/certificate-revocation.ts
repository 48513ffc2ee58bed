/**
 * What a revocation covers (issue 18 item 5), pure: the scope an operator
 * names (exactly one of a certificate id, serial or fingerprint; an agent; a
 * label selector, optionally only the certificates of one CA), the reason
 * code the CRL will carry, and the note. Two calls use it:
 * - RevokeAgentCertificates: certificates only (the agent may still connect
 *   with another credential it holds: a bearer credential, a newer certificate);
 * - RevokeAgents ("revoke the agent", C69): every certificate of the agents
 *   and every other credential this server issued them (their own bearer
 *   credentials), so nothing the server handed out still speaks for them.
 */
import { isRevocationReason, REVOCATION_REASONS, type RevocationReason } from '@opamp/certificate-authority';
import { echo, invalidArgument } from './errors';
import { MAX_REVOCATION_NOTE_CHARS } from './limits';

export type CertificateRevocationScope =
  | { readonly kind: 'certificate'; readonly by: 'id' | 'serial' | 'fingerprint'; readonly value: string; readonly caId: string | null }
  | { readonly kind: 'agent'; readonly uidHex: string; readonly caId: string | null }
  | { readonly kind: 'selector'; readonly selector: string; readonly caId: string | null };

export interface CertificateRevocationRequest {
  readonly scope: CertificateRevocationScope;
  readonly reason: RevocationReason;
  readonly note: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const SERIAL = /^[0-9a-f]{1,40}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const UID_HEX = /^[0-9a-f]{32}$/;

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : v === undefined || v === null ? '' : String(v).trim());

/** A reason code as the API takes it: the proto enum's name (KEY_COMPROMISE) or its lowercase form; absent: unspecified. */
export function revocationReasonOf(v: unknown): RevocationReason {
  const s = text(v).toLowerCase().replace(/^revocation_reason_/, '');
  if (!s) return 'unspecified';
  if (!isRevocationReason(s)) throw invalidArgument(`reason must be one of ${Object.keys(REVOCATION_REASONS).map((r) => r.toUpperCase()).join(', ')}, got ${echo(text(v))}`);
  return s;
}

/**
 * The scope and reason of a revocation request (fields in lowerCamelCase as
 * the adapters give them). `agentsOnly`: RevokeAgents, which names agents,
 * not single certificates.
 */
export function certificateRevocationOf(req: Record<string, unknown>, agentsOnly = false): CertificateRevocationRequest {
  const fields = agentsOnly ? (['instanceUid', 'selector'] as const) : (['certificateId', 'serial', 'fingerprint', 'instanceUid', 'selector'] as const);
  const named = fields.filter((f) => text(req[f]) !== '');
  const snake = (f: string) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (named.length !== 1) throw invalidArgument(`name exactly one of ${fields.map(snake).join(', ')}`);
  const caText = text(req['caId']).toLowerCase();
  if (caText && !UUID.test(caText)) throw invalidArgument('ca_id must be a certificate authority id (a UUID)');
  const caId = caText || null;
  const note = text(req['note']);
  if (note.length > MAX_REVOCATION_NOTE_CHARS) throw invalidArgument(`note must be at most ${MAX_REVOCATION_NOTE_CHARS} characters`);
  const reason = revocationReasonOf(req['reason']);
  const field = named[0];
  const value = text(req[field]);
  let scope: CertificateRevocationScope;
  switch (field) {
    case 'certificateId':
      if (!UUID.test(value.toLowerCase())) throw invalidArgument('certificate_id must be a certificate id (a UUID)');
      scope = { kind: 'certificate', by: 'id', value: value.toLowerCase(), caId };
      break;
    case 'serial': {
      // Serials are shown in hex; OpenSSL prints them with colons and in capitals.
      const serial = value.replace(/:/g, '').toLowerCase().replace(/^0+(?=.)/, '');
      if (!SERIAL.test(serial)) throw invalidArgument('serial must be the certificate serial number in hex (at most 20 bytes)');
      scope = { kind: 'certificate', by: 'serial', value: serial, caId };
      break;
    }
    case 'fingerprint': {
      const fp = value.replace(/:/g, '').toLowerCase();
      if (!SHA256_HEX.test(fp)) throw invalidArgument('fingerprint must be the SHA-256 of the certificate (64 hex digits, colons allowed)');
      scope = { kind: 'certificate', by: 'fingerprint', value: fp, caId };
      break;
    }
    case 'instanceUid': {
      const uid = value.toLowerCase().replace(/-/g, '');
      if (!UID_HEX.test(uid)) throw invalidArgument(`instance_uid must be 32 hex digits (16 bytes), got ${echo(value)}`);
      scope = { kind: 'agent', uidHex: uid, caId };
      break;
    }
    default:
      scope = { kind: 'selector', selector: value, caId };
  }
  return { scope, reason, note };
}
