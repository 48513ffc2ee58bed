/**
 * A tenant's certificate policy and the decision on one request: which key
 * types are accepted, how long certificates live, which DNS names agents may
 * ask for, and whether an operator approves each request. The decision also
 * settles the uid the certificate is for (C67): the sender's, or the one the
 * server reassigned it to.
 */
import { parseAgentUri } from './agent-certificate-names';
import { CertificateRefusal } from './certificate-refusal';
import {
  DEFAULT_CLIENT_CERT_LIFETIME_HOURS,
  DEFAULT_ROTATE_AT_PERCENT,
  MAX_CLIENT_CERT_LIFETIME_HOURS,
  MAX_POLICY_DNS_PATTERNS,
  MAX_ROTATE_AT_PERCENT,
  MIN_CLIENT_CERT_LIFETIME_HOURS,
  MIN_ROTATE_AT_PERCENT,
} from './certificate-limits';
import type { CertificateRequestInfo } from './certificate-request';
import { isKeyType, KEY_TYPES, type KeyType } from './key-algorithm';

export interface CertificatePolicy {
  /** Key types agents' keys may be. */
  readonly keyTypes: readonly KeyType[];
  readonly lifetimeHours: number;
  /** DNS names a request may carry: exact names or "*.suffix" (one label or more); empty: none. */
  readonly allowedDnsNames: readonly string[];
  /** Requests wait for an operator's approval. */
  readonly requireApproval: boolean;
  /** Certificates are renewed once this percent of their lifetime has passed (rotation before expiry). */
  readonly rotateAtPercent: number;
}

export const DEFAULT_CERTIFICATE_POLICY: CertificatePolicy = {
  keyTypes: ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'],
  lifetimeHours: DEFAULT_CLIENT_CERT_LIFETIME_HOURS,
  allowedDnsNames: [],
  requireApproval: false,
  rotateAtPercent: DEFAULT_ROTATE_AT_PERCENT,
};

const DNS_PATTERN = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A policy as an operator sets it, checked; throws Error with the reason (the API's BAD_REQUEST). */
export function checkedPolicy(input: {
  keyTypes?: readonly string[];
  lifetimeHours?: number;
  allowedDnsNames?: readonly string[];
  requireApproval?: boolean;
  rotateAtPercent?: number;
}): CertificatePolicy {
  const keyTypes = input.keyTypes && input.keyTypes.length > 0 ? [...new Set(input.keyTypes)] : [...DEFAULT_CERTIFICATE_POLICY.keyTypes];
  for (const k of keyTypes) if (!isKeyType(k)) throw new Error(`key type must be one of ${KEY_TYPES.join(', ')}`);
  const lifetimeHours = input.lifetimeHours ?? DEFAULT_CERTIFICATE_POLICY.lifetimeHours;
  if (!Number.isInteger(lifetimeHours) || lifetimeHours < MIN_CLIENT_CERT_LIFETIME_HOURS || lifetimeHours > MAX_CLIENT_CERT_LIFETIME_HOURS) {
    throw new Error(`lifetime_hours must be a whole number from ${MIN_CLIENT_CERT_LIFETIME_HOURS} to ${MAX_CLIENT_CERT_LIFETIME_HOURS}`);
  }
  const allowedDnsNames = [...new Set((input.allowedDnsNames ?? []).map((n) => n.trim().toLowerCase()))];
  if (allowedDnsNames.length > MAX_POLICY_DNS_PATTERNS) throw new Error(`at most ${MAX_POLICY_DNS_PATTERNS} allowed DNS names`);
  for (const n of allowedDnsNames) if (n.length > 253 || !DNS_PATTERN.test(n)) throw new Error('allowed DNS names must be host names or *.suffix patterns');
  const rotateAtPercent = input.rotateAtPercent || DEFAULT_ROTATE_AT_PERCENT;
  if (!Number.isInteger(rotateAtPercent) || rotateAtPercent < MIN_ROTATE_AT_PERCENT || rotateAtPercent > MAX_ROTATE_AT_PERCENT) {
    throw new Error(`rotate_at_percent must be a whole number from ${MIN_ROTATE_AT_PERCENT} to ${MAX_ROTATE_AT_PERCENT} (0: the default, ${DEFAULT_ROTATE_AT_PERCENT})`);
  }
  return { keyTypes: keyTypes as KeyType[], lifetimeHours, allowedDnsNames, requireApproval: input.requireApproval ?? false, rotateAtPercent };
}

export function dnsNameAllowed(patterns: readonly string[], name: string): boolean {
  const n = name.toLowerCase();
  return patterns.some((p) => (p.startsWith('*.') ? n.endsWith(p.slice(1)) && n.length > p.length - 1 : n === p));
}

/** Who sends the request, as the server knows it. */
export interface RequestingAgent {
  readonly tenantId: string;
  /** The uid of the message carrying the CSR. */
  readonly uidHex: string;
  /** The uid the server reassigned this agent to, when it did and the agent may not have switched yet (C67's exception): the certificate is for it. */
  readonly reassignedUidHex?: string | null;
}

/** What the certificate will say: the agent it is for and the DNS names granted. */
export interface CertificateGrant {
  readonly tenantId: string;
  readonly uidHex: string;
  readonly dnsNames: readonly string[];
}

/** The grant for an acceptable request; throws CertificateRefusal with the reason otherwise. */
export function decideRequest(policy: CertificatePolicy, request: CertificateRequestInfo, agent: RequestingAgent): CertificateGrant {
  if (request.keyType === null || !policy.keyTypes.includes(request.keyType)) {
    throw new CertificateRefusal('key_type', `the key (${request.keyDescribed}) is not one of the accepted types: ${policy.keyTypes.join(', ')}`);
  }
  // After a reassignment the certificate is for the agent's uid from now on, whichever of the two the CSR names.
  const uidHex = agent.reassignedUidHex || agent.uidHex;
  if (request.embeddedUidHex !== null && request.embeddedUidHex !== agent.uidHex && request.embeddedUidHex !== agent.reassignedUidHex) {
    throw new CertificateRefusal('uid_mismatch', "the CSR names another agent's instance_uid");
  }
  if (request.embeddedTenantId !== null && request.embeddedTenantId !== agent.tenantId) {
    throw new CertificateRefusal('tenant_mismatch', 'the CSR names another tenant');
  }
  if (request.otherSans.length > 0) {
    throw new CertificateRefusal('san_not_allowed', `the CSR asks for subject alternative names of a kind not issued (${[...new Set(request.otherSans)].join(', ')})`);
  }
  const foreignUri = request.uris.find((u) => parseAgentUri(u) === null);
  if (foreignUri !== undefined) throw new CertificateRefusal('san_not_allowed', 'the CSR asks for a URI other than its agent URI');
  const refused = request.dnsNames.find((d) => !dnsNameAllowed(policy.allowedDnsNames, d));
  if (refused !== undefined) throw new CertificateRefusal('san_not_allowed', "the CSR asks for a DNS name the tenant's policy does not allow");
  return { tenantId: agent.tenantId, uidHex, dnsNames: [...new Set(request.dnsNames.map((d) => d.toLowerCase()))] };
}
