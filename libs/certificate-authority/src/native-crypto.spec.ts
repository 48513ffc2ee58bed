import { webcrypto } from 'node:crypto';
import { nativeCrypto } from './native-crypto';

const wc = webcrypto.subtle;
const data = Buffer.from('to be signed');

describe('nativeCrypto (the signing path on Node crypto)', () => {
  it.each([
    { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' },
    { name: 'ECDSA', namedCurve: 'P-384', hash: 'SHA-384' },
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
  ])('signs and verifies as WebCrypto does: $name $namedCurve $modulusLength', async (alg) => {
    const keys = (await wc.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const spki = await wc.exportKey('spki', keys.publicKey);
    const ours = await nativeCrypto.subtle.sign(alg, keys.privateKey as never, data);
    expect(await wc.verify(alg, keys.publicKey, ours, data)).toBe(true);
    const theirs = await wc.sign(alg, keys.privateKey, data);
    const imported = await nativeCrypto.subtle.importKey('spki', spki, alg, true, ['verify']);
    expect(await nativeCrypto.subtle.verify(alg, imported, theirs, data)).toBe(true);
    expect(await nativeCrypto.subtle.verify(alg, imported, theirs, Buffer.from('something else'))).toBe(false);
  });

  it('digests as WebCrypto does', async () => {
    for (const h of ['SHA-1', 'SHA-256', 'SHA-384']) {
      expect(Buffer.from(await nativeCrypto.subtle.digest(h, data))).toEqual(Buffer.from(await wc.digest(h, data)));
    }
    expect(Buffer.from(await nativeCrypto.subtle.digest({ name: 'SHA-256' } as never, data))).toEqual(Buffer.from(await wc.digest('SHA-256', data)));
  });
});
