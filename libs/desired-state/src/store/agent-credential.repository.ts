/**
 * PostgreSQL access for agents' identity (migration 0160): which enrollment
 * token brought an agent in (and its use count), and each agent's own
 * credentials with their life cycle: offered -> active -> superseded, or
 * revoked, or expired when a rotation's deadline passed. Only SHA-256 of a
 * secret is stored (core/agent-credential.ts derives the secret).
 */
import { randomUUID } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import { admitEnrollments, deriveAgentSecret, enrollmentNeed, secretHash, type EnrollmentRow, type TokenUse } from '../core';
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
  /** An offer of it still to be sent (migration 0180); null: none due. */
  readonly offerDueAt: string | null;
  /** The agent reported FAILED for offers of it: how often, when last, its message. */
  readonly offerFailures: number;
  readonly offerFailedAt: string | null;
  readonly offerError: string | null;
}

export type EnrollmentOutcome = 'known' | 'enrolled' | 're_enrolled' | 'exhausted';

/** An agent of a batch that came in on a token (an enrollment token's id, or a static token's). */
export interface EnrollmentRequest {
  readonly uid: Buffer;
  readonly tokenId: string;
}

/** A credential to issue: for this agent, brought in by this token (null: a static one). */
export interface IssueRequest {
  readonly uid: Buffer;
  readonly enrollmentTokenId: string | null;
}

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
    offerDueAt: iso(r['offer_due_at']),
    offerFailures: Number(r['offer_failures'] ?? 0),
    offerFailedAt: iso(r['offer_failed_at']),
    offerError: r['offer_error'] ? String(r['offer_error']) : null,
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
   * Records which token brought each agent in, for a whole batch in a few
   * statements. The first time counts a use of the token, refused
   * (`exhausted`) beyond its limit; after a revocation (no credential of its
   * own left alive) it is a new enrollment again; tokens that are not the
   * API's (static gateway tokens) count nothing. The agents' enrollment
   * rows and then their tokens are locked (in key order, so that replicas
   * enrolling with the same token wait for each other instead of deadlocking),
   * so a token's use limit holds exactly across replicas; uses are counted and
   * enrollments written with one multi-row statement each. Agents must be
   * distinct. Returns each agent's outcome by uid hex.
   */
  async enrollMany(tx: SqlExecutor, tenantId: string, agents: readonly EnrollmentRequest[]): Promise<Map<string, EnrollmentOutcome>> {
    const out = new Map<string, EnrollmentOutcome>();
    if (agents.length === 0) return out;
    const { rows: found } = await tx.query(
      `SELECT e.instance_uid,
              EXISTS (SELECT 1 FROM agent_credentials c WHERE c.tenant_id = e.tenant_id AND c.instance_uid = e.instance_uid AND c.state IN ('offered', 'active')) AS alive,
              EXISTS (SELECT 1 FROM agent_credentials c WHERE c.tenant_id = e.tenant_id AND c.instance_uid = e.instance_uid AND c.state = 'revoked') AS revoked
         FROM agent_enrollments e WHERE e.tenant_id = $1 AND e.instance_uid = ANY($2::bytea[])
        ORDER BY e.instance_uid FOR UPDATE OF e`,
      [tenantId, agents.map((a) => a.uid)],
    );
    const rows = new Map<string, EnrollmentRow>(found.map((r) => [(toBuffer(r['instance_uid']) as Buffer).toString('hex'), { alive: r['alive'] === true, revoked: r['revoked'] === true }]));
    const candidates: Array<{ key: string; tokenId: string | null; agent: EnrollmentRequest; again: boolean }> = [];
    for (const a of agents) {
      const key = a.uid.toString('hex');
      const need = enrollmentNeed(rows.get(key));
      if (need === 'known') out.set(key, 'known');
      else candidates.push({ key, tokenId: UUID.test(a.tokenId) ? a.tokenId.toLowerCase() : null, agent: a, again: need === 're_enrolled' });
    }
    if (candidates.length === 0) return out;
    const tokenIds = [...new Set(candidates.map((c) => c.tokenId).filter((t): t is string => t !== null))];
    const tokens = new Map<string, TokenUse>();
    if (tokenIds.length > 0) {
      const { rows: locked } = await tx.query(`SELECT id, max_uses, uses FROM api_tokens WHERE tenant_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE`, [tenantId, tokenIds]);
      for (const r of locked) {
        const max = r['max_uses'];
        tokens.set(String(r['id']).toLowerCase(), { maxUses: max === null || max === undefined ? null : Number(max), uses: Number(r['uses']) });
      }
    }
    const { admitted, uses } = admitEnrollments(candidates, tokens);
    if (uses.size > 0) {
      await tx.query(`UPDATE api_tokens t SET uses = t.uses + u.n FROM unnest($1::uuid[], $2::int[]) AS u(id, n) WHERE t.id = u.id`, [[...uses.keys()], [...uses.values()]]);
    }
    const enrolled = candidates.filter((c) => admitted.has(c.key));
    if (enrolled.length > 0) {
      await tx.query(
        `INSERT INTO agent_enrollments (tenant_id, instance_uid, enrollment_token_id)
         SELECT $1, u.uid, t.id FROM unnest($2::bytea[], $3::uuid[]) AS u(uid, token) LEFT JOIN api_tokens t ON t.id = u.token
         ON CONFLICT (tenant_id, instance_uid) DO UPDATE
           SET enrollment_token_id = EXCLUDED.enrollment_token_id, enrolled_at = now(), enrollments = agent_enrollments.enrollments + 1`,
        [tenantId, enrolled.map((c) => c.agent.uid), enrolled.map((c) => (tokens.has(c.tokenId ?? '') ? c.tokenId : null))],
      );
    }
    for (const c of candidates) out.set(c.key, !admitted.has(c.key) ? 'exhausted' : c.again ? 're_enrolled' : 'enrolled');
    return out;
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

  /**
   * New credentials on offer, one multi-row INSERT. An agent that has one on
   * offer already (another replica issued it meanwhile) is skipped: only what
   * was created is returned.
   */
  async createOfferedMany(tx: SqlExecutor, tenantId: string, agents: readonly IssueRequest[], options: { due?: boolean } = {}): Promise<AgentCredentialRecord[]> {
    if (agents.length === 0) return [];
    const ids = agents.map(() => randomUUID());
    const { rows } = await tx.query(
      `INSERT INTO agent_credentials (id, tenant_id, instance_uid, secret_hash, state, enrollment_token_id, offer_due_at)
       SELECT u.id, $1, u.uid, u.hash, 'offered', t.id, CASE WHEN $6::boolean THEN now() END
         FROM unnest($2::uuid[], $3::bytea[], $4::bytea[], $5::uuid[]) AS u(id, uid, hash, token) LEFT JOIN api_tokens t ON t.id = u.token
       ON CONFLICT DO NOTHING
       RETURNING *`,
      [
        tenantId,
        ids,
        agents.map((a) => a.uid),
        ids.map((id) => secretHash(this.secretOf({ tenantId, id }))),
        agents.map((a) => (a.enrollmentTokenId && UUID.test(a.enrollmentTokenId) ? a.enrollmentTokenId : null)),
        options.due === true,
      ],
    );
    return rows.map(fromRow);
  }

  /** Offers that went out (where and with which content hash), one UPDATE for the batch. */
  async markOfferedMany(tenantId: string, offers: ReadonlyArray<{ id: string; connection: string; hash: Buffer }>): Promise<void> {
    if (offers.length === 0) return;
    await this.db.query(
      `UPDATE agent_credentials c SET offered_at = now(), offered_connection = u.connection, offered_hash = u.hash
         FROM unnest($2::uuid[], $3::text[], $4::bytea[]) AS u(id, connection, hash)
        WHERE c.tenant_id = $1 AND c.id = u.id`,
      [tenantId, offers.map((o) => o.id), offers.map((o) => o.connection), offers.map((o) => o.hash)],
    );
  }

  /**
   * The agents were seen with their offered credentials: each becomes the
   * active one and the one it replaces is superseded (refused from now on).
   * Returns both per agent; an agent whose credential was no longer on offer
   * (revoked meanwhile, or done already) is absent. Two statements whatever
   * the batch's size: the old active ones are superseded first (one active
   * credential per agent, and a unique index checks each row as it is written).
   */
  async activateMany(tx: SqlExecutor, tenantId: string, agents: ReadonlyArray<{ uid: Buffer; id: string }>): Promise<Map<string, { active: AgentCredentialRecord; superseded: AgentCredentialRecord[] }>> {
    const out = new Map<string, { active: AgentCredentialRecord; superseded: AgentCredentialRecord[] }>();
    if (agents.length === 0) return out;
    const params = [tenantId, agents.map((a) => a.uid), agents.map((a) => a.id)];
    const old = await tx.query(
      `UPDATE agent_credentials a SET state = 'superseded', retire_at = NULL
         FROM unnest($2::bytea[], $3::uuid[]) AS u(uid, id)
        WHERE a.tenant_id = $1 AND a.instance_uid = u.uid AND a.state = 'active' AND a.id <> u.id
          AND EXISTS (SELECT 1 FROM agent_credentials o WHERE o.tenant_id = $1 AND o.instance_uid = u.uid AND o.id = u.id AND o.state = 'offered')
        RETURNING a.*`,
      params,
    );
    const { rows } = await tx.query(
      `UPDATE agent_credentials a SET state = 'active', activated_at = now()
         FROM unnest($2::bytea[], $3::uuid[]) AS u(uid, id)
        WHERE a.tenant_id = $1 AND a.instance_uid = u.uid AND a.id = u.id AND a.state = 'offered'
        RETURNING a.*`,
      params,
    );
    for (const r of rows) {
      const active = fromRow(r);
      out.set(active.instanceUid.toString('hex'), { active, superseded: [] });
    }
    for (const r of old.rows) {
      const c = fromRow(r);
      out.get(c.instanceUid.toString('hex'))?.superseded.push(c);
    }
    return out;
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
   * that has an active one and none on offer yet, its offer due; the active
   * one stays accepted until the agent switches or `graceHours` pass. A
   * credential on offer that the agent reported FAILED is replaced (returned
   * as `replaced`: gateways drop it) by a fresh one.
   */
  async rotate(tx: SqlExecutor, tenantId: string, uids: readonly Buffer[], graceHours: number): Promise<{ created: AgentCredentialRecord[]; replaced: AgentCredentialRecord[] }> {
    if (uids.length === 0) return { created: [], replaced: [] };
    const replaced = await tx.query(
      `UPDATE agent_credentials o SET state = 'superseded', offer_due_at = NULL, offer_claim = NULL
        WHERE o.tenant_id = $1 AND o.instance_uid = ANY($2::bytea[]) AND o.state = 'offered' AND o.offer_failed_at IS NOT NULL
          -- Only where the rotation issues the fresh one (an agent with an active credential).
          AND EXISTS (SELECT 1 FROM agent_credentials a WHERE a.tenant_id = o.tenant_id AND a.instance_uid = o.instance_uid AND a.state = 'active')
        RETURNING o.*`,
      [tenantId, uids],
    );
    const { rows } = await tx.query(
      `UPDATE agent_credentials a SET retire_at = now() + make_interval(hours => $3::int)
        WHERE a.tenant_id = $1 AND a.instance_uid = ANY($2::bytea[]) AND a.state = 'active'
          AND NOT EXISTS (SELECT 1 FROM agent_credentials o WHERE o.tenant_id = a.tenant_id AND o.instance_uid = a.instance_uid AND o.state = 'offered')
        RETURNING a.instance_uid, a.enrollment_token_id`,
      [tenantId, uids, graceHours],
    );
    // Their offers are due: the offer queue (claimDueOffers) sends them, whichever replica is up.
    const created = await this.createOfferedMany(
      tx,
      tenantId,
      rows.map((r) => ({ uid: toBuffer(r['instance_uid']) as Buffer, enrollmentTokenId: r['enrollment_token_id'] ? String(r['enrollment_token_id']) : null })),
      { due: true },
    );
    return { created, replaced: replaced.rows.map(fromRow) };
  }

  /**
   * The agents reported FAILED for the last offer of these credentials: each
   * failure is counted once per offer (an offer sent after the last failure
   * recorded), with the agent's message. Returns the credentials counted.
   */
  async recordOfferFailures(tenantId: string, ids: readonly string[]): Promise<AgentCredentialRecord[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.db.query(
      `UPDATE agent_credentials c SET offer_failures = c.offer_failures + 1, offer_failed_at = now(), offer_due_at = NULL, offer_claim = NULL,
              offer_error = (SELECT a.connection_settings_error FROM agents a WHERE a.tenant_id = c.tenant_id AND a.instance_uid = c.instance_uid)
        WHERE c.tenant_id = $1 AND c.id = ANY($2::uuid[]) AND c.state IN ('offered', 'active') AND c.offered_at IS NOT NULL
          AND (c.offer_failed_at IS NULL OR c.offer_failed_at < c.offered_at)
        RETURNING c.*`,
      [tenantId, ids],
    );
    return rows.map(fromRow);
  }

  /**
   * Retries of failed offers: each credential still on offer is superseded
   * by a fresh one (a new secret, so an offer the agent has not failed yet)
   * that carries its failure count on (the retry limit spans them). Returns
   * both: gateways drop the old, accept the new.
   */
  async reissueOffered(tx: SqlExecutor, tenantId: string, ids: readonly string[]): Promise<{ replaced: AgentCredentialRecord[]; created: AgentCredentialRecord[] }> {
    if (ids.length === 0) return { replaced: [], created: [] };
    const { rows } = await tx.query(
      `UPDATE agent_credentials SET state = 'superseded', offer_due_at = NULL, offer_claim = NULL
        WHERE tenant_id = $1 AND id = ANY($2::uuid[]) AND state = 'offered' RETURNING *`,
      [tenantId, ids],
    );
    const replaced = rows.map(fromRow);
    const created = await this.createOfferedMany(tx, tenantId, replaced.map((c) => ({ uid: c.instanceUid, enrollmentTokenId: c.enrollmentTokenId })));
    const old = new Map(replaced.map((c) => [c.instanceUid.toString('hex'), c]));
    const carried = created.map((c) => ({ c, from: old.get(c.instanceUid.toString('hex')) as AgentCredentialRecord }));
    if (carried.length > 0) {
      const { rows: updated } = await tx.query(
        `UPDATE agent_credentials c SET offer_failures = u.failures, offer_failed_at = u.failed_at, offer_error = u.error
           FROM unnest($2::uuid[], $3::int[], $4::timestamptz[], $5::text[]) AS u(id, failures, failed_at, error)
          WHERE c.tenant_id = $1 AND c.id = u.id RETURNING c.*`,
        [tenantId, carried.map((x) => x.c.id), carried.map((x) => x.from.offerFailures), carried.map((x) => x.from.offerFailedAt), carried.map((x) => x.from.offerError)],
      );
      return { replaced, created: updated.map(fromRow) };
    }
    return { replaced, created };
  }

  /** When these credentials' offers are due again (a retry after a failure); null: none. */
  async scheduleOffers(tenantId: string, due: ReadonlyArray<{ id: string; atMs: number | null }>): Promise<void> {
    if (due.length === 0) return;
    await this.db.query(
      `UPDATE agent_credentials c SET offer_due_at = u.at, offer_claim = NULL
         FROM unnest($2::uuid[], $3::timestamptz[]) AS u(id, at)
        WHERE c.tenant_id = $1 AND c.id = u.id`,
      [tenantId, due.map((d) => d.id), due.map((d) => (d.atMs === null ? null : new Date(d.atMs).toISOString()))],
    );
  }

  /**
   * Takes a page of due offers of connected agents for one pass: their due
   * time moves to the end of the lease and the pass's claim is written, so
   * other replicas skip them, and a pass that never finishes (its replica
   * stopped) leaves them due again when the lease ends.
   */
  async claimDueOffers(claim: string, limit: number, leaseMs: number): Promise<Array<{ tenantId: string; instanceUid: Buffer }>> {
    const { rows } = await this.db.query(
      `UPDATE agent_credentials c SET offer_due_at = now() + $3::int * interval '1 millisecond', offer_claim = $1
        WHERE c.id IN (
          SELECT d.id FROM agent_credentials d JOIN agents a ON a.tenant_id = d.tenant_id AND a.instance_uid = d.instance_uid
           WHERE d.offer_due_at <= now() AND d.state IN ('offered', 'active') AND a.connected AND a.credential_id IS NOT NULL
           ORDER BY d.offer_due_at LIMIT $2 FOR UPDATE OF d SKIP LOCKED)
        RETURNING c.tenant_id, c.instance_uid`,
      [claim, limit, leaseMs],
    );
    return rows.map((r) => ({ tenantId: String(r['tenant_id']), instanceUid: toBuffer(r['instance_uid']) as Buffer }));
  }

  /** The pass decided (and sent) its offers: nothing is due for them any more, unless something made them due again meanwhile. */
  async finishDueOffers(claim: string): Promise<void> {
    await this.db.query(`UPDATE agent_credentials SET offer_due_at = NULL, offer_claim = NULL WHERE offer_claim = $1`, [claim]);
  }

  /**
   * Marks the offers of the connected agents a condition on `agents a` selects
   * due now (a connection profile change), in the caller's transaction.
   */
  async markDue(tx: SqlExecutor, tenantId: string, agentCondition: { sql: string; params: unknown[] }): Promise<number> {
    const { rows } = await tx.query(
      `UPDATE agent_credentials c SET offer_due_at = now(), offer_claim = NULL
         FROM agents a
        WHERE c.tenant_id = $1 AND a.tenant_id = c.tenant_id AND a.instance_uid = c.instance_uid AND c.state IN ('offered', 'active')
          AND a.connected AND (${agentCondition.sql})
        RETURNING c.id`,
      [tenantId, ...agentCondition.params],
    );
    return rows.length;
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

  /**
   * Agents of a tenant whose rotation they have not followed yet (an active
   * credential with a deadline), each with the credential on offer for it.
   */
  async pendingSwitches(tenantId: string, limit: number): Promise<Array<{ credential: AgentCredentialRecord; successor: AgentCredentialRecord | null }>> {
    const { rows } = await this.db.query(
      `SELECT c.*, to_jsonb(o) AS successor FROM agent_credentials c
         LEFT JOIN agent_credentials o ON o.tenant_id = c.tenant_id AND o.instance_uid = c.instance_uid AND o.state = 'offered'
        WHERE c.tenant_id = $1 AND c.state = 'active' AND c.retire_at IS NOT NULL ORDER BY c.retire_at, c.instance_uid LIMIT $2`,
      // to_jsonb gives bytea as '\\x' hex text, which fromRow reads.
      [tenantId, limit],
    );
    return rows.map((r) => ({ credential: fromRow(r), successor: r['successor'] ? fromRow((typeof r['successor'] === 'string' ? JSON.parse(r['successor']) : r['successor']) as Record<string, unknown>) : null }));
  }

  /** The agents' switches by where they stand (AgentCredentialsStatus); agents without a live credential are not counted. */
  async switchCounts(tenantId: string, uids: readonly Buffer[]): Promise<{ agents: number; pending: number; offered: number; failed: number; switched: number }> {
    const { rows } = await this.db.query(
      `SELECT count(*) FILTER (WHERE o.id IS NOT NULL OR a.id IS NOT NULL) AS agents,
              count(*) FILTER (WHERE o.id IS NOT NULL AND o.offered_at IS NULL) AS pending,
              count(*) FILTER (WHERE o.offered_at IS NOT NULL AND NOT (o.offer_failed_at IS NOT NULL AND o.offer_failed_at >= o.offered_at)) AS offered,
              count(*) FILTER (WHERE o.offered_at IS NOT NULL AND o.offer_failed_at >= o.offered_at) AS failed,
              count(*) FILTER (WHERE o.id IS NULL AND a.id IS NOT NULL) AS switched
         FROM unnest($2::bytea[]) AS u(uid)
         LEFT JOIN agent_credentials o ON o.tenant_id = $1 AND o.instance_uid = u.uid AND o.state = 'offered'
         LEFT JOIN agent_credentials a ON a.tenant_id = $1 AND a.instance_uid = u.uid AND a.state = 'active'`,
      [tenantId, uids],
    );
    const n = (k: string) => Number(rows[0]?.[k] ?? 0);
    return { agents: n('agents'), pending: n('pending'), offered: n('offered'), failed: n('failed'), switched: n('switched') };
  }
}
