/**
 * ServerToAgent items waiting for plain-HTTP agents, in process: the embedded
 * twin of the Redis PendingPushStore (latest item of each kind, expiry, take
 * hands everything out once).
 */
import type { PendingItem } from '@opamp/bus-redis';
import { PENDING_PUSH_TTL_MS } from '@opamp/contracts';

interface Slot {
  items: Map<string, Buffer>;
  expiresAt: number;
}

export class MemoryPendingStore {
  private readonly slots = new Map<string, Slot>();

  constructor(
    private readonly ttlMs: number = PENDING_PUSH_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private slot(key: string, create: true): Slot;
  private slot(key: string, create: false): Slot | null;
  private slot(key: string, create: boolean): Slot | null {
    let slot = this.slots.get(key) ?? null;
    if (slot && slot.expiresAt <= this.now()) {
      this.slots.delete(key);
      slot = null;
    }
    if (!slot && create) {
      slot = { items: new Map(), expiresAt: 0 };
      this.slots.set(key, slot);
    }
    if (slot && create) slot.expiresAt = this.now() + this.ttlMs;
    return slot;
  }

  async put(tenantId: string, instanceUidHex: string, kind: string, serverToAgent: Buffer): Promise<void> {
    this.slot(`${tenantId}/${instanceUidHex}`, true).items.set(kind, serverToAgent);
  }

  async putBack(tenantId: string, instanceUidHex: string, item: PendingItem): Promise<void> {
    const slot = this.slot(`${tenantId}/${instanceUidHex}`, true);
    if (!slot.items.has(item.kind)) slot.items.set(item.kind, item.serverToAgent);
  }

  async take(tenantId: string, instanceUidHex: string): Promise<PendingItem[]> {
    const key = `${tenantId}/${instanceUidHex}`;
    const slot = this.slot(key, false);
    if (!slot) return [];
    this.slots.delete(key);
    return [...slot.items].map(([kind, serverToAgent]) => ({ kind, serverToAgent }));
  }
}
