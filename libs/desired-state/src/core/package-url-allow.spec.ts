import { PackageUrlAllowList } from './package-url-allow';

describe('PackageUrlAllowList', () => {
  const list = new PackageUrlAllowList(['https://artifacts.example.com/otelcol/', 'http://127.0.0.1:8080/files']);

  it('allows URLs under a prefix at a path segment boundary', () => {
    expect(list.allows(new URL('https://artifacts.example.com/otelcol/0.110.0/otelcol.tar.gz'))).toBe(true);
    expect(list.allows(new URL('http://127.0.0.1:8080/files/a.bin'))).toBe(true);
    expect(list.allows(new URL('http://127.0.0.1:8080/files'))).toBe(true);
  });

  it('refuses other hosts, ports, schemes, sibling paths, dot segments out of the prefix and user info', () => {
    expect(list.allows(new URL('https://artifacts.example.com.evil.test/otelcol/x'))).toBe(false);
    expect(list.allows(new URL('http://artifacts.example.com/otelcol/x'))).toBe(false);
    expect(list.allows(new URL('http://127.0.0.1:8081/files/a.bin'))).toBe(false);
    expect(list.allows(new URL('http://127.0.0.1:8080/files-secret/a.bin'))).toBe(false);
    expect(list.allows(new URL('https://artifacts.example.com/otelcol/../admin/x'))).toBe(false);
    expect(list.allows(new URL('https://user:pw@artifacts.example.com/otelcol/x'))).toBe(false);
  });

  it('is empty by default and refuses entries that are not plain http(s) prefixes', () => {
    expect(new PackageUrlAllowList([]).empty).toBe(true);
    expect(new PackageUrlAllowList([]).allows(new URL('https://artifacts.example.com/otelcol/x'))).toBe(false);
    expect(() => new PackageUrlAllowList(['artifacts.example.com'])).toThrow(/not a URL/);
    expect(() => new PackageUrlAllowList(['file:///etc/'])).toThrow(/must be http\(s\)/);
    expect(() => new PackageUrlAllowList(['https://a.example.com/?token=1'])).toThrow(/only scheme, host, port and path/);
  });
});
