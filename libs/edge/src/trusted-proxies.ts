/**
 * The addresses whose word the edge takes for a client's identity: the
 * mutual-TLS terminators in front (OPAMP_TRUSTED_PROXIES). Single addresses
 * and CIDR ranges, IPv4 and IPv6; an IPv4 peer seen as IPv4-mapped IPv6
 * matches its IPv4 entry.
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();
  readonly entries: readonly string[];

  /** Throws on an entry that is neither an address nor a CIDR range (a typo must not trust nobody, or everybody, silently). */
  constructor(entries: readonly string[]) {
    this.entries = [...entries];
    for (const entry of entries) {
      const [address, prefix, ...rest] = entry.trim().split('/');
      const family = isIP(address);
      const bits = family === 4 ? 32 : 128;
      const length = prefix === undefined ? bits : Number(prefix);
      if (family === 0 || rest.length > 0 || !/^\d{1,3}$/.test(prefix ?? '0') || length > bits) {
        throw new Error(`trusted proxies: "${entry}" is neither an IP address nor a CIDR range (e.g. 10.0.0.0/8)`);
      }
      this.list.addSubnet(address, length, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  has(address: string): boolean {
    const family = isIP(address);
    if (family === 0) return false;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }
}
