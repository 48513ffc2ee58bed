/**
 * A PKCS#10 certificate signing request as an agent sends it (PEM, C65):
 * parsed by the X.509 library, its signature verified with the key it
 * carries, and what matters to the policy read out (key type, SANs, the uid
 * it may embed). Anything else is refused with a CertificateRefusal (C66).
 */
import { parseAgentUri, uidHexOf } from './agent-certificate-names';
import { CertificateRefusal } from './certificate-refusal';
import { MAX_CSR_BYTES, MAX_CSR_SAN_ENTRIES } from './certificate-limits';
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { keyTypeOf, type KeyType } from './key-algorithm';
import { x509 } from './x509-runtime';

const PEM_CSR = /^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n[A-Za-z0-9+/=\r\n]+-----END (NEW )?CERTIFICATE REQUEST-----\s*$/;
const SAN_OID = '2.5.29.17';

export interface CertificateRequestInfo {
  readonly publicKey: x509.PublicKey;
  readonly keyType: KeyType | null;
  /** What the key is, for a refusal that names it ("rsa 1024", "ed25519"). */
  readonly keyDescribed: string;
  readonly commonName: string | null;
  readonly dnsNames: readonly string[];
  readonly uris: readonly string[];
  /** SAN entries of other kinds (email, IP, ...), by kind. */
  readonly otherSans: readonly string[];
  /** The instance_uid the request names (CN as a uid, or an agent URI), hex; null when it names none. */
  readonly embeddedUidHex: string | null;
  /** The tenant an agent URI in the request names; null when none does. */
  readonly embeddedTenantId: string | null;
}

function describeSpki(spki: Uint8Array): { type: KeyType | null; described: string; node: KeyObject } {
  // Parsed once (OpenSSL's key decoding is the dearest step of a CSR): typed here, verified with below.
  const node = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return { ...keyTypeOf(node), node };
}

/**
 * The CSR's signature over its CertificationRequestInfo as received, with its
 * own key, by Node's crypto (ECDSA signatures are DER there as in the CSR).
 * Only the algorithms of the key types signed for: ECDSA and RSASSA-PKCS1-v1_5.
 */
function verifySignature(request: x509.Pkcs10CertificateRequest, key: KeyObject): boolean {
  const alg = request.signatureAlgorithm as { name?: string; hash?: { name?: string } | string };
  const hash = (typeof alg.hash === 'string' ? alg.hash : (alg.hash?.name ?? '')).replace('-', '').toLowerCase();
  if (!/^sha(256|384|512)$/.test(hash)) return false;
  const ec = key.asymmetricKeyType === 'ec';
  if (ec ? alg.name !== 'ECDSA' : alg.name !== 'RSASSA-PKCS1-v1_5') return false;
  // The library keeps the request info's bytes as received (its `tbs`, private in its types only).
  const tbs = (request as unknown as { tbs: ArrayBuffer }).tbs;
  return verify(hash, Buffer.from(tbs), key, Buffer.from(request.signature));
}

export async function parseCertificateRequest(csr: string | Uint8Array): Promise<CertificateRequestInfo> {
  const size = typeof csr === 'string' ? Buffer.byteLength(csr, 'utf8') : csr.length;
  if (size > MAX_CSR_BYTES) throw new CertificateRefusal('too_large', `the CSR is larger than ${MAX_CSR_BYTES} bytes`);
  const text = typeof csr === 'string' ? csr : Buffer.from(csr).toString('latin1');
  if (!PEM_CSR.test(text)) throw new CertificateRefusal('malformed', 'the CSR is not one PEM "CERTIFICATE REQUEST" block');
  let request: x509.Pkcs10CertificateRequest;
  try {
    request = new x509.Pkcs10CertificateRequest(text);
  } catch {
    throw new CertificateRefusal('malformed', 'the CSR is not a PKCS#10 certification request');
  }
  let key: { type: KeyType | null; described: string; node: KeyObject };
  try {
    key = describeSpki(new Uint8Array(request.publicKey.rawData));
  } catch {
    throw new CertificateRefusal('malformed', "the CSR's public key cannot be read");
  }
  let valid = false;
  try {
    valid = key.type !== null && verifySignature(request, key.node);
  } catch {
    valid = false;
  }
  // A key of an unknown type cannot be verified here; the policy names it (key_type) rather than calling the signature bad.
  if (key.type !== null && !valid) throw new CertificateRefusal('bad_signature', "the CSR's signature does not verify with its public key");

  const dnsNames: string[] = [];
  const uris: string[] = [];
  const otherSans: string[] = [];
  for (const ext of request.extensions) {
    if (ext.type !== SAN_OID) continue;
    let names: readonly { type: string; value: string }[];
    try {
      names = (ext instanceof x509.SubjectAlternativeNameExtension ? ext : new x509.SubjectAlternativeNameExtension(ext.rawData)).names.items;
    } catch {
      throw new CertificateRefusal('malformed', "the CSR's subject alternative names cannot be read");
    }
    for (const n of names) {
      if (n.type === 'dns') dnsNames.push(n.value);
      else if (n.type === 'url') uris.push(n.value);
      else otherSans.push(n.type);
    }
  }
  if (dnsNames.length + uris.length + otherSans.length > MAX_CSR_SAN_ENTRIES) {
    throw new CertificateRefusal('san_not_allowed', `the CSR asks for more than ${MAX_CSR_SAN_ENTRIES} subject alternative names`);
  }

  const commonName = request.subjectName.getField('CN')[0] ?? null;
  const fromUris = uris.map(parseAgentUri).filter((u) => u !== null);
  const uidCandidates = new Set<string>([...fromUris.map((u) => u.uidHex), ...(commonName && uidHexOf(commonName) ? [uidHexOf(commonName) as string] : [])]);
  if (uidCandidates.size > 1) throw new CertificateRefusal('uid_mismatch', 'the CSR names more than one instance_uid');
  const tenants = new Set(fromUris.map((u) => u.tenantId));
  if (tenants.size > 1) throw new CertificateRefusal('tenant_mismatch', 'the CSR names more than one tenant');
  return {
    publicKey: request.publicKey,
    keyType: key.type,
    keyDescribed: key.described,
    commonName,
    dnsNames,
    uris,
    otherSans,
    embeddedUidHex: [...uidCandidates][0] ?? null,
    embeddedTenantId: [...tenants][0] ?? null,
  };
}
