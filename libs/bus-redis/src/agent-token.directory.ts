/**
 * The agent tokens gateways accept, shared through Redis: config-service
 * writes every active token's digest (never the token) with its tenant, and
 * announces each change; gateways load the set at start and follow the
 * announcements, so a connect costs no database round trip and a revoked token
 * stops working within moments everywhere.
 */
import type Redis from 'ioredis';
import { AgentTokenKeys, CertificateRevocationKeys } from '@opamp/contracts';

export interface AgentTokenEntry {
  /** base64 SHA-256 of the token; for a certificate: lowercase hex SHA-256 of its DER (its fingerprint). */
  digest: string;
  tenantId: string;
  tokenId: string;
  /** 'enrollment' (a tenant's agent token, the default), 'agent' (one agent's own credential) or 'certificate' (one agent's client certificate). */
  kind?: 'enrollment' | 'agent' | 'certificate';
  /** Agent credentials and certificates: the instance_uid (hex) the credential speaks for. */
  uidHex?: string;
  /** Agent credentials and certificates: the agent was seen with it, so the enrollment token no longer speaks for uidHex. */
  active?: boolean;
  /** When the gateway stops accepting it (ms since the epoch); absent or 0: never. */
  expiresAtMs?: number;
}

/** What a tenant demands of its agents' credentials, followed by every gateway. */
export interface TenantAgentPolicy {
  tenantId: string;
  /** Agents may not stay on an enrollment token: those that cannot take their own credential are refused. */
  requireAgentCredentials: boolean;
}

/** A revoked client certificate: refused by fingerprint until its notAfter, whatever the directory says. */
export interface CertificateRevocation {
  fingerprint: string;
  tenantId: string;
  /** The certificate's id (the credential its connections were opened with). */
  tokenId: string;
  uidHex: string;
  notAfterMs: number;
}

export type AgentTokenChange =
  | { action: 'put'; entry: AgentTokenEntry }
  | { action: 'del'; digest: string }
  | { action: 'policy'; policy: TenantAgentPolicy }
  | { action: 'revoke'; revocation: CertificateRevocation };

const FINGERPRINT = /^[0-9a-f]{64}$/;

export function encodeRevocationValue(r: CertificateRevocation): string {
  return [r.tenantId, r.tokenId, r.uidHex, String(r.notAfterMs)].join('|');
}

export function decodeRevocationValue(fingerprint: string, value: string): CertificateRevocation | null {
  const p = value.split('|');
  if (!FINGERPRINT.test(fingerprint) || p.length !== 4 || !p[0] || !p[1] || !/^[0-9a-f]{32}$/.test(p[2])) return null;
  const notAfterMs = Number(p[3]);
  if (!Number.isSafeInteger(notAfterMs) || notAfterMs <= 0) return null;
  return { fingerprint, tenantId: p[0], tokenId: p[1], uidHex: p[2], notAfterMs };
}

const SEP = '|';
const KIND_CODE = { enrollment: 'e', agent: 'a', certificate: 'c' } as const;
const KIND_OF_CODE = new Map<string, 'enrollment' | 'agent' | 'certificate'>([
  ['e', 'enrollment'],
  ['a', 'agent'],
  ['c', 'certificate'],
]);
/** Entries per pipelined round trip of putMany/removeMany. */
const PUT_MANY_CHUNK = 1000;

/** The directory's value for an entry: "tenant|tokenId" for a plain enrollment token, more fields otherwise. */
export function encodeTokenValue(e: AgentTokenEntry): string {
  const kind = e.kind ?? 'enrollment';
  if (kind === 'enrollment' && !e.expiresAtMs) return `${e.tenantId}${SEP}${e.tokenId}`;
  return [e.tenantId, e.tokenId, KIND_CODE[kind], e.uidHex ?? '', e.active ? '1' : '0', String(e.expiresAtMs ?? 0)].join(SEP);
}

export function decodeTokenValue(digest: string, value: string): AgentTokenEntry | null {
  const p = value.split(SEP);
  if (p.length === 2 && p[0] && p[1]) return { digest, tenantId: p[0], tokenId: p[1] };
  const kind = KIND_OF_CODE.get(p[2]);
  if (p.length !== 6 || !p[0] || !p[1] || !kind) return null;
  const expiresAtMs = Number(p[5]);
  if (!Number.isSafeInteger(expiresAtMs) || expiresAtMs < 0) return null;
  const entry: AgentTokenEntry = { digest, tenantId: p[0], tokenId: p[1], kind };
  if (kind !== 'enrollment') {
    if (!/^[0-9a-f]{32}$/.test(p[3])) return null;
    entry.uidHex = p[3];
    entry.active = p[4] === '1';
  }
  if (expiresAtMs > 0) entry.expiresAtMs = expiresAtMs;
  return entry;
}

export function encodeTokenChange(change: AgentTokenChange): string {
  switch (change.action) {
    case 'put':
      return ['put', change.entry.digest, encodeTokenValue(change.entry)].join(SEP);
    case 'del':
      return ['del', change.digest].join(SEP);
    case 'policy':
      return ['policy', change.policy.tenantId, change.policy.requireAgentCredentials ? '1' : '0'].join(SEP);
    case 'revoke':
      return ['revoke', change.revocation.fingerprint, encodeRevocationValue(change.revocation)].join(SEP);
  }
}

export function decodeTokenChange(text: string): AgentTokenChange | null {
  const parts = text.split(SEP);
  if (parts[0] === 'put' && parts.length >= 4) {
    const entry = decodeTokenValue(parts[1], parts.slice(2).join(SEP));
    return entry ? { action: 'put', entry } : null;
  }
  if (parts[0] === 'del' && parts.length === 2) return { action: 'del', digest: parts[1] };
  if (parts[0] === 'revoke' && parts.length === 6) {
    const revocation = decodeRevocationValue(parts[1], parts.slice(2).join(SEP));
    return revocation ? { action: 'revoke', revocation } : null;
  }
  if (parts[0] === 'policy' && parts.length === 3 && parts[1]) {
    return { action: 'policy', policy: { tenantId: parts[1], requireAgentCredentials: parts[2] === '1' } };
  }
  return null;
}

export class AgentTokenDirectory {
  constructor(private readonly redis: Redis) {}

  async put(entry: AgentTokenEntry): Promise<void> {
    await this.redis.hset(AgentTokenKeys.directory(), entry.digest, encodeTokenValue(entry));
    await this.redis.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'put', entry }));
  }

  /** Many entries in one round trip (a rotation of a whole group): one HSET, one announcement each, pipelined. */
  async putMany(entries: readonly AgentTokenEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += PUT_MANY_CHUNK) {
      const chunk = entries.slice(i, i + PUT_MANY_CHUNK);
      const pipeline = this.redis.pipeline();
      pipeline.hset(AgentTokenKeys.directory(), ...chunk.flatMap((e) => [e.digest, encodeTokenValue(e)]));
      for (const entry of chunk) pipeline.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'put', entry }));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    }
  }

  /** Many removals in one round trip (a revocation of a group). */
  async removeMany(digests: readonly string[]): Promise<void> {
    for (let i = 0; i < digests.length; i += PUT_MANY_CHUNK) {
      const chunk = digests.slice(i, i + PUT_MANY_CHUNK);
      const pipeline = this.redis.pipeline();
      pipeline.hdel(AgentTokenKeys.directory(), ...chunk);
      for (const digest of chunk) pipeline.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'del', digest }));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    }
  }

  /**
   * Revokes client certificates on every gateway: into the revocation set,
   * out of the directory, and announced (a gateway ends their connections).
   */
  async revokeCertificates(revocations: readonly CertificateRevocation[]): Promise<void> {
    for (let i = 0; i < revocations.length; i += PUT_MANY_CHUNK) {
      const chunk = revocations.slice(i, i + PUT_MANY_CHUNK);
      const pipeline = this.redis.pipeline();
      pipeline.hset(CertificateRevocationKeys.revoked(), ...chunk.flatMap((r) => [r.fingerprint, encodeRevocationValue(r)]));
      pipeline.hdel(AgentTokenKeys.directory(), ...chunk.map((r) => r.fingerprint));
      for (const revocation of chunk) pipeline.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'revoke', revocation }));
      const results = (await pipeline.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0];
    }
  }

  /** The revoked certificates not yet past their notAfter (a gateway's start). */
  async loadRevoked(nowMs = Date.now()): Promise<CertificateRevocation[]> {
    const all = await this.redis.hgetall(CertificateRevocationKeys.revoked());
    return Object.entries(all).flatMap(([fp, value]) => {
      const r = decodeRevocationValue(fp, value);
      return r && r.notAfterMs > nowMs ? [r] : [];
    });
  }

  /** Drops revocations of certificates past their notAfter (refused by their dates by then); returns how many. */
  async pruneRevoked(nowMs = Date.now()): Promise<number> {
    const all = await this.redis.hgetall(CertificateRevocationKeys.revoked());
    const gone = Object.entries(all)
      .filter(([fp, value]) => (decodeRevocationValue(fp, value)?.notAfterMs ?? 0) <= nowMs)
      .map(([fp]) => fp);
    if (gone.length > 0) await this.redis.hdel(CertificateRevocationKeys.revoked(), ...gone);
    return gone.length;
  }

  async putPolicy(policy: TenantAgentPolicy): Promise<void> {
    await this.redis.hset(AgentTokenKeys.policies(), policy.tenantId, policy.requireAgentCredentials ? '1' : '0');
    await this.redis.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'policy', policy }));
  }

  async loadPolicies(): Promise<TenantAgentPolicy[]> {
    const all = await this.redis.hgetall(AgentTokenKeys.policies());
    return Object.entries(all).map(([tenantId, v]) => ({ tenantId, requireAgentCredentials: v === '1' }));
  }

  async remove(digest: string): Promise<void> {
    await this.redis.hdel(AgentTokenKeys.directory(), digest);
    await this.redis.publish(AgentTokenKeys.changes(), encodeTokenChange({ action: 'del', digest }));
  }

  /**
   * Makes the directory hold exactly these entries (start-up resync from the
   * database). `stillAccepted`, when given, is asked about the entries it
   * would remove just before they go: another replica may have created one
   * after this one read its snapshot, and that one must stay.
   */
  async replaceAll(entries: readonly AgentTokenEntry[], stillAccepted?: (digests: string[]) => Promise<ReadonlySet<string>>): Promise<void> {
    const wanted = new Map(entries.map((e) => [e.digest, e]));
    const current = await this.redis.hgetall(AgentTokenKeys.directory());
    const extra = Object.keys(current).filter((digest) => !wanted.has(digest));
    const keep = extra.length > 0 && stillAccepted ? await stillAccepted(extra) : new Set<string>();
    for (const digest of extra) if (!keep.has(digest)) await this.remove(digest);
    for (const entry of entries) {
      if (current[entry.digest] !== encodeTokenValue(entry)) await this.put(entry);
    }
  }

  /** One entry by its digest (a gateway that has not heard of a credential yet reads it here before refusing it). */
  async lookup(digest: string): Promise<AgentTokenEntry | null> {
    const value = await this.redis.hget(AgentTokenKeys.directory(), digest);
    return value === null ? null : decodeTokenValue(digest, value);
  }

  async loadAll(): Promise<AgentTokenEntry[]> {
    const all = await this.redis.hgetall(AgentTokenKeys.directory());
    return Object.entries(all).flatMap(([digest, value]) => {
      const entry = decodeTokenValue(digest, value);
      return entry ? [entry] : [];
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
