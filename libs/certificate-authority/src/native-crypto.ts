/**
 * The WebCrypto calls the X.509 library makes on the signing path (import a
 * public key, verify, sign, digest), answered by Node's synchronous crypto:
 * the same algorithms and the same bytes, without WebCrypto's per-call job
 * on the thread pool, which costs more than a P-256 signature itself (the
 * certificate-issuance benchmark: about twice the certificates per second).
 * Everything else goes to Node's WebCrypto.
 */
import { createHash, createPublicKey, KeyObject, sign, verify, webcrypto, type KeyObject as NodeKeyObject } from 'node:crypto';

type AlgorithmLike = string | { name?: string; hash?: string | { name?: string } };

const wc = webcrypto.subtle;
const privateKeys = new WeakMap<object, NodeKeyObject>();

function bytes(data: ArrayBuffer | ArrayBufferView): Buffer {
  return ArrayBuffer.isView(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : Buffer.from(data);
}

function arrayBuffer(b: Buffer): ArrayBuffer {
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

/** "SHA-256" (or { name }) as Node's digest name. */
function hashName(a: AlgorithmLike | undefined): string {
  const h = typeof a === 'string' ? a : typeof a?.hash === 'string' ? a.hash : (a?.hash?.name ?? 'SHA-256');
  return h.replace('-', '').toLowerCase();
}

/** A public key imported here: what verify needs, shaped like a CryptoKey for the library. */
interface ImportedPublicKey {
  readonly type: 'public';
  readonly algorithm: unknown;
  readonly extractable: boolean;
  readonly usages: readonly string[];
  readonly node: NodeKeyObject;
}

function nodeKey(key: unknown, kind: 'public' | 'private'): NodeKeyObject {
  if (key && typeof key === 'object' && 'node' in key) return (key as ImportedPublicKey).node;
  let k = privateKeys.get(key as object);
  if (!k) {
    k = KeyObject.from(key as webcrypto.CryptoKey);
    if (kind === 'private') privateKeys.set(key as object, k);
  }
  return k;
}

function options(k: NodeKeyObject) {
  // WebCrypto's ECDSA signatures are r || s (IEEE P1363); the library converts them to and from DER.
  return k.asymmetricKeyType === 'ec' ? { key: k, dsaEncoding: 'ieee-p1363' as const } : k;
}

const subtle = {
  async importKey(format: string, data: ArrayBuffer | ArrayBufferView, algorithm: unknown, extractable: boolean, usages: string[]) {
    const name = (algorithm as { name?: string })?.name;
    if (format === 'spki' && (name === 'ECDSA' || name === 'RSASSA-PKCS1-v1_5') && usages.every((u) => u === 'verify')) {
      return { type: 'public', algorithm, extractable, usages, node: createPublicKey({ key: bytes(data), format: 'der', type: 'spki' }) } satisfies ImportedPublicKey;
    }
    return wc.importKey(format as 'spki', bytes(data), algorithm as webcrypto.AlgorithmIdentifier, extractable, usages as webcrypto.KeyUsage[]);
  },
  async verify(algorithm: AlgorithmLike, key: unknown, signature: ArrayBuffer | ArrayBufferView, data: ArrayBuffer | ArrayBufferView): Promise<boolean> {
    return verify(hashName(algorithm), bytes(data), options(nodeKey(key, 'public')), bytes(signature));
  },
  async sign(algorithm: AlgorithmLike, key: unknown, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
    return arrayBuffer(sign(hashName(algorithm), bytes(data), options(nodeKey(key, 'private'))));
  },
  async digest(algorithm: AlgorithmLike, data: ArrayBuffer | ArrayBufferView): Promise<ArrayBuffer> {
    return arrayBuffer(createHash(hashName({ hash: algorithm as string })).update(bytes(data)).digest());
  },
  exportKey: wc.exportKey.bind(wc),
  generateKey: wc.generateKey.bind(wc),
};

export const nativeCrypto = { subtle, getRandomValues: webcrypto.getRandomValues.bind(webcrypto) } as unknown as typeof webcrypto;
