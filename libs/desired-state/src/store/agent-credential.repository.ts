/**
 * PostgreSQL access for agents' identity (migration 0160): which enrollment
 * token brought an agent in (and its use count), and each agent's own
 * credentials with their life cycle: offered -> active -> superseded, or
 * revoked, or expired when a rotation's deadline passed. Only SHA-256 of a
 * secret is stored (core/agent-credential.ts derives the secret).
 */
import { randomUUID } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { deriveAgentSecret, secretHash } from '../core';
import { toBuffer, toIso } from './desired-state.repository';

export type CredentialState = 'offered' | 'active' | 'superseded' | 'revoked' | 'expired';

export interface AgentCredentialRecord {
  readonly id: string;
  readonly tenantId: string;
  readonly instanceUid: Buffer;
  readonly secretHash: Buffer;
  readonly state: CredentialState;
  readonly enrollmentTokenId: string | null;
  readonly createdAt: string;
  readonly activatedAt: string | null;
  readonly offeredAt: string | null;
  readonly offeredConnection: string | null;
  /** The content hash last offered carrying this credential (migration 0170). */
  readonly offeredHash: Buffer | null;
  readonly retireAt: string | null;
  readonly revokedAt: string | null;
  readonly revokeReason: string | null;
}

export type EnrollmentOutcome = 'known' | 'enrolled' | 're_enrolled' | 'exhausted';

/** A directory entry for a credential (what gateways accept). */
export interface CredentialDirectoryEntry {
  digest: string;
  tenantId: string;
  tokenId: string;
  /** 'agent': an agent's own credential (digest: base64 SHA-256 of its secret); 'certificate': a client certificate (digest: hex SHA-256 of its DER). */
  kind: 'agent' | 'certificate';
  uidHex: string;
  active: boolean;
}

export function directoryEntry(c: AgentCredentialRecord): CredentialDirectoryEntry {
  return { digest: c.secretHash.toString('base64'), tenantId: c.tenantId, tokenId: c.id, kind: 'agent', uidHex: c.instanceUid.toString('hex'), active: c.state === 'active' };
}

function fromRow(r: Record<string, unknown>): AgentCredentialRecord {
  const iso = (v: unknown) => (v === null || v === undefined ? null : toIso(v));
  return {
    id: String(r['id']),
    tenantId: String(r['tenant_id']),
    instanceUid: toBuffer(r['instance_uid']) as Buffer,
    secretHash: toBuffer(r['secret_hash']) as Buffer,
    state: String(r['state']) as CredentialState,
    enrollmentTokenId: r['enrollment_token_id'] ? String(r['enrollment_token_id']) : null,
    createdAt: toIso(r['created_at']),
    activatedAt: iso(r['activated_at']),
    offeredAt: iso(r['offered_at']),
    offeredConnection: r['offered_connection'] ? String(r['offered_connection']) : null,
    offeredHash: toBuffer(r['offered_hash']),
    retireAt: iso(r['retire_at']),
    revokedAt: iso(r['revoked_at']),
    revokeReason: r['revoke_reason'] ? String(r['revoke_reason']) : null,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export class AgentCredentialRepository {
  constructor(
    readonly db: SqlDatabase,
    /** The server's credential key (secrets are derived from it); null: no credentials are issued. */
    private readonly key: Buffer | null,
  ) {}

  get issuing(): boolean {
    return this.key !== null;
  }

  secretOf(c: Pick<AgentCredentialRecord, 'tenantId' | 'id'>): string {
    if (!this.key) throw new Error('no credential key configured');
    return deriveAgentSecret(this.key, c.tenantId, c.id);
  }

  /**
   * Records that `tokenId` brought the agent in. The first time counts a use
   * of the token, refused (`exhausted`) beyond its limit; after a revocation
   * (no credential of its own left alive) it is a new enrollment again.
   * Tokens that are not the API's (static gateway tokens) count nothing.
   */
  async enroll(tx: SqlExecutor, tenantId: string, uid: Buffer, tokenId: string): Promise<EnrollmentOutcome> {
    const known = await tx.query(`SELECT enrollment_token_id FROM agent_enrollments WHERE tenant_id = $1 AND instance_uid = $2 FOR UPDATE`, [tenantId, uid]);
    let again = false;
    if (known.rows.length > 0) {
      const alive = await tx.query(
        `SELECT 1 FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 AND state IN ('offered', 'active') LIMIT 1`,
        [tenantId, uid],
      );
      const revoked = await tx.query(`SELECT 1 FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 AND state = 'revoked' LIMIT 1`, [tenantId, uid]);
      if (alive.rows.length > 0 || revoked.rows.length === 0) return 'known';
      again = true;
    }
    const apiToken = UUID.test(tokenId) ? tokenId : null;
    if (apiToken) {
      const { rows } = await tx.query(`SELECT max_uses, uses FROM api_tokens WHERE id = $1 AND tenant_id = $2 FOR UPDATE`, [apiToken, tenantId]);
      const max = rows[0]?.['max_uses'];
      if (rows.length > 0 && max !== null && max !== undefined && Number(rows[0]['uses']) >= Number(max)) return 'exhausted';
      if (rows.length > 0) await tx.query(`UPDATE api_tokens SET uses = uses + 1 WHERE id = $1`, [apiToken]);
    }
    const tokenRef = apiToken ? `(SELECT id FROM api_tokens WHERE id = $3::uuid)` : 'NULL';
    await tx.query(
      `INSERT INTO agent_enrollments (tenant_id, instance_uid, enrollment_token_id) VALUES ($1, $2, ${tokenRef})
       ON CONFLICT (tenant_id, instance_uid) DO UPDATE
         SET enrollment_token_id = EXCLUDED.enrollment_token_id, enrolled_at = now(), enrollments = agent_enrollments.enrollments + 1`,
      apiToken ? [tenantId, uid, apiToken] : [tenantId, uid],
    );
    return again ? 're_enrolled' : 'enrolled';
  }

  /** The agents' credentials that are still alive (offered or active), by uid hex. */
  async liveOf(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, AgentCredentialRecord[]>> {
    const out = new Map<string, AgentCredentialRecord[]>();
    if (uids.length === 0) return out;
    const { rows } = await this.db.query(
      `SELECT * FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND state IN ('offered', 'active') ORDER BY created_at`,
      [tenantId, uids],
    );
    for (const r of rows) {
      const c = fromRow(r);
      const key = c.instanceUid.toString('hex');
      out.set(key, [...(out.get(key) ?? []), c]);
    }
    return out;
  }

  async listOf(tenantId: string, uid: Buffer): Promise<AgentCredentialRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $2 ORDER BY created_at DESC`, [tenantId, uid]);
    return rows.map(fromRow);
  }

  /** Every credential gateways must accept (offered and active), for the start-up sync of the directory. */
  async listAccepted(): Promise<AgentCredentialRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM agent_credentials WHERE state IN ('offered', 'active')`);
    return rows.map(fromRow);
  }

  /** A new credential on offer for the agent (none may be on offer already: the unique index says so). */
  async createOffered(tx: SqlExecutor, tenantId: string, uid: Buffer, enrollmentTokenId: string | null): Promise<AgentCredentialRecord> {
    const id = randomUUID();
    const hash = secretHash(this.secretOf({ tenantId, id }));
    const token = enrollmentTokenId && UUID.test(enrollmentTokenId) ? enrollmentTokenId : null;
    const { rows } = await tx.query(
      `INSERT INTO agent_credentials (id, tenant_id, instance_uid, secret_hash, state, enrollment_token_id)
       VALUES ($1, $2, $3, $4, 'offered', ${token ? '(SELECT id FROM api_tokens WHERE id = $5::uuid)' : 'NULL'})
       RETURNING *`,
      token ? [id, tenantId, uid, hash, token] : [id, tenantId, uid, hash],
    );
    return fromRow(rows[0]);
  }

  async markOffered(tenantId: string, id: string, connection: string, hash: Buffer): Promise<void> {
    await this.db.query(`UPDATE agent_credentials SET offered_at = now(), offered_connection = $3, offered_hash = $4 WHERE tenant_id = $1 AND id = $2`, [tenantId, id, connection, hash]);
  }

  /**
   * The agent was seen with its offered credential: it becomes the active one
   * and the one it replaces is superseded (refused from now on). Returns both,
   * or null when it was no longer on offer (revoked meanwhile, or done already).
   */
  async activate(tx: SqlExecutor, tenantId: string, uid: Buffer, id: string): Promise<{ active: AgentCredentialRecord; superseded: AgentCredentialRecord[] } | null> {
    const old = await tx.query(
      `UPDATE agent_credentials SET state = 'superseded', retire_at = NULL
        WHERE tenant_id = $1 AND instance_uid = $2 AND state = 'active' AND id <> $3
          AND EXISTS (SELECT 1 FROM agent_credentials WHERE id = $3 AND state = 'offered')
        RETURNING *`,
      [tenantId, uid, id],
    );
    const { rows } = await tx.query(
      `UPDATE agent_credentials SET state = 'active', activated_at = now() WHERE tenant_id = $1 AND instance_uid = $2 AND id = $3 AND state = 'offered' RETURNING *`,
      [tenantId, uid, id],
    );
    if (rows.length === 0) return null;
    return { active: fromRow(rows[0]), superseded: old.rows.map(fromRow) };
  }

  /**
   * Revokes the live credentials (offered and active) of these agents, or of
   * every agent an enrollment token brought in. Returns what was revoked.
   */
  async revoke(tx: SqlExecutor, tenantId: string, scope: { uids: readonly Buffer[] } | { enrollmentTokenId: string }, reason: string): Promise<AgentCredentialRecord[]> {
    const where =
      'uids' in scope
        ? 'instance_uid = ANY($3::bytea[])'
        : `instance_uid IN (SELECT instance_uid FROM agent_enrollments WHERE tenant_id = $1 AND enrollment_token_id = $3::uuid)
           OR enrollment_token_id = $3::uuid`;
    const { rows } = await tx.query(
      `UPDATE agent_credentials SET state = 'revoked', revoked_at = now(), revoke_reason = $2
        WHERE tenant_id = $1 AND state IN ('offered', 'active') AND (${where})
        RETURNING *`,
      [tenantId, reason, 'uids' in scope ? scope.uids : scope.enrollmentTokenId],
    );
    return rows.map(fromRow);
  }

  /**
   * Starts a rotation for these agents: a new credential on offer for each
   * that has an active one and none on offer yet; the active one stays
   * accepted until the agent switches or `graceHours` pass.
   */
  async rotate(tx: SqlExecutor, tenantId: string, uids: readonly Buffer[], graceHours: number): Promise<AgentCredentialRecord[]> {
    if (uids.length === 0) return [];
    const { rows } = await tx.query(
      `UPDATE agent_credentials a SET retire_at = now() + make_interval(hours => $3::int)
        WHERE a.tenant_id = $1 AND a.instance_uid = ANY($2::bytea[]) AND a.state = 'active'
          AND NOT EXISTS (SELECT 1 FROM agent_credentials o WHERE o.tenant_id = a.tenant_id AND o.instance_uid = a.instance_uid AND o.state = 'offered')
        RETURNING a.instance_uid, a.enrollment_token_id`,
      [tenantId, uids, graceHours],
    );
    const created: AgentCredentialRecord[] = [];
    for (const r of rows) {
      created.push(await this.createOffered(tx, tenantId, toBuffer(r['instance_uid']) as Buffer, r['enrollment_token_id'] ? String(r['enrollment_token_id']) : null));
    }
    return created;
  }

  /**
   * The server gave the agent a new instance_uid (RequestInstanceUid, a
   * duplicate): its enrollment and live credentials follow it. Returns the
   * credentials moved (their directory entries name the new uid).
   */
  async moveAgent(tx: SqlExecutor, tenantId: string, from: Buffer, to: Buffer): Promise<AgentCredentialRecord[]> {
    await tx.query(
      `UPDATE agent_enrollments SET instance_uid = $3 WHERE tenant_id = $1 AND instance_uid = $2
         AND NOT EXISTS (SELECT 1 FROM agent_enrollments WHERE tenant_id = $1 AND instance_uid = $3)`,
      [tenantId, from, to],
    );
    const { rows } = await tx.query(
      `UPDATE agent_credentials SET instance_uid = $3 WHERE tenant_id = $1 AND instance_uid = $2 AND state IN ('offered', 'active')
         AND NOT EXISTS (SELECT 1 FROM agent_credentials WHERE tenant_id = $1 AND instance_uid = $3 AND state IN ('offered', 'active'))
       RETURNING *`,
      [tenantId, from, to],
    );
    return rows.map(fromRow);
  }

  /** Active credentials whose rotation deadline passed: expired (refused from now on). */
  async expireDue(tx: SqlExecutor, limit = 1000): Promise<AgentCredentialRecord[]> {
    const { rows } = await tx.query(
      `UPDATE agent_credentials SET state = 'expired'
        WHERE id IN (SELECT id FROM agent_credentials WHERE state = 'active' AND retire_at IS NOT NULL AND retire_at <= now() ORDER BY retire_at LIMIT $1)
        RETURNING *`,
      [limit],
    );
    return rows.map(fromRow);
  }

  /** Agents of a tenant whose rotation they have not followed yet (an active credential with a deadline). */
  async pendingSwitches(tenantId: string, limit: number): Promise<AgentCredentialRecord[]> {
    const { rows } = await this.db.query(
      `SELECT * FROM agent_credentials WHERE tenant_id = $1 AND state = 'active' AND retire_at IS NOT NULL ORDER BY retire_at, instance_uid LIMIT $2`,
      [tenantId, limit],
    );
    return rows.map(fromRow);
  }
}
