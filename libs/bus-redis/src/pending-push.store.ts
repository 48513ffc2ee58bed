/**
 * ServerToAgent items waiting for a plain-HTTP agent's next request. Only the
 * latest item of each kind is kept (OpAMP needs no more), so a config changed
 * twice between polls is delivered once, as its latest version.
 *
 * `take` reads and clears atomically: an item is handed to exactly one request.
 *
 * A reply that makes the agent switch credentials (it carries connection
 * settings) may be dropped by the agent's old client, which stops while the
 * reply is in flight: what it and later replies on the old credential
 * delivered is held (`hold`), and `takeFor` on another credential hands it out
 * again (unless a newer item of its kind is pending).
 */
import type Redis from 'ioredis';
import { PENDING_PUSH_TTL_MS, RedisKeys } from '@opamp/contracts';

// KEYS[1] pending hash. Returns [kind, bytes, kind, bytes, ...] and deletes it.
const TAKE = `
local items = redis.call('HGETALL', KEYS[1])
if #items > 0 then redis.call('DEL', KEYS[1]) end
return items
`;

// KEYS[1] pending hash, KEYS[2] held hash; ARGV[1] the poll's credential. Returns
// [holding flag, kind, bytes, ...]: what is pending, and what was held on another credential.
const TAKE_FOR = `
local items = redis.call('HGETALL', KEYS[1])
if #items > 0 then redis.call('DEL', KEYS[1]) end
local on = redis.call('HGET', KEYS[2], '_credential')
local holding = '0'
if on == ARGV[1] then
  holding = '1'
elseif on then
  local held = redis.call('HGETALL', KEYS[2])
  redis.call('DEL', KEYS[2])
  local pending = {}
  for i = 1, #items, 2 do pending[items[i]] = true end
  for i = 1, #held, 2 do
    if held[i] ~= '_credential' and not pending[held[i]] then
      items[#items + 1] = held[i]
      items[#items + 1] = held[i + 1]
    end
  end
end
table.insert(items, 1, holding)
return items
`;

// KEYS[1] held hash; ARGV[1] credential, ARGV[2] ttl ms, then kind, bytes, ... (a hold on another credential is replaced).
const HOLD = `
if redis.call('HGET', KEYS[1], '_credential') ~= ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('HSET', KEYS[1], '_credential', ARGV[1])
for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

type PendingCommands = Redis & {
  pendingTakeBuffer(key: string): Promise<Buffer[]>;
  pendingTakeForBuffer(pending: string, held: string, credentialId: string): Promise<Buffer[]>;
  pendingHold(held: string, credentialId: string, ttlMs: number, ...kindsAndBytes: Array<string | Buffer>): Promise<number>;
};

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
    if (typeof (redis as PendingCommands).pendingTakeForBuffer !== 'function') {
      redis.defineCommand('pendingTakeFor', { numberOfKeys: 2, lua: TAKE_FOR });
      redis.defineCommand('pendingHold', { numberOfKeys: 1, lua: HOLD });
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

  /**
   * take() for a poll on `credentialId`: also what was held for the agent on
   * another credential; `holding`: a hold on this credential is under way
   * (the agent has not switched yet).
   */
  async takeFor(tenantId: string, instanceUidHex: string, credentialId: string): Promise<{ items: PendingItem[]; holding: boolean }> {
    const flat = await this.redis.pendingTakeForBuffer(RedisKeys.pendingPush(tenantId, instanceUidHex), RedisKeys.pendingHeld(tenantId, instanceUidHex), credentialId);
    const items: PendingItem[] = [];
    for (let i = 1; i + 1 < flat.length; i += 2) items.push({ kind: flat[i].toString(), serverToAgent: flat[i + 1] });
    return { items, holding: flat[0]?.toString() === '1' };
  }

  /** Keeps what a reply on `credentialId` delivered while the agent switches away from it (the latest of each kind). */
  async hold(tenantId: string, instanceUidHex: string, credentialId: string, items: readonly PendingItem[]): Promise<void> {
    if (items.length === 0) return;
    await this.redis.pendingHold(RedisKeys.pendingHeld(tenantId, instanceUidHex), credentialId, this.ttlMs, ...items.flatMap((i) => [i.kind, i.serverToAgent]));
  }

  /** Removes and returns everything waiting for this agent. */
  async take(tenantId: string, instanceUidHex: string): Promise<PendingItem[]> {
    const flat = await this.redis.pendingTakeBuffer(RedisKeys.pendingPush(tenantId, instanceUidHex));
    const items: PendingItem[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) items.push({ kind: flat[i].toString(), serverToAgent: flat[i + 1] });
    return items;
  }
}
