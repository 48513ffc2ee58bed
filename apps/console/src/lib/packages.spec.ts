import {
  agentPackagesView,
  compareVersions,
  downloadProgressText,
  downloadSummary,
  downloadSummaryText,
  fileSourceText,
  formatBytes,
  formatDesiredPackages,
  isSha256,
  latestVersion,
  packageKindName,
  packageStatusView,
  parseDesiredPackages,
  shortHash,
  sortVersionsNewestFirst,
  uploadProgress,
} from './packages';

describe('package view logic', () => {
  it('names kinds and reported statuses', () => {
    expect(packageKindName('PACKAGE_KIND_AGENT')).toBe('agent');
    expect(packageKindName('PACKAGE_KIND_ADDON')).toBe('addon');
    expect(packageKindName('PACKAGE_KIND_UNSPECIFIED')).toBe('unspecified');
    expect(packageStatusView('PACKAGE_STATE_INSTALL_FAILED')).toEqual({ label: 'install failed', tone: 'bad' });
    expect(packageStatusView('PACKAGE_STATE_DOWNLOADING')).toEqual({ label: 'downloading', tone: 'info' });
    expect(packageStatusView('PACKAGE_STATE_NEW_ONE')).toEqual({ label: 'new one', tone: 'muted' });
  });

  it("says the reconciler's decision in words", () => {
    expect(agentPackagesView('in_sync')).toMatchObject({ label: 'in sync', tone: 'ok' });
    expect(agentPackagesView('install_retry_pending')).toMatchObject({ label: 'retry pending', tone: 'warn' });
    expect(agentPackagesView('no_file_for_platform').text).toContain('os.type/host.arch');
    expect(agentPackagesView('something_new')).toEqual({ label: 'something new', tone: 'muted', text: '' });
  });

  it('formats sizes, hashes and progress', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes('1536')).toBe('1.5 KiB');
    expect(formatBytes(20 * 1024 * 1024)).toBe('20 MiB');
    expect(formatBytes(-1)).toBe('—');
    expect(shortHash('a'.repeat(64))).toBe(`${'a'.repeat(12)}…`);
    expect(shortHash('')).toBe('—');
    expect(uploadProgress(0, 0)).toEqual({ percent: 0, text: '0 % · 0 B of 0 B' });
    expect(uploadProgress(1536, 3072)).toEqual({ percent: 50, text: '50 % · 1.5 KiB of 3.0 KiB' });
    expect(uploadProgress(3072, 3072).percent).toBe(100);
    expect(downloadProgressText({ downloadPercent: 37.4, downloadBytesPerSecond: 2 * 1024 * 1024 })).toBe('37 % at 2.0 MiB/s');
    expect(downloadProgressText(undefined)).toBe('');
  });

  it('orders versions numerically, pre-releases before their release', () => {
    expect(compareVersions('1.10.0', '1.9.2')).toBeGreaterThan(0);
    expect(compareVersions('1.0.0-rc1', '1.0.0')).toBeLessThan(0);
    expect(compareVersions('2.0', '2.0.0')).toBeLessThan(0);
    expect(compareVersions('1.2.3', '1.2.3')).toBe(0);
    expect(sortVersionsNewestFirst([{ version: '1.9.2' }, { version: '1.10.0' }, { version: '1.0.0-rc1' }, { version: '1.0.0' }]).map((v) => v.version)).toEqual([
      '1.10.0',
      '1.9.2',
      '1.0.0',
      '1.0.0-rc1',
    ]);
    expect(latestVersion([{ version: '1.1.0', withdrawn: true }, { version: '1.0.0', withdrawn: false }])).toBe('1.0.0');
    expect(latestVersion([{ version: '1.1.0', withdrawn: true }])).toBe('');
  });

  it('reads and writes desired packages, refusing bad input with a message', () => {
    expect(parseDesiredPackages('otelcol@1.1.0, addon@2\nx.y@3+b1')).toEqual([
      { packageName: 'otelcol', version: '1.1.0' },
      { packageName: 'addon', version: '2' },
      { packageName: 'x.y', version: '3+b1' },
    ]);
    expect(() => parseDesiredPackages('')).toThrow('at least one');
    expect(() => parseDesiredPackages('otelcol')).toThrow('name@version');
    expect(() => parseDesiredPackages('otelcol@')).toThrow('name@version');
    expect(() => parseDesiredPackages('otelcol@1, otelcol@2')).toThrow('one version per package');
    expect(formatDesiredPackages([{ packageName: 'otelcol', version: '1.1.0' }])).toBe('otelcol@1.1.0');
  });

  it('tells file sources and checks hashes', () => {
    expect(fileSourceText({ source: 'upload', url: '' })).toBe('uploaded to this server');
    expect(fileSourceText({ source: 'url', url: 'https://a/b' })).toBe('https://a/b');
    expect(isSha256('A'.repeat(64))).toBe(true);
    expect(isSha256('a'.repeat(63))).toBe(false);
  });

  it("sums a batch's downloads and installs of the new versions", () => {
    const st = (status: string, agentHasVersion = '', extra = {}) => ({ name: 'otelcol', agentHasVersion, agentHasHash: '', serverOfferedVersion: '', serverOfferedHash: '', status, errorMessage: '', ...extra }) as never;
    const to = [{ packageName: 'otelcol', version: '1.1.0' }];
    const s = downloadSummary(
      [
        [st('PACKAGE_STATE_DOWNLOADING', '1.0.0', { downloadDetails: { downloadPercent: 20, downloadBytesPerSecond: 1024 } })],
        [st('PACKAGE_STATE_DOWNLOADING', '1.0.0', { downloadDetails: { downloadPercent: 60, downloadBytesPerSecond: 1024 } })],
        [st('PACKAGE_STATE_INSTALLING')],
        [st('PACKAGE_STATE_INSTALLED', '1.1.0')],
        [st('PACKAGE_STATE_INSTALLED', '1.0.0')],
        [st('PACKAGE_STATE_INSTALL_FAILED')],
        [],
      ],
      to,
    );
    expect(s).toEqual({ agents: 7, downloading: 2, installing: 1, installed: 1, failed: 1, meanPercent: 40, bytesPerSecond: 2048 });
    expect(downloadSummaryText(s)).toBe('2 downloading (40 % at 2.0 KiB/s) · 1 installing · 1 installed · 1 failed, of 7');
    expect(downloadSummaryText(downloadSummary([[st('PACKAGE_STATE_DOWNLOADING')]], to))).toBe('1 downloading · 0 installing · 0 installed · 0 failed, of 1');
  });
});
