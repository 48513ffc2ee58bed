/**
 * Who owns an agent's connection right now: the ConnectionLease in Redis.
 *
 * Taking a lease bumps the agent's epoch (a fencing token), so a push or write
 * that carries an older epoch can be refused. Refresh and release are
 * compare-and-set on the whole lease value: a gateway can never extend or
 * delete a lease that another connection has taken over since.
 */
import type Redis from 'ioredis';
import { CONNECTION_LEASE_TTL_MS, RedisKeys } from '@opamp/contracts';
import { GatewayPresence } from './gateway-presence';

export interface ConnectionLease {
  gatewayId: string;
  connectionId: string;
  epoch: number;
}

export interface LeaseAcquisition {
  /** The lease taken; null when an exclusive acquisition found another connection holding it. */
  lease: ConnectionLease;
  /** The lease this one replaced, if another connection held it (or, when refused, the holder). */
  previous: ConnectionLease | null;
  /** True when an exclusive acquisition was refused: `previous` holds the agent, nothing changed. */
  refused?: boolean;
}

const SEP = '|';

export function encodeLease(lease: ConnectionLease): string {
  return `${lease.gatewayId}${SEP}${lease.connectionId}${SEP}${lease.epoch}`;
}

export function decodeLease(value: string | null): ConnectionLease | null {
  if (!value) return null;
  const parts = value.split(SEP);
  if (parts.length !== 3) return null;
  const epoch = Number(parts[2]);
  if (!Number.isSafeInteger(epoch)) return null;
  return { gatewayId: parts[0], connectionId: parts[1], epoch };
}

// KEYS[1] lease, KEYS[2] epoch counter; ARGV gateway, connection, ttl ms, now ms, exclusive ('1').
// The epoch is at least the current time in ms: if Redis loses its data
// (restart without persistence), epochs still rise past every one issued before
// that millisecond (a restart takes far longer),
// so status-ingest does not take a new connection for a replay of an old one.
// Exclusive: a lease held by another connection is left alone (epoch 0 returned).
const ACQUIRE = `
if ARGV[5] == '1' then
  local held = redis.call('GET', KEYS[1])
  if held and string.sub(held, 1, string.len(ARGV[1]) + string.len(ARGV[2]) + 2) ~= ARGV[1] .. '${SEP}' .. ARGV[2] .. '${SEP}' then
    return {0, held}
  end
end
local epoch = redis.call('INCR', KEYS[2])
local floor = tonumber(ARGV[4])
if epoch < floor then
  epoch = floor
  redis.call('SET', KEYS[2], epoch)
end
local previous = redis.call('GET', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1] .. '${SEP}' .. ARGV[2] .. '${SEP}' .. epoch, 'PX', ARGV[3])
return {epoch, previous or ''}
`;

// KEYS[1] lease; ARGV expected value, ttl ms.
const REFRESH = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`;

// KEYS[1] lease; ARGV expected value.
const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`;

type LeaseCommands = Redis & {
  leaseAcquire(lease: string, epoch: string, gw: string, conn: string, ttl: number, nowMs: number, exclusive: string): Promise<[number, string]>;
  leaseRefresh(lease: string, expected: string, ttl: number): Promise<number>;
  leaseRelease(lease: string, expected: string): Promise<number>;
};

function withLeaseCommands(redis: Redis): LeaseCommands {
  const r = redis as LeaseCommands;
  if (typeof r.leaseAcquire !== 'function') {
    redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand('leaseRefresh', { numberOfKeys: 1, lua: REFRESH });
    redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
  }
  return r;
}

/**
 * A lease whose gateway is not present, or is present as a process that started after the lease
 * was taken: the epoch is at least the acquiring gateway's clock in ms (ACQUIRE), so a lease with
 * an epoch below the present process's start was taken by one that died before it.
 */
async function leftByDeadGateway(redis: Redis, holder: ConnectionLease): Promise<boolean> {
  const since = await GatewayPresence.presentSince(redis, holder.gatewayId);
  return since === null || holder.epoch < since;
}

export class ConnectionLeaseRepository {
  private readonly redis: LeaseCommands;

  constructor(
    redis: Redis,
    private readonly ttlMs: number = CONNECTION_LEASE_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.redis = withLeaseCommands(redis);
  }

  /**
   * Takes the agent's lease. Exclusive: only if no other live connection
   * holds it (else `refused`, and the holder in `previous`); a lease of
   * another gateway that is not present any more (it died) counts as free.
   * Otherwise it takes the lease over and names the previous holder.
   */
  async acquire(tenantId: string, instanceUidHex: string, gatewayId: string, connectionId: string, exclusive = false): Promise<LeaseAcquisition> {
    if (gatewayId.includes(SEP) || connectionId.includes(SEP)) throw new Error(`ids must not contain "${SEP}"`);
    const [epoch, previous] = await this.redis.leaseAcquire(
      RedisKeys.connectionLease(tenantId, instanceUidHex),
      RedisKeys.connectionEpoch(tenantId, instanceUidHex),
      gatewayId,
      connectionId,
      this.ttlMs,
      this.now(),
      exclusive ? '1' : '0',
    );
    if (Number(epoch) === 0) {
      const holder = decodeLease(previous);
      if (holder && holder.gatewayId !== gatewayId && (await leftByDeadGateway(this.redis, holder))) {
        return this.acquire(tenantId, instanceUidHex, gatewayId, connectionId, false);
      }
      return { lease: { gatewayId, connectionId, epoch: 0 }, previous: holder, refused: true };
    }
    return { lease: { gatewayId, connectionId, epoch: Number(epoch) }, previous: decodeLease(previous) };
  }

  /** Extends the lease if it is still this one; false means it was taken over or expired. */
  async refresh(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean> {
    const n = await this.redis.leaseRefresh(RedisKeys.connectionLease(tenantId, instanceUidHex), encodeLease(lease), this.ttlMs);
    return n === 1;
  }

  /** Deletes the lease only if it is still this one (compare-and-delete). */
  async release(tenantId: string, instanceUidHex: string, lease: ConnectionLease): Promise<boolean> {
    const n = await this.redis.leaseRelease(RedisKeys.connectionLease(tenantId, instanceUidHex), encodeLease(lease));
    return n === 1;
  }

  async get(tenantId: string, instanceUidHex: string): Promise<ConnectionLease | null> {
    return decodeLease(await this.redis.get(RedisKeys.connectionLease(tenantId, instanceUidHex)));
  }
}
