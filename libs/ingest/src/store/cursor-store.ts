/**
 * The volatile part of agent records, in Redis, so a heartbeat costs no
 * PostgreSQL row write:
 * - `RedisKeys.ingestCursor(tenant)` HASH uid -> {epoch, seqEpoch, seq, lastSeenMs, HTTP owner}:
 *   sequence tracking survives a restart or a partition moving to another replica
 *   without a row write per message; loading a record overlays it when it is
 *   newer than the row (the row is also written with these fields whenever
 *   anything durable changes).
 * - `RedisKeys.liveAgents(tenant)` ZSET uid -> last seen ms of connected agents:
 *   the liveness sweep reads the oldest entries instead of scanning the table.
 * - `RedisKeys.lastSeen(tenant)` HASH uid -> last seen ms (the documented view).
 * Losing Redis costs at most one extra ReportFullState per agent, and agents
 * that fall silent during the loss are not swept until they send again.
 */
import type Redis from 'ioredis';
import { LAST_SEEN_TTL_MS, RedisKeys } from '@opamp/contracts';
import { Transport, type AgentState } from '../core/agent-state';

export interface AgentCursor {
  epoch: number;
  seqEpoch: number;
  seq: number | null;
  lastSeenMs: number | null;
  gatewayId: string | null;
  connectionId: string | null;
  transport: number;
}

function cursorOf(s: AgentState): AgentCursor {
  return {
    epoch: s.epoch,
    seqEpoch: s.seqEpoch,
    seq: s.lastSequenceNum,
    lastSeenMs: s.lastSeenMs,
    gatewayId: s.gatewayId,
    connectionId: s.connectionId,
    transport: s.transport,
  };
}

function newer(c: AgentCursor, s: AgentState): boolean {
  if (c.epoch !== s.epoch) return c.epoch > s.epoch;
  if (c.seqEpoch !== s.seqEpoch) return c.seqEpoch > s.seqEpoch;
  return (c.seq ?? -1) > (s.lastSequenceNum ?? -1);
}

/** The record with the cursor's fields applied where the cursor is ahead of the row. */
export function overlayCursor(s: AgentState, c: AgentCursor | undefined): AgentState {
  if (!c || s.replacedBy) return s;
  const out = { ...s };
  if (c.lastSeenMs !== null && (out.lastSeenMs === null || c.lastSeenMs > out.lastSeenMs)) out.lastSeenMs = c.lastSeenMs;
  if (!newer(c, s)) return out;
  out.epoch = c.epoch;
  out.seqEpoch = c.seqEpoch;
  out.lastSequenceNum = c.seq;
  if (c.transport === Transport.TRANSPORT_HTTP && s.transport === Transport.TRANSPORT_HTTP && s.connected) {
    out.gatewayId = c.gatewayId;
    out.connectionId = c.connectionId;
  }
  return out;
}

/** The cursor store's port: Redis here, MemoryCursorStore in the embedded server. */
export interface AgentCursors {
  load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>>;
  save(states: readonly AgentState[]): Promise<void>;
  silentSince(tenantId: string, cutoffMs: number, limit: number): Promise<{ instanceUid: Buffer; lastSeenMs: number }[]>;
  lastSeen(tenantId: string, uids: readonly Buffer[]): Promise<(number | null)[]>;
  removeLive(tenantId: string, uids: readonly Buffer[]): Promise<void>;
}

/**
 * The same cursors in process memory, for the embedded single-process server
 * (lost on restart, which costs at most one ReportFullState per agent).
 */
export class MemoryCursorStore implements AgentCursors {
  private readonly cursors = new Map<string, AgentCursor>();
  private readonly live = new Map<string, Map<string, number>>();

  async load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>> {
    const out = new Map<string, AgentCursor>();
    for (const k of keys) {
      const id = `${k.tenantId}/${k.instanceUid.toString('hex')}`;
      const c = this.cursors.get(id);
      if (c) out.set(id, { ...c });
    }
    return out;
  }

  async save(states: readonly AgentState[]): Promise<void> {
    for (const s of states) {
      const hex = s.instanceUid.toString('hex');
      this.cursors.set(`${s.tenantId}/${hex}`, cursorOf(s));
      let live = this.live.get(s.tenantId);
      if (!live) this.live.set(s.tenantId, (live = new Map()));
      if (s.connected && !s.replacedBy && s.lastSeenMs !== null) live.set(hex, s.lastSeenMs);
      else live.delete(hex);
    }
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

export class CursorStore implements AgentCursors {
  constructor(
    private readonly redis: Redis,
    private readonly ttlMs: number = LAST_SEEN_TTL_MS,
  ) {}

  async load(keys: readonly { tenantId: string; instanceUid: Buffer }[]): Promise<Map<string, AgentCursor>> {
    const out = new Map<string, AgentCursor>();
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
      (values as (string | null)[]).forEach((v, j) => {
        if (v) out.set(`${tenantId}/${hexes[j]}`, JSON.parse(v) as AgentCursor);
      });
    });
    return out;
  }

  /** Records the cursors of these agents and keeps the live index in step with `connected`. */
  async save(states: readonly AgentState[]): Promise<void> {
    if (states.length === 0) return;
    const pipeline = this.redis.pipeline();
    const tenants = new Set<string>();
    for (const s of states) {
      const hex = s.instanceUid.toString('hex');
      tenants.add(s.tenantId);
      pipeline.hset(RedisKeys.ingestCursor(s.tenantId), hex, JSON.stringify(cursorOf(s)));
      if (s.lastSeenMs !== null) pipeline.hset(RedisKeys.lastSeen(s.tenantId), hex, String(s.lastSeenMs));
      if (s.connected && !s.replacedBy && s.lastSeenMs !== null) pipeline.zadd(RedisKeys.liveAgents(s.tenantId), s.lastSeenMs, hex);
      else pipeline.zrem(RedisKeys.liveAgents(s.tenantId), hex);
    }
    for (const t of tenants) {
      pipeline.pexpire(RedisKeys.ingestCursor(t), this.ttlMs);
      pipeline.pexpire(RedisKeys.lastSeen(t), this.ttlMs);
      pipeline.pexpire(RedisKeys.liveAgents(t), this.ttlMs);
    }
    const results = (await pipeline.exec()) ?? [];
    const failed = results.find(([err]) => err);
    if (failed) throw failed[0];
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
