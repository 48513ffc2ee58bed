/**
 * The agent tokens gateways accept, shared through Redis: config-service
 * writes every active token's digest (never the token) with its tenant, and
 * announces each change; gateways load the set at start and follow the
 * announcements, so a connect costs no database round trip and a revoked token
 * stops working within moments everywhere.
 */
import type Redis from 'ioredis';
import { AgentTokenKeys } from '@opamp/contracts';

export interface AgentTokenEntry {
  /** base64 SHA-256 of the token. */
  digest: string;
  tenantId: string;
  tokenId: string;
}

export type AgentTokenChange = { action: 'put'; entry: AgentTokenEntry } | { action: 'del'; digest: string };

const SEP = '|';

export function encodeTokenChange(change: AgentTokenChange): string {
  return change.action === 'put'
    ? ['put', change.entry.digest, change.entry.tenantId, change.entry.tokenId].join(SEP)
    : ['del', change.digest].join(SEP);
}

export function decodeTokenChange(text: string): AgentTokenChange | null {
  const parts = text.split(SEP);
  if (parts[0] === 'put' && parts.length === 4) return { action: 'put', entry: { digest: parts[1], tenantId: parts[2], tokenId: parts[3] } };
  if (parts[0] === 'del' && parts.length === 2) return { action: 'del', digest: parts[1] };
  return null;
}

export class AgentTokenDirectory {
  constructor(private readonly redis: Redis) {}

  async put(entry: AgentTokenEntry): Promise<void> {
    await this.redis.hset(AgentTokenKeys.directory(), entry.digest, `${entry.tenantId}${SEP}${entry.tokenId}`);
    await this.redis.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'put', entry }));
  }

  async remove(digest: string): Promise<void> {
    await this.redis.hdel(AgentTokenKeys.directory(), digest);
    await this.redis.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'del', digest }));
  }

  /** Makes the directory hold exactly these entries (start-up resync from the database). */
  async replaceAll(entries: readonly AgentTokenEntry[]): Promise<void> {
    const wanted = new Map(entries.map((e) => [e.digest, e]));
    const current = await this.redis.hgetall(AgentTokenKeys.directory());
    for (const digest of Object.keys(current)) if (!wanted.has(digest)) await this.remove(digest);
    for (const entry of entries) {
      if (current[entry.digest] !== `${entry.tenantId}${SEP}${entry.tokenId}`) await this.put(entry);
    }
  }

  async loadAll(): Promise<AgentTokenEntry[]> {
    const all = await this.redis.hgetall(AgentTokenKeys.directory());
    return Object.entries(all).flatMap(([digest, value]) => {
      const i = value.indexOf(SEP);
      return i > 0 ? [{ digest, tenantId: value.slice(0, i), tokenId: value.slice(i + 1) }] : [];
    });
  }

  /** Follows changes on a dedicated subscriber connection. */
  static async watch(subscriber: Redis, listener: (change: AgentTokenChange) => void): Promise<() => Promise<void>> {
    const channel = AgentTokenKeys.changes();
    const onMessage = (ch: string, message: string) => {
      if (ch !== channel) return;
      const change = decodeTokenChange(message);
      if (change) listener(change);
    };
    subscriber.on('message', onMessage);
    await subscriber.subscribe(channel);
    return async () => {
      subscriber.off('message', onMessage);
      await subscriber.unsubscribe(channel);
    };
  }
}
