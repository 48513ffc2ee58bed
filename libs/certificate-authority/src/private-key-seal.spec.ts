import { deriveSealingKey, openPrivateKey, sealPrivateKey } from './private-key-seal';

describe('sealing a CA key', () => {
  const credentialKey = Buffer.alloc(32, 7);
  const sealing = deriveSealingKey(credentialKey);
  const pkcs8 = Buffer.from('a private key in PKCS#8');

  it('derives the sealing key from the credential key, the same each time and never the key itself', () => {
    expect(deriveSealingKey(Buffer.alloc(32, 7))).toEqual(sealing);
    expect(sealing.length).toBe(32);
    expect(sealing.equals(credentialKey)).toBe(false);
    expect(deriveSealingKey(Buffer.alloc(32, 8)).equals(sealing)).toBe(false);
    expect(() => deriveSealingKey(Buffer.alloc(16))).toThrow('the credential key must hold at least 32 bytes');
  });

  it('opens what it sealed, and the sealed form holds no plaintext', () => {
    const sealed = sealPrivateKey(sealing, 'acme', 'ca-1', pkcs8);
    expect(sealed.includes(pkcs8)).toBe(false);
    expect(openPrivateKey(sealing, 'acme', 'ca-1', sealed)).toEqual(pkcs8);
    expect(sealPrivateKey(sealing, 'acme', 'ca-1', pkcs8).equals(sealed)).toBe(false);
  });

  it('does not open under another server key, tenant or CA, nor when tampered with', () => {
    const sealed = sealPrivateKey(sealing, 'acme', 'ca-1', pkcs8);
    expect(() => openPrivateKey(deriveSealingKey(Buffer.alloc(32, 8)), 'acme', 'ca-1', sealed)).toThrow('the CA key does not open with this server key');
    expect(() => openPrivateKey(sealing, 'globex', 'ca-1', sealed)).toThrow('does not open');
    expect(() => openPrivateKey(sealing, 'acme', 'ca-2', sealed)).toThrow('does not open');
    const tampered = Buffer.from(sealed);
    tampered[tampered.length - 1] ^= 1;
    expect(() => openPrivateKey(sealing, 'acme', 'ca-1', tampered)).toThrow('does not open');
    expect(() => openPrivateKey(sealing, 'acme', 'ca-1', Buffer.from([9, 1, 2]))).toThrow('not a sealed key of a known version');
  });
});
