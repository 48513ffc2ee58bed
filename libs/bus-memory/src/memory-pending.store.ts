/**
 * ServerToAgent items waiting for plain-HTTP agents, in process: the embedded
 * twin of the Redis PendingPushStore (latest item of each kind, expiry, take
 * hands everything out once, and what a reply delivered while the agent
 * switches credentials is held until it polls with another).
 */
import type { PendingItem } from '@opamp/bus-redis';
import { PENDING_PUSH_TTL_MS } from '@opamp/contracts';

interface Slot {
  items: Map<string, Buffer>;
  expiresAt: number;
}

interface Held extends Slot {
  credentialId: string;
}

export class MemoryPendingStore {
  private readonly slots = new Map<string, Slot>();
  private readonly held = new Map<string, Held>();

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

  async takeFor(tenantId: string, instanceUidHex: string, credentialId: string): Promise<{ items: PendingItem[]; holding: boolean }> {
    const key = `${tenantId}/${instanceUidHex}`;
    const items = await this.take(tenantId, instanceUidHex);
    const held = this.held.get(key);
    if (!held || held.expiresAt <= this.now()) {
      this.held.delete(key);
      return { items, holding: false };
    }
    if (held.credentialId === credentialId) return { items, holding: true };
    this.held.delete(key);
    const pending = new Set(items.map((i) => i.kind));
    for (const [kind, serverToAgent] of held.items) if (!pending.has(kind)) items.push({ kind, serverToAgent });
    return { items, holding: false };
  }

  async hold(tenantId: string, instanceUidHex: string, credentialId: string, items: readonly PendingItem[]): Promise<void> {
    if (items.length === 0) return;
    const key = `${tenantId}/${instanceUidHex}`;
    let held = this.held.get(key);
    if (!held || held.credentialId !== credentialId || held.expiresAt <= this.now()) {
      held = { credentialId, items: new Map(), expiresAt: 0 };
      this.held.set(key, held);
    }
    for (const i of items) held.items.set(i.kind, i.serverToAgent);
    held.expiresAt = this.now() + this.ttlMs;
  }

  /** Drops everything of this agent, held items too (the agent was deleted). */
  async forget(tenantId: string, instanceUidHex: string): Promise<void> {
    this.slots.delete(`${tenantId}/${instanceUidHex}`);
    this.held.delete(`${tenantId}/${instanceUidHex}`);
  }

  async take(tenantId: string, instanceUidHex: string): Promise<PendingItem[]> {
    const key = `${tenantId}/${instanceUidHex}`;
    const slot = this.slot(key, false);
    if (!slot) return [];
    this.slots.delete(key);
    return [...slot.items].map(([kind, serverToAgent]) => ({ kind, serverToAgent }));
  }
}
