/**
 * Which tenant an agent's credential belongs to, answered from memory: no
 * database round trip per connect. Tokens are kept only as SHA-256 digests, so
 * a heap dump does not leak them, and compared by digest lookup.
 *
 * The set can be replaced at runtime (token created or revoked), which is how
 * config-service's invalidations reach a running gateway.
 */
import { createHash } from 'node:crypto';

export interface AgentCredential {
  tenantId: string;
  /** Short, non-secret name for logs and metrics. */
  tokenId: string;
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

  constructor(tokens: ReadonlyArray<{ tenantId: string; token: string; tokenId?: string }> = []) {
    this.replaceAll(tokens);
  }

  replaceAll(tokens: ReadonlyArray<{ tenantId: string; token: string; tokenId?: string }>): void {
    const next = new Map<string, AgentCredential>();
    for (const t of tokens) {
      next.set(digest(t.token), { tenantId: t.tenantId, tokenId: t.tokenId ?? digest(t.token).slice(0, 8) });
    }
    this.byDigest = next;
  }

  /** Adds a token known only by its digest (base64 SHA-256), as the shared directory holds them. */
  putDigest(digest: string, credential: AgentCredential): void {
    this.byDigest.set(digest, credential);
  }

  credentialOfDigest(digest: string): AgentCredential | null {
    return this.byDigest.get(digest) ?? null;
  }

  get size(): number {
    return this.byDigest.size;
  }

  removeDigest(digest: string): boolean {
    return this.byDigest.delete(digest);
  }

  revoke(token: string): boolean {
    return this.byDigest.delete(digest(token));
  }

  /** Reads `Authorization: Bearer <token>` or `X-API-Key: <token>`. */
  authenticate(authorization: string, apiKey: string): AgentCredential | null {
    let token = '';
    if (authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
      if (!m) return null;
      token = m[1];
    } else if (apiKey) {
      token = apiKey.trim();
    }
    if (!token) return null;
    return this.byDigest.get(digest(token)) ?? null;
  }
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
