/**
 * Agents' certificate signing requests for tests (issue 18): a key of a given
 * type and a PKCS#10 CSR naming what the test wants (a uid as CN or agent URI,
 * DNS names), or one whose signature does not match its key. Made with the
 * same X.509 library the server uses, never by hand.
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export type TestKeyType = 'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'rsa-1024' | 'rsa-2048';

function algorithmOf(type: TestKeyType): webcrypto.RsaHashedKeyGenParams | (webcrypto.EcKeyGenParams & webcrypto.EcdsaParams) {
  if (type.startsWith('ecdsa-')) return { name: 'ECDSA', namedCurve: `P-${type.slice(7)}`, hash: type === 'ecdsa-p256' ? 'SHA-256' : 'SHA-384' };
  return { name: 'RSASSA-PKCS1-v1_5', modulusLength: Number(type.slice(4)), publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
}

export interface TestCsrOptions {
  keyType?: TestKeyType;
  /** The subject's CN (e.g. a uid in hex or UUID form, or any text); none when absent. */
  commonName?: string;
  uris?: string[];
  dnsNames?: string[];
  emails?: string[];
  /** Signed with another key than the one it carries: a bad signature. */
  badSignature?: boolean;
}

export interface TestCsr {
  pem: string;
  keys: webcrypto.CryptoKeyPair;
  /** The public key's SubjectPublicKeyInfo (DER), to compare with an issued certificate's. */
  spki: Buffer;
}

export async function testCsr(o: TestCsrOptions = {}): Promise<TestCsr> {
  const alg = algorithmOf(o.keyType ?? 'ecdsa-p256');
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  const signer = o.badSignature ? ((await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair) : keys;
  const sans: x509.JsonGeneralNames = [
    ...(o.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ...(o.dnsNames ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(o.emails ?? []).map((value) => ({ type: 'email' as const, value })),
  ];
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: o.commonName !== undefined ? [{ CN: [o.commonName] }] : [],
    keys: { publicKey: keys.publicKey, privateKey: signer.privateKey } as never,
    signingAlgorithm: alg,
    extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
  });
  return { pem: csr.toString('pem'), keys, spki: Buffer.from(await webcrypto.subtle.exportKey('spki', keys.publicKey)) };
}

/** A certificate's fields a test checks, parsed by the same library. */
export function parseTestCertificate(pem: string): x509.X509Certificate {
  return new x509.X509Certificate(pem);
}
