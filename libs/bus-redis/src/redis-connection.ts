/**
 * Builds ioredis connections with the settings every process shares. Pub/sub
 * needs a connection of its own (a subscribed connection can do nothing else),
 * so callers ask for one per role.
 */
import Redis, { type RedisOptions } from 'ioredis';

export interface RedisConnectionOptions {
  url: string;
  /** Shown in CLIENT LIST, e.g. "gateway-a:sub". */
  connectionName: string;
  /** Fail a command after this long instead of queueing it forever while disconnected. */
  commandTimeoutMs?: number;
}

export function createRedisConnection(options: RedisConnectionOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 3,
    commandTimeout: options.commandTimeoutMs ?? 5_000,
    retryStrategy: (attempt) => Math.min(50 * 2 ** attempt, 2_000),
    lazyConnect: false,
  };
  return new Redis(options.url, redisOptions);
}
