/**
 * How an agent's identity is written into its client certificate (the form
 * the mutual-TLS terminator and gateway read, documented in the lib's README):
 *
 *   subject  CN=<instance_uid, 32 lowercase hex>, O=<tenant id>
 *   SAN URI  urn:opamp:tenant:<tenant id, percent-encoded>:agent:<instance_uid hex>
 *
 * The URI is the authoritative form (SANs are what TLS stacks match on); the
 * subject repeats it for logs and terminators that only pass the subject.
 * A CSR may carry a uid the same ways (or as a UUID-form CN, as clients that
 * print the uid as a UUID do): that is the "embedded uid" checked against the
 * sender (C67).
 */

const URN = /^urn:opamp:tenant:([^:]+):agent:([0-9a-fA-F-]+)$/;
const HEX_UID = /^[0-9a-f]{32}$/;
const UUID_UID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function agentUri(tenantId: string, uidHex: string): string {
  return `urn:opamp:tenant:${encodeURIComponent(tenantId)}:agent:${uidHex}`;
}

/** The tenant and uid of an agent URI; null when the URI is not one (or its uid is no uid). */
export function parseAgentUri(uri: string): { tenantId: string; uidHex: string } | null {
  const m = URN.exec(uri);
  if (!m) return null;
  const uidHex = uidHexOf(m[2]);
  if (!uidHex) return null;
  try {
    return { tenantId: decodeURIComponent(m[1]), uidHex };
  } catch {
    return null;
  }
}

/** A uid written as 32 hex digits or as a UUID, as lowercase hex; null when the text is neither. */
export function uidHexOf(text: string): string | null {
  const t = text.trim().toLowerCase();
  if (HEX_UID.test(t)) return t;
  if (UUID_UID.test(t)) return t.replace(/-/g, '');
  return null;
}

/** The subject of an agent's certificate as name attributes (never a DN string built from values). */
export function agentSubject(tenantId: string, uidHex: string): Array<Record<string, string[]>> {
  return [{ CN: [uidHex] }, { O: [tenantId] }];
}
