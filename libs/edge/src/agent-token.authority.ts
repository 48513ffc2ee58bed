/**
 * Which tenant (and, for an agent's own credential, which agent) a credential
 * speaks for, answered from memory: no database round trip per connect.
 * Credentials are kept only as SHA-256 digests, so a heap dump does not leak
 * them, and compared by digest lookup. Also which agents hold a credential of
 * their own (an enrollment token no longer speaks for them) and which tenants
 * require one.
 *
 * The set changes at runtime (credential created, activated or revoked), which
 * is how config-service's directory changes reach a running gateway.
 */
import { createHash } from 'node:crypto';
import type { AgentTokenChange, AgentTokenEntry, CertificateRevocation } from '@opamp/bus-redis';

export interface AgentCredential {
  tenantId: string;
  /** Short, non-secret name for logs and metrics: the token's or credential's id. */
  tokenId: string;
  /**
   * 'enrollment' (shared by many agents; the default), 'agent' (one agent's
   * own) or 'certificate' (one agent's client certificate, verified by a
   * mutual-TLS terminator: client-certificate.ts).
   */
  kind?: 'enrollment' | 'agent' | 'certificate';
  /** An agent credential's or certificate's instance_uid (hex). */
  uidHex?: string;
  /** An agent credential the agent was seen with. */
  active?: boolean;
  /** Refused from this time on (ms since the epoch); absent: never. */
  expiresAtMs?: number;
}

/** The digest under which a token is known: base64 SHA-256 of its UTF-8 text. */
export function agentTokenDigest(token: string): string {
  return digest(token);
}

function digest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('base64');
}

export class AgentTokenAuthority {
  private byDigest = new Map<string, AgentCredential>();
  /** "tenant/uidHex" -> how many active credentials of its own the agent holds (two while a rotation overlaps). */
  private readonly ownCredentials = new Map<string, number>();
  private readonly requiring = new Set<string>();
  /** Revoked client certificates: fingerprint -> their notAfter (ms); refused whatever the directory holds. */
  private readonly revoked = new Map<string, number>();

  constructor(
    tokens: ReadonlyArray<{ tenantId: string; token: string; tokenId?: string }> = [],
    private readonly now: () => number = Date.now,
  ) {
    this.replaceAll(tokens);
  }

  replaceAll(tokens: ReadonlyArray<{ tenantId: string; token: string; tokenId?: string }>): void {
    this.byDigest = new Map();
    this.ownCredentials.clear();
    for (const t of tokens) this.putDigest(digest(t.token), { tenantId: t.tenantId, tokenId: t.tokenId ?? digest(t.token).slice(0, 8) });
  }

  /** Adds (or replaces) a credential known only by its digest (base64 SHA-256), as the shared directory holds them. */
  putDigest(digest: string, credential: AgentCredential): void {
    // A put that raced the revocation (an activation read before it) cannot bring a revoked certificate back.
    if (credential.kind === 'certificate' && this.certificateRevoked(digest)) return;
    this.removeDigest(digest);
    this.byDigest.set(digest, credential);
    if (ownsUid(credential)) this.countOwn(credential, 1);
  }

  /** The digest of the bearer token presented (Authorization: Bearer, else X-API-Key); null when none is. */
  bearerDigest(authorization: string, apiKey: string): string | null {
    const token = bearerToken(authorization, apiKey);
    return token ? digest(token) : null;
  }

  /** True when a credential is held under this digest (whatever its state). */
  knows(presented: string): boolean {
    return this.byDigest.has(presented);
  }

  /** An entry read from the shared directory, applied as its announcement would be. */
  learn(entry: AgentTokenEntry): void {
    this.apply({ action: 'put', entry });
  }

  credentialOfDigest(digest: string): AgentCredential | null {
    return this.byDigest.get(digest) ?? null;
  }

  /** A client certificate's entry by its fingerprint (lowercase hex SHA-256 of the DER); null when unknown, of another kind, or expired. */
  certificateCredential(fingerprintHex: string): AgentCredential | null {
    if (this.certificateRevoked(fingerprintHex)) return null;
    const credential = this.byDigest.get(fingerprintHex);
    if (credential?.kind !== 'certificate') return null;
    if (credential.expiresAtMs && credential.expiresAtMs <= this.now()) return null;
    return credential;
  }

  /** True when the certificate of this fingerprint was revoked (and has not expired since). */
  certificateRevoked(fingerprintHex: string): boolean {
    const until = this.revoked.get(fingerprintHex);
    if (until === undefined) return false;
    if (until > this.now()) return true;
    this.revoked.delete(fingerprintHex);
    return false;
  }

  /** Revokes a certificate: refused from now on, its entry gone; returns the credential whose connections must end. */
  revokeCertificate(r: CertificateRevocation): AgentCredential {
    const entry = this.credentialOfDigest(r.fingerprint);
    this.removeDigest(r.fingerprint);
    this.revoked.set(r.fingerprint, r.notAfterMs);
    // Connections are found by tenant and credential id: ended even when the entry had gone before.
    return entry?.kind === 'certificate' ? entry : { tenantId: r.tenantId, tokenId: r.tokenId, kind: 'certificate', uidHex: r.uidHex };
  }

  get size(): number {
    return this.byDigest.size;
  }

  removeDigest(digest: string): boolean {
    const before = this.byDigest.get(digest);
    if (!before) return false;
    this.byDigest.delete(digest);
    if (ownsUid(before)) this.countOwn(before, -1);
    return true;
  }

  revoke(token: string): boolean {
    return this.removeDigest(digest(token));
  }

  /** Follows one change of the shared directory; returns the credential a `del` removed (its connections must end). */
  apply(change: AgentTokenChange): AgentCredential | null {
    switch (change.action) {
      case 'put':
        this.putEntry(change.entry);
        return null;
      case 'policy':
        this.setPolicy(change.policy.tenantId, change.policy.requireAgentCredentials);
        return null;
      case 'del': {
        const removed = this.credentialOfDigest(change.digest);
        this.removeDigest(change.digest);
        return removed;
      }
      case 'revoke':
        return this.revokeCertificate(change.revocation);
    }
  }

  putEntry(e: AgentTokenEntry): void {
    const credential: AgentCredential = { tenantId: e.tenantId, tokenId: e.tokenId };
    if (e.kind === 'agent' || e.kind === 'certificate') {
      credential.kind = e.kind;
      credential.uidHex = e.uidHex;
      credential.active = e.active === true;
    }
    if (e.expiresAtMs) credential.expiresAtMs = e.expiresAtMs;
    this.putDigest(e.digest, credential);
  }

  /** True when the agent holds an active credential of its own: no enrollment token speaks for it. */
  hasOwnCredential(tenantId: string, uidHex: string): boolean {
    return (this.ownCredentials.get(`${tenantId}/${uidHex}`) ?? 0) > 0;
  }

  setPolicy(tenantId: string, requireAgentCredentials: boolean): void {
    if (requireAgentCredentials) this.requiring.add(tenantId);
    else this.requiring.delete(tenantId);
  }

  requiresAgentCredentials(tenantId: string): boolean {
    return this.requiring.has(tenantId);
  }

  private countOwn(c: AgentCredential, delta: number): void {
    const key = `${c.tenantId}/${c.uidHex}`;
    const n = (this.ownCredentials.get(key) ?? 0) + delta;
    if (n > 0) this.ownCredentials.set(key, n);
    else this.ownCredentials.delete(key);
  }

  /** Reads `Authorization: Bearer <token>` or `X-API-Key: <token>`. */
  authenticate(authorization: string, apiKey: string): AgentCredential | null {
    const presented = this.bearerDigest(authorization, apiKey);
    if (!presented) return null;
    const credential = this.byDigest.get(presented) ?? null;
    // A certificate's fingerprint is public: it is never a bearer secret.
    if (credential?.kind === 'certificate') return null;
    if (credential?.expiresAtMs && credential.expiresAtMs <= this.now()) return null;
    return credential;
  }
}

function bearerToken(authorization: string, apiKey: string): string {
  if (authorization) return /^Bearer\s+(\S+)\s*$/i.exec(authorization)?.[1] ?? '';
  return apiKey ? apiKey.trim() : '';
}

function ownsUid(c: AgentCredential): boolean {
  return (c.kind === 'agent' || c.kind === 'certificate') && c.active === true && !!c.uidHex;
}

/** Parses "tenant=token,tenant2=token2" (the OPAMP_AGENT_TOKENS format). */
export function parseTokenList(spec: string): Array<{ tenantId: string; token: string }> {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((pair) => {
      const i = pair.indexOf('=');
      if (i <= 0 || i === pair.length - 1) throw new Error('agent tokens must look like tenant=token[,tenant=token]');
      return { tenantId: pair.slice(0, i), token: pair.slice(i + 1) };
    });
}
