/**
 * Connection leases with fencing epochs, in process: the embedded server's
 * twin of the Redis ConnectionLeaseRepository, with the same rules (an epoch
 * that only rises, compare-and-set refresh and release, expiry).
 */
import type { ConnectionLease, LeaseAcquisition } from '@opamp/bus-redis';
import { CONNECTION_LEASE_TTL_MS } from '@opamp/contracts';

interface Entry {
  lease: ConnectionLease;
  expiresAt: number;
}

const same = (a: ConnectionLease, b: ConnectionLease) =>
  a.gatewayId === b.gatewayId && a.connectionId === b.connectionId && a.epoch === b.epoch;

export class MemoryLeaseStore {
  private readonly leases = new Map<string, Entry>();
  private readonly epochs = new Map<string, number>();

  constructor(
    private readonly ttlMs: number = CONNECTION_LEASE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private live(key: string): Entry | null {
    const entry = this.leases.get(key);
    if (!entry) return null;
    if (entry.expiresAt <= this.now()) {
      this.leases.delete(key);
      return null;
    }
    return entry;
  }

  async acquire(tenantId: string, instanceUidHex: string, gatewayId: string, connectionId: string, exclusive = false): Promise<LeaseAcquisition> {
    const key = `${tenantId}/${instanceUidHex}`;
    if (exclusive) {
      const held = this.live(key)?.lease;
      if (held && (held.gatewayId !== gatewayId || held.connectionId !== connectionId)) {
        return { lease: { gatewayId, connectionId, epoch: 0 }, previous: held, refused: true };
      }
    }
    // At least the current time in ms, so epochs keep rising across a restart of the process.
    const epoch = Math.max((this.epochs.get(key) ?? 0) + 1, this.now());
    this.epochs.set(key, epoch);
    const previous = this.live(key)?.lease ?? null;
    const lease = { gatewayId, connectionId, epoch };
    this.leases.set(key, { lease, expiresAt: this.now() + this.ttlMs });
    return { lease, previous };
  }

  async refresh(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean> {
    const entry = this.live(`${tenantId}/${instanceUidHex}`);
    if (!entry || !same(entry.lease, lease)) return false;
    entry.expiresAt = this.now() + this.ttlMs;
    return true;
  }

  async release(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean> {
    const key = `${tenantId}/${instanceUidHex}`;
    const entry = this.live(key);
    if (!entry || !same(entry.lease, lease)) return false;
    this.leases.delete(key);
    return true;
  }

  async get(tenantId: string, instanceUidHex: string): Promise<ConnectionLease | null> {
    return this.live(`${tenantId}/${instanceUidHex}`)?.lease ?? null;
  }
}
