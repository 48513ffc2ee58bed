/**
 * Key types the authority knows: how to generate one (WebCrypto parameters),
 * how to sign with it, and which type a public key from a request is (read
 * by Node's key parser from its SubjectPublicKeyInfo, not by hand).
 */
import { createPrivateKey, createPublicKey, type KeyObject, type webcrypto } from 'node:crypto';
import { subtle, type CryptoKey, type CryptoKeyPair } from './x509-runtime';

export const KEY_TYPES = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072', 'rsa-4096'] as const;
export type KeyType = (typeof KEY_TYPES)[number];

/** What a certificate authority's own key may be (the issue: P-256 by default, RSA 2048/3072 allowed). */
export const CA_KEY_TYPES: readonly KeyType[] = ['ecdsa-p256', 'ecdsa-p384', 'rsa-2048', 'rsa-3072'];
export const DEFAULT_CA_KEY_TYPE: KeyType = 'ecdsa-p256';

export function isKeyType(value: string): value is KeyType {
  return (KEY_TYPES as readonly string[]).includes(value);
}

/** WebCrypto algorithm for generating, importing and signing with a key of this type (SHA-256 or SHA-384 signatures). */
export function signingAlgorithmOf(type: KeyType): webcrypto.RsaHashedKeyGenParams | (webcrypto.EcKeyGenParams & webcrypto.EcdsaParams) {
  switch (type) {
    case 'ecdsa-p256':
      return { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    case 'ecdsa-p384':
      return { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' };
    default:
      return { name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(type.slice(4)), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
  }
}

export async function generateKeyPair(type: KeyType): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(signingAlgorithmOf(type), true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** A private key from PKCS#8 DER, for signing. */
export async function importSigningKey(type: KeyType, pkcs8: Uint8Array): Promise<CryptoKey> {
  return subtle.importKey('pkcs8', pkcs8, signingAlgorithmOf(type), false, ['sign']);
}

export async function exportPkcs8(key: CryptoKey): Promise<Buffer> {
  return Buffer.from(await subtle.exportKey('pkcs8', key));
}

/**
 * The type of a public key from its SubjectPublicKeyInfo (DER): a KeyType, or
 * a description of what it is for a refusal ("ed25519", "ec secp256k1", "rsa 1024").
 */
export function keyTypeOfSpki(spki: Uint8Array): { type: KeyType | null; described: string } {
  return keyTypeOf(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
}

/** The type of a parsed public key (see keyTypeOfSpki). */
export function keyTypeOf(key: KeyObject): { type: KeyType | null; described: string } {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    const curve = String(details.namedCurve ?? 'unknown');
    const type = curve === 'prime256v1' ? 'ecdsa-p256' : curve === 'secp384r1' ? 'ecdsa-p384' : null;
    return { type, described: type ?? `ec ${curve}` };
  }
  if (key.asymmetricKeyType === 'rsa') {
    const bits = Number(details.modulusLength ?? 0);
    const type = `rsa-${bits}`;
    return isKeyType(type) ? { type, described: type } : { type: null, described: `rsa ${bits}` };
  }
  return { type: null, described: String(key.asymmetricKeyType ?? 'unknown') };
}

/** The type of a private key from PKCS#8 DER (an operator's CA key file). */
export function keyTypeOfPrivateKey(pkcs8: Uint8Array): KeyType | null {
  const spki = createPublicKey(createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })).export({ format: 'der', type: 'spki' });
  return keyTypeOfSpki(spki).type;
}
