/**
 * A certificate authority's private key at rest: sealed with AES-256-GCM
 * under a key that never enters the database.
 *
 * The sealing key is derived with HKDF-SHA256 from the server's credential key
 * (OPAMP_CREDENTIAL_KEY / _FILE, or the embedded server's generated key file),
 * which already lives outside the database and is already given to every
 * config-service replica: no second secret to distribute, and the distinct
 * HKDF label keeps the two uses apart (a sealing key says nothing about
 * agents' credential secrets, and the reverse).
 *
 * Sealed form: version (1 byte) | IV (12) | tag (16) | ciphertext. The
 * additional data binds a sealed key to its tenant and CA id, so a row copied
 * onto another tenant's CA does not open.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALING_LABEL = 'opamp certificate-authority key sealing v1';

export class SealedKeyError extends Error {}

export function deriveSealingKey(credentialKey: Uint8Array): Buffer {
  if (credentialKey.length < 32) throw new SealedKeyError('the credential key must hold at least 32 bytes');
  return Buffer.from(hkdfSync('sha256', credentialKey, Buffer.alloc(0), SEALING_LABEL, 32));
}

function additionalData(tenantId: string, caId: string): Buffer {
  return Buffer.from(`${tenantId}\u0000${caId}`, 'utf8');
}

export function sealPrivateKey(sealingKey: Buffer, tenantId: string, caId: string, pkcs8: Uint8Array): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey, iv);
  cipher.setAAD(additionalData(tenantId, caId));
  const body = Buffer.concat([cipher.update(pkcs8), cipher.final()]);
  return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), body]);
}

/** The PKCS#8 key; throws SealedKeyError when the key, tenant or CA id is not the one it was sealed for. */
export function openPrivateKey(sealingKey: Buffer, tenantId: string, caId: string, sealed: Uint8Array): Buffer {
  const s = Buffer.from(sealed);
  if (s.length <= 1 + IV_BYTES + TAG_BYTES || s[0] !== VERSION) throw new SealedKeyError('not a sealed key of a known version');
  const decipher = createDecipheriv('aes-256-gcm', sealingKey, s.subarray(1, 1 + IV_BYTES));
  decipher.setAAD(additionalData(tenantId, caId));
  decipher.setAuthTag(s.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(s.subarray(1 + IV_BYTES + TAG_BYTES)), decipher.final()]);
  } catch {
    throw new SealedKeyError('the CA key does not open with this server key (another credential key, tenant or CA)');
  }
}
