/**
 * The volatile part of agent records, in Redis, so a heartbeat costs no
 * PostgreSQL round trip:
 * - `RedisKeys.ingestCursor(tenant)` HASH uid -> AgentCursor JSON (core/agent-cursor.ts):
 *   sequence tracking survives a restart or a partition moving to another replica
 *   without a row write per message; loading a record overlays it when it is
 *   newer than the row; the heartbeat fast path reads and advances it alone.
 * - `RedisKeys.liveAgents(tenant)` ZSET uid -> last seen ms of connected agents:
 *   the liveness sweep reads the oldest entries instead of scanning the table.
 * - `RedisKeys.lastSeen(tenant)` HASH uid -> last seen ms (the documented view).
 *
 * Writes are compare-and-set on the cursor as it was read: a writer that lost a
 * race (the sweep forgot the cursor after marking the row, another replica
 * moved on) writes nothing for that agent, so the next message takes the full
 * path and reads the row. Losing Redis costs at most one extra ReportFullState
 * per agent, and agents that fall silent during the loss are not swept until
 * they send again.
 */
import type Redis from 'ioredis';
import { LAST_SEEN_TTL_MS, RedisKeys } from '@opamp/contracts';
import { cursorOf, type AgentCursor } from '../core/agent-cursor';
import type { AgentState } from '../core/agent-state';

/** A cursor with the exact text it was read as (what a compare-and-set compares). */
export interface CursorSnapshot {
  cursor: AgentCursor;
  raw: string;
}

export interface CursorWrite {
  tenantId: string;
  instanceUid: Buffer;
  cursor: AgentCursor;
  /** Counted connected: kept in the live index with its last-seen time. */
  live: boolean;
  /** The text read before (null: there was none); undefined writes unconditionally. */
  expected?: string | null;
}

/** The cursor store's port: Redis here, MemoryCursorStore in the embedded server. */
export interface AgentCursors {
  load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>>;
  /** Cursors with their text, keyed `tenant/uid-hex`. */
  snapshots(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, CursorSnapshot>>;
  /** Writes cursors (with last seen and live index); returns the keys whose cursor changed since read (nothing written). */
  write(writes: readonly CursorWrite[]): Promise<Set<string>>;
  /** Records these states' cursors; `expected` (by key) makes each a compare-and-set. */
  save(states: readonly AgentState[], expected?: ReadonlyMap<string, string | null>): Promise<Set<string>>;
  /** Drops cursors, so the next message of these agents reads the row (the sweep changed it). */
  forget(tenantId: string, uids: readonly Buffer[]): Promise<void>;
  silentSince(tenantId: string, cutoffMs: number, limit: number): Promise<{ instanceUid: Buffer; lastSeenMs: number }[]>;
  lastSeen(tenantId: string, uids: readonly Buffer[]): Promise<(number | null)[]>;
  removeLive(tenantId: string, uids: readonly Buffer[]): Promise<void>;
}

const keyOf = (tenantId: string, hex: string) => `${tenantId}/${hex}`;

function writesOf(states: readonly AgentState[], expected?: ReadonlyMap<string, string | null>): CursorWrite[] {
  return states.map((s) => {
    const key = keyOf(s.tenantId, s.instanceUid.toString('hex'));
    return {
      tenantId: s.tenantId,
      instanceUid: s.instanceUid,
      cursor: cursorOf(s),
      live: s.connected && !s.replacedBy,
      expected: expected ? (expected.get(key) ?? null) : undefined,
    };
  });
}

/**
 * The same cursors in process memory, for the embedded single-process server
 * (lost on restart, which costs at most one ReportFullState per agent).
 */
export class MemoryCursorStore implements AgentCursors {
  private readonly cursors = new Map<string, string>();
  private readonly live = new Map<string, Map<string, number>>();

  async load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>> {
    const out = new Map<string, AgentCursor>();
    for (const [k, snap] of await this.snapshots(keys)) out.set(k, snap.cursor);
    return out;
  }

  async snapshots(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, CursorSnapshot>> {
    const out = new Map<string, CursorSnapshot>();
    for (const k of keys) {
      const id = keyOf(k.tenantId, k.instanceUid.toString('hex'));
      const raw = this.cursors.get(id);
      if (raw !== undefined) out.set(id, { cursor: JSON.parse(raw) as AgentCursor, raw });
    }
    return out;
  }

  async write(writes: readonly CursorWrite[]): Promise<Set<string>> {
    const failed = new Set<string>();
    for (const w of writes) {
      const hex = w.instanceUid.toString('hex');
      const id = keyOf(w.tenantId, hex);
      if (w.expected !== undefined && (this.cursors.get(id) ?? null) !== w.expected) {
        failed.add(id);
        continue;
      }
      this.cursors.set(id, JSON.stringify(w.cursor));
      let live = this.live.get(w.tenantId);
      if (!live) this.live.set(w.tenantId, (live = new Map()));
      if (w.live && w.cursor.lastSeenMs !== null) live.set(hex, w.cursor.lastSeenMs);
      else live.delete(hex);
    }
    return failed;
  }

  save(states: readonly AgentState[], expected?: ReadonlyMap<string, string | null>): Promise<Set<string>> {
    return this.write(writesOf(states, expected));
  }

  async forget(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    for (const u of uids) this.cursors.delete(keyOf(tenantId, u.toString('hex')));
  }

  async silentSince(tenantId: string, cutoffMs: number, limit: number): Promise<{ instanceUid: Buffer; lastSeenMs: number }[]> {
    const live = this.live.get(tenantId);
    if (!live) return [];
    return [...live]
      .filter(([, seen]) => seen <= cutoffMs)
      .sort((a, b) => a[1] - b[1])
      .slice(0, limit)
      .map(([hex, lastSeenMs]) => ({ instanceUid: Buffer.from(hex, 'hex'), lastSeenMs }));
  }

  async lastSeen(tenantId: string, uids: readonly Buffer[]): Promise<(number | null)[]> {
    const live = this.live.get(tenantId);
    return uids.map((u) => live?.get(u.toString('hex')) ?? null);
  }

  async removeLive(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    const live = this.live.get(tenantId);
    for (const u of uids) live?.delete(u.toString('hex'));
  }
}

/**
 * Compare-and-set of many cursors of one tenant, with their last-seen entries
 * and live-index membership. ARGV: ttl, then per agent six values: uid hex,
 * mode ('*' always, '-' only if absent, '=' only if equal to the next value),
 * expected text, new text, last seen ms ('' none), live ('1' / '0').
 * Returns the uids that were not written.
 */
const CURSOR_WRITE = `
local failed = {}
for i = 2, #ARGV, 6 do
  local hex, mode, expected, raw, seen, live = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5]
  local ok = true
  if mode ~= '*' then
    local current = redis.call('HGET', KEYS[1], hex)
    if mode == '-' then ok = (current == false) else ok = (current == expected) end
  end
  if ok then
    redis.call('HSET', KEYS[1], hex, raw)
    if seen ~= '' then redis.call('HSET', KEYS[2], hex, seen) end
    if live == '1' and seen ~= '' then redis.call('ZADD', KEYS[3], seen, hex) else redis.call('ZREM', KEYS[3], hex) end
  else
    failed[#failed + 1] = hex
  end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('PEXPIRE', KEYS[3], ARGV[1])
return failed
`;

/** Agents per script call: bounds how long one call holds Redis (well under a millisecond). */
const WRITES_PER_CALL = 250;

type CursorRedis = Redis & {
  ingestCursorWrite(cursorKey: string, lastSeenKey: string, liveKey: string, ...argv: string[]): Promise<string[]>;
};

export class CursorStore implements AgentCursors {
  private readonly redis: CursorRedis;

  constructor(
    redis: Redis,
    private readonly ttlMs: number = LAST_SEEN_TTL_MS,
  ) {
    if (!('ingestCursorWrite' in redis)) redis.defineCommand('ingestCursorWrite', { numberOfKeys: 3, lua: CURSOR_WRITE });
    this.redis = redis as CursorRedis;
  }

  async load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>> {
    const out = new Map<string, AgentCursor>();
    for (const [k, snap] of await this.snapshots(keys)) out.set(k, snap.cursor);
    return out;
  }

  async snapshots(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, CursorSnapshot>> {
    const out = new Map<string, CursorSnapshot>();
    const byTenant = groupByTenant(keys.map((k) => ({ tenantId: k.tenantId, hex: k.instanceUid.toString('hex') })));
    if (byTenant.size === 0) return out;
    const pipeline = this.redis.pipeline();
    const order: [string, string[]][] = [];
    for (const [tenantId, hexes] of byTenant) {
      pipeline.hmget(RedisKeys.ingestCursor(tenantId), ...hexes);
      order.push([tenantId, hexes]);
    }
    const results = (await pipeline.exec()) ?? [];
    order.forEach(([tenantId, hexes], i) => {
      const [err, values] = results[i] ?? [null, []];
      if (err) throw err;
      (values as (string | null)[]).forEach((raw, j) => {
        if (raw) out.set(keyOf(tenantId, hexes[j]), { cursor: JSON.parse(raw) as AgentCursor, raw });
      });
    });
    return out;
  }

  async write(writes: readonly CursorWrite[]): Promise<Set<string>> {
    const failed = new Set<string>();
    if (writes.length === 0) return failed;
    const byTenant = new Map<string, CursorWrite[]>();
    for (const w of writes) {
      let list = byTenant.get(w.tenantId);
      if (!list) byTenant.set(w.tenantId, (list = []));
      list.push(w);
    }
    const calls: Promise<void>[] = [];
    for (const [tenantId, list] of byTenant) {
      for (let i = 0; i < list.length; i += WRITES_PER_CALL) {
        const argv: string[] = [String(this.ttlMs)];
        for (const w of list.slice(i, i + WRITES_PER_CALL)) {
          const seen = w.cursor.lastSeenMs === null ? '' : String(w.cursor.lastSeenMs);
          const mode = w.expected === undefined ? '*' : w.expected === null ? '-' : '=';
          argv.push(w.instanceUid.toString('hex'), mode, w.expected ?? '', JSON.stringify(w.cursor), seen, w.live ? '1' : '0');
        }
        calls.push(
          this.redis
            .ingestCursorWrite(RedisKeys.ingestCursor(tenantId), RedisKeys.lastSeen(tenantId), RedisKeys.liveAgents(tenantId), ...argv)
            .then((hexes) => {
              for (const hex of hexes) failed.add(keyOf(tenantId, hex));
            }),
        );
      }
    }
    await Promise.all(calls);
    return failed;
  }

  save(states: readonly AgentState[], expected?: ReadonlyMap<string, string | null>): Promise<Set<string>> {
    return this.write(writesOf(states, expected));
  }

  async forget(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    if (uids.length === 0) return;
    await this.redis.hdel(RedisKeys.ingestCursor(tenantId), ...uids.map((u) => u.toString('hex')));
  }

  /** Connected agents last seen at or before `cutoffMs`, oldest first. */
  async silentSince(tenantId: string, cutoffMs: number, limit: number): Promise<{ instanceUid: Buffer; lastSeenMs: number }[]> {
    const flat = await this.redis.zrangebyscore(RedisKeys.liveAgents(tenantId), '-inf', cutoffMs, 'WITHSCORES', 'LIMIT', 0, limit);
    const out: { instanceUid: Buffer; lastSeenMs: number }[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push({ instanceUid: Buffer.from(flat[i], 'hex'), lastSeenMs: Number(flat[i + 1]) });
    return out;
  }

  /** Current last-seen scores (null: not in the live index). */
  async lastSeen(tenantId: string, uids: readonly Buffer[]): Promise<(number | null)[]> {
    if (uids.length === 0) return [];
    const scores = await this.redis.zmscore(RedisKeys.liveAgents(tenantId), ...uids.map((u) => u.toString('hex')));
    return scores.map((v) => (v === null ? null : Number(v)));
  }

  async removeLive(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    if (uids.length === 0) return;
    await this.redis.zrem(RedisKeys.liveAgents(tenantId), ...uids.map((u) => u.toString('hex')));
  }
}

function groupByTenant(keys: { tenantId: string; hex: string }[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const k of keys) {
    let list = out.get(k.tenantId);
    if (!list) out.set(k.tenantId, (list = []));
    list.push(k.hex);
  }
  return out;
}
