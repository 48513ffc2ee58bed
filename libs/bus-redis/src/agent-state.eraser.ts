/**
 * Clears what Redis holds for agents that were removed (DeleteAgent): their
 * status-ingest cursor and last-seen entry, their place in the live index,
 * and pushes waiting for their next poll. Without the cursor, an agent that
 * comes back takes ingest's full path and is created anew.
 */
import type Redis from 'ioredis';
import { RedisKeys } from '@opamp/contracts';

export class RedisAgentStateEraser {
  constructor(private readonly redis: Redis) {}

  async erase(tenantId: string, instanceUids: readonly Buffer[]): Promise<void> {
    if (instanceUids.length === 0) return;
    const hexes = instanceUids.map((u) => u.toString('hex'));
    // A pipeline, not MULTI: the keys live in different hash slots (per tenant, per agent).
    const tx = this.redis.pipeline();
    tx.hdel(RedisKeys.ingestCursor(tenantId), ...hexes);
    tx.hdel(RedisKeys.lastSeen(tenantId), ...hexes);
    tx.zrem(RedisKeys.liveAgents(tenantId), ...hexes);
    for (const hex of hexes) tx.del(RedisKeys.pendingPush(tenantId, hex), RedisKeys.pendingHeld(tenantId, hex));
    const results = (await tx.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
  }
}
