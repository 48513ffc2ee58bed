import { packageDownloadUrl, PACKAGE_FILES_PATH, verifyPackageDownload } from './package-download-url';

const KEY = Buffer.alloc(32, 1);
const SHA = 'ab'.repeat(32);
const NOW = 1_800_000_000_000;

function queryOf(url: string): string {
  return url.slice(url.indexOf('?') + 1);
}

describe('package download URL', () => {
  const url = packageDownloadUrl('https://gw.example.com/', KEY, { tenantId: 't1', sha256Hex: SHA, expiresAtS: NOW / 1000 + 60 });

  it('names the file under the documented path and grants it to its tenant until it expires', () => {
    expect(url.startsWith(`https://gw.example.com${PACKAGE_FILES_PATH}${SHA}?`)).toBe(true);
    expect(verifyPackageDownload(KEY, SHA, queryOf(url), NOW)).toEqual({ tenantId: 't1' });
    expect(verifyPackageDownload(KEY, SHA, queryOf(url), NOW + 60_000)).toEqual({ refused: 'expired' });
  });

  it('refuses another file, another tenant, a later expiry, another key and no signature', () => {
    expect(verifyPackageDownload(KEY, 'cd'.repeat(32), queryOf(url), NOW)).toEqual({ refused: 'bad signature' });
    expect(verifyPackageDownload(KEY, SHA, queryOf(url).replace('tenant=t1', 'tenant=t2'), NOW)).toEqual({ refused: 'bad signature' });
    expect(verifyPackageDownload(KEY, SHA, queryOf(url).replace(/expires=\d+/, `expires=${NOW / 1000 + 3600}`), NOW)).toEqual({ refused: 'bad signature' });
    expect(verifyPackageDownload(Buffer.alloc(32, 2), SHA, queryOf(url), NOW)).toEqual({ refused: 'bad signature' });
    expect(verifyPackageDownload(KEY, SHA, 'tenant=t1', NOW)).toEqual({ refused: 'missing signature' });
  });
});
