import { TrustedProxies } from './trusted-proxies';

describe('TrustedProxies', () => {
  it('matches single addresses and CIDR ranges, IPv4 and IPv6, and an IPv4 peer in its mapped IPv6 form', () => {
    const t = new TrustedProxies(['127.0.0.1', '10.42.0.0/16', 'fd00:1::/32']);
    expect(t.has('127.0.0.1')).toBe(true);
    expect(t.has('127.0.0.2')).toBe(false);
    expect(t.has('10.42.7.9')).toBe(true);
    expect(t.has('10.43.0.1')).toBe(false);
    expect(t.has('fd00:1:2::3')).toBe(true);
    expect(t.has('fd00:2::1')).toBe(false);
    expect(t.has('::ffff:10.42.0.1')).toBe(true);
    expect(t.has('0000:0000:0000:0000:0000:ffff:7f00:0001')).toBe(true);
  });

  it('trusts nobody for what is not an address', () => {
    const t = new TrustedProxies(['0.0.0.0/0']);
    expect(t.has('')).toBe(false);
    expect(t.has('not-an-ip')).toBe(false);
    expect(t.has('192.0.2.1')).toBe(true);
  });

  it('refuses an entry that is neither an address nor a range', () => {
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow(/neither an IP address nor a CIDR range/);
    expect(() => new TrustedProxies(['proxy.internal'])).toThrow(/proxy.internal/);
    expect(() => new TrustedProxies(['10.0.0.0/8/1'])).toThrow(/CIDR/);
    expect(() => new TrustedProxies(['10.0.0.0/x'])).toThrow(/CIDR/);
  });
});
