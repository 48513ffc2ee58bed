/**
 * ServerToAgent items waiting for a plain-HTTP agent's next request. Only the
 * latest item of each kind is kept (OpAMP needs no more), so a config changed
 * twice between polls is delivered once, as its latest version.
 *
 * `take` reads and clears atomically: an item is handed to exactly one request.
 */
import type Redis from 'ioredis';
import { PENDING_PUSH_TTL_MS, RedisKeys } from '@opamp/contracts';

// KEYS[1] pending hash. Returns [kind, bytes, kind, bytes, ...] and deletes it.
const TAKE = `
local items = redis.call('HGETALL', KEYS[1])
if #items > 0 then redis.call('DEL', KEYS[1]) end
return items
`;

type PendingCommands = Redis & { pendingTakeBuffer(key: string): Promise<Buffer[]> };

export interface PendingItem {
  kind: string;
  serverToAgent: Buffer;
}

export class PendingPushStore {
  private readonly redis: PendingCommands;

  constructor(
    redis: Redis,
    private readonly ttlMs: number = PENDING_PUSH_TTL_MS,
  ) {
    if (typeof (redis as PendingCommands).pendingTakeBuffer !== 'function') {
      redis.defineCommand('pendingTake', { numberOfKeys: 1, lua: TAKE });
    }
    this.redis = redis as PendingCommands;
  }

  /** Replaces the waiting item of this kind. */
  async put(tenantId: string, instanceUidHex: string, kind: string, serverToAgent: Buffer): Promise<void> {
    const key = RedisKeys.pendingPush(tenantId, instanceUidHex);
    await this.redis.multi().hset(key, kind, serverToAgent).pexpire(key, this.ttlMs).exec();
  }

  /** Puts an item back after a reply could not carry it, unless a newer one of its kind arrived meanwhile. */
  async putBack(tenantId: string, instanceUidHex: string, item: PendingItem): Promise<void> {
    const key = RedisKeys.pendingPush(tenantId, instanceUidHex);
    await this.redis.multi().hsetnx(key, item.kind, item.serverToAgent).pexpire(key, this.ttlMs).exec();
  }

  /** Removes and returns everything waiting for this agent. */
  async take(tenantId: string, instanceUidHex: string): Promise<PendingItem[]> {
    const flat = await this.redis.pendingTakeBuffer(RedisKeys.pendingPush(tenantId, instanceUidHex));
    const items: PendingItem[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) items.push({ kind: flat[i].toString(), serverToAgent: flat[i + 1] });
    return items;
  }
}
