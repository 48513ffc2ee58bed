import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCredentialKey, parseCredentialKey } from './credential-key';

const names = { value: 'KEY', file: 'KEY_FILE' };

describe('credential key', () => {
  const key = Buffer.alloc(32, 7);

  it('reads 32 bytes of base64 from the environment or a file (base64 or raw)', () => {
    expect(loadCredentialKey(key.toString('base64'), '', names)).toEqual(key);
    const dir = mkdtempSync(join(tmpdir(), 'credkey-'));
    writeFileSync(join(dir, 'b64'), `${key.toString('base64')}\n`);
    writeFileSync(join(dir, 'raw'), key);
    expect(loadCredentialKey('', join(dir, 'b64'), names)).toEqual(key);
    expect(loadCredentialKey('', join(dir, 'raw'), names)).toEqual(key);
    expect(loadCredentialKey('', '', names)).toBeNull();
  });

  it('refuses a key of the wrong size, text that is not base64, and both sources at once', () => {
    expect(() => parseCredentialKey(Buffer.alloc(16).toString('base64'), 'KEY')).toThrow(/KEY must hold a 32-byte key/);
    expect(() => parseCredentialKey('not base64 at all!', 'KEY')).toThrow(/32-byte/);
    expect(() => loadCredentialKey('x', 'y', names)).toThrow(/not both/);
  });
});
