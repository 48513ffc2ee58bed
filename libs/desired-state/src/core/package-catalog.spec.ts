import { createHash } from 'node:crypto';
import { checkPackageVersion, contentHashMismatch, fileForPlatform, parsePackageFiles, parsePackageKind, parseSha256Hex, platformOf } from './package-catalog';

const SHA = 'a'.repeat(64);
const file = (os: string, arch: string, extra: Record<string, unknown> = {}) => ({ os, arch, sha256: SHA, ...extra });

describe('package catalog (pure)', () => {
  it('takes the platform from os.type and host.arch, and only when both are reported', () => {
    expect(platformOf({ 'os.type': 'Linux', 'host.arch': 'amd64', 'service.name': 'otelcol' })).toEqual({ os: 'linux', arch: 'amd64' });
    expect(platformOf({ 'os.type': 'linux' })).toBeNull();
    expect(platformOf({})).toBeNull();
  });

  it('gives each platform its own file, the most specific first, and none when the version lacks one', () => {
    const files = parsePackageFiles([file('linux', 'amd64'), file('linux', 'any'), file('any', 'arm64'), file('windows', 'amd64')]);
    expect(fileForPlatform(files, { os: 'linux', arch: 'amd64' })).toMatchObject({ os: 'linux', arch: 'amd64' });
    expect(fileForPlatform(files, { os: 'linux', arch: 'arm64' })).toMatchObject({ os: 'linux', arch: 'any' });
    expect(fileForPlatform(files, { os: 'darwin', arch: 'arm64' })).toMatchObject({ os: 'any', arch: 'arm64' });
    expect(fileForPlatform(files, { os: 'darwin', arch: 'amd64' })).toBeNull();
    expect(fileForPlatform(files, null)).toBeNull();
    const universal = parsePackageFiles([file('any', 'any')]);
    expect(fileForPlatform(universal, null)).toMatchObject({ os: 'any', arch: 'any' });
    expect(fileForPlatform(universal, { os: 'freebsd', arch: 's390x' })).toMatchObject({ os: 'any', arch: 'any' });
  });

  it('reads a version\'s files: hashes, signatures as bytes, http(s) URLs', () => {
    const [f] = parsePackageFiles([file('Linux', 'AMD64', { sha256: SHA.toUpperCase(), signature: Buffer.from('sig').toString('base64'), url: 'https://artifacts.example.com/otelcol.tar.gz' })]);
    expect(f).toEqual({ os: 'linux', arch: 'amd64', sha256: Buffer.from(SHA, 'hex'), signature: Buffer.from('sig'), url: 'https://artifacts.example.com/otelcol.tar.gz' });
    expect(parsePackageFiles([file('linux', 'amd64')])[0]).toMatchObject({ signature: null, url: null });
  });

  it('refuses bad files with a message naming the field', () => {
    expect(() => parsePackageFiles([])).toThrow(/at least one file/);
    expect(() => parsePackageFiles([file('linux', 'amd64'), file('linux', 'amd64')])).toThrow(/one file per platform, and linux\/amd64 comes twice/);
    expect(() => parsePackageFiles([file('linux', 'amd64', { sha256: 'abc' })])).toThrow(/files\[0\]\.sha256 must be a SHA-256 as 64 hex digits/);
    expect(() => parsePackageFiles([file('li nux', 'amd64')])).toThrow(/files\[0\]\.os must be/);
    expect(() => parsePackageFiles([file('linux', '')])).toThrow(/files\[0\]\.arch must be/);
    expect(() => parsePackageFiles([file('linux', 'amd64', { url: 'ftp://x/y' })])).toThrow(/must use http or https/);
    expect(() => parsePackageFiles([file('linux', 'amd64', { url: 'https://user:pw@x/y' })])).toThrow(/must not carry credentials/);
    expect(() => parsePackageFiles([file('linux', 'amd64', { url: 'not a url' })])).toThrow(/absolute http or https URL/);
    expect(() => parsePackageFiles([file('linux', 'amd64', { signature: Buffer.alloc(16 * 1024 + 1) })])).toThrow(/signature is larger than 16384 bytes/);
    expect(() => parsePackageFiles(Array.from({ length: 33 }, (_, i) => file('linux', `a${i}`)))).toThrow(/at most 32 files/);
  });

  it('checks versions, kinds and hashes', () => {
    expect(() => checkPackageVersion('0.110.0+build.7~rc1')).not.toThrow();
    expect(() => checkPackageVersion('1.0 beta')).toThrow(/version "1.0 beta" is invalid/);
    expect(() => checkPackageVersion('x'.repeat(129))).toThrow(/is invalid/);
    expect(parsePackageKind('PACKAGE_KIND_ADDON')).toBe('addon');
    expect(() => parsePackageKind('PACKAGE_KIND_UNSPECIFIED')).toThrow(/package.kind must be one of/);
    expect(() => parseSha256Hex('z'.repeat(64), 'sha256')).toThrow(/64 hex digits/);
    const bytes = Buffer.from('the agent build');
    const good = createHash('sha256').update(bytes).digest();
    expect(contentHashMismatch(good, createHash('sha256').update(bytes).digest(), 'the file')).toBeNull();
    expect(contentHashMismatch(good, createHash('sha256').update('other').digest(), 'the file at https://x/')).toMatch(/^the file at https:\/\/x\/ has SHA-256 [0-9a-f]{64}, not the [0-9a-f]{64} the version names$/);
  });
});
