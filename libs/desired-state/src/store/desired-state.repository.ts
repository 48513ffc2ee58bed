/**
 * PostgreSQL access for desired state (migrations 0100+), over the SqlDatabase
 * port so the embedded PGlite mode can plug in. Every desired-state change is
 * written in one transaction with its audit record and a bump of the tenant's
 * revision (which tells every replica's reconciler to reload).
 */
import { createHash, randomBytes } from 'node:crypto';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import {
  newVersion,
  orderAssignments,
  parseSelector,
  type Assignment,
  type ConfigFiles,
  type ConfigFormat,
  type ConfigurationVersion,
  type RolloutPin,
} from '../core';

export function toBuffer(v: unknown): Buffer | null {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  if (typeof v === 'string' && v.startsWith('\\x')) return Buffer.from(v.slice(2), 'hex');
  return null;
}

function hex(v: unknown): string {
  return toBuffer(v)?.toString('hex') ?? '';
}

export function toNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'string') return Number(v);
  return 0;
}

export function toIso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'string') return new Date(v).toISOString();
  return '';
}

export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

export interface AuditEntry {
  tenantId: string;
  actor: string;
  action: string;
  resourceType: string;
  resourceName: string;
  beforeHash?: Buffer | null;
  afterHash?: Buffer | null;
  details?: Record<string, unknown>;
}

export interface TenantSnapshot {
  readonly tenantId: string;
  readonly revision: number;
  /** When the revision was made (the latest desired-state change; 0 before migration 0310's first bump). */
  readonly changedAtMs: number;
  /** Ordered (highest priority first, ties by name). */
  readonly assignments: readonly Assignment[];
  /** The version each assignment resolves to, and the target version of each rollout holding an assignment, by `name@version`. */
  readonly versions: ReadonlyMap<string, ConfigurationVersion>;
  /** Latest version number by configuration name. */
  readonly latest: ReadonlyMap<string, number>;
}

/** The configuration version an assignment stands for right now (pinned, else latest). */
export function assignedVersion(snapshot: TenantSnapshot, a: Assignment): ConfigurationVersion | null {
  const version = a.pinnedVersion ?? snapshot.latest.get(a.configurationName);
  return version === undefined ? null : (snapshot.versions.get(versionKey(a.configurationName, version)) ?? null);
}

export function versionKey(name: string, version: number): string {
  return `${name}@${version}`;
}

/** An agents-table row with what reconciliation and the API need. */
export interface AgentRow {
  tenantId: string;
  instanceUid: Buffer;
  capabilities: number;
  labels: Record<string, string>;
  identifyingAttributes: Record<string, unknown>;
  nonIdentifyingAttributes: Record<string, unknown>;
  healthy: boolean | null;
  remoteConfigHash: Buffer | null;
  remoteConfigStatus: number;
  remoteConfigError: string | null;
  connected: boolean;
  gatewayId: string | null;
  connectionId: string | null;
  epoch: number;
  transport: number;
  availableComponentsHash: Buffer | null;
  customCapabilities: string[];
  lastSeenAt: string;
  updatedAt: string;
  /** Start of the current connection ('' when disconnected or unknown). */
  connectedSince: string;
  effectiveConfigHash: Buffer | null;
  // agent_config_state
  configurationName: string | null;
  configurationVersion: number | null;
  desiredHash: Buffer | null;
  notSentReason: string | null;
  lastSentHash: Buffer | null;
}

export const AGENT_COLUMNS = `a.tenant_id, a.instance_uid, a.capabilities, a.labels, a.identifying_attributes, a.non_identifying_attributes,
  a.healthy, a.remote_config_hash, a.remote_config_status, a.remote_config_error, a.connected, a.gateway_id, a.connection_id,
  a.epoch, a.transport, a.available_components_hash, a.custom_capabilities, a.last_seen_at, a.updated_at, a.connected_since, a.effective_config_hash,
  s.configuration_name, s.configuration_version, s.desired_hash, s.not_sent_reason, s.last_sent_hash`;

/**
 * For an INSERT ... SELECT of per-agent rows (tenant in $1, the agent's uid in `uid`): keeps
 * the rows whose agent exists, locking each agent row (KEY SHARE) until the write commits. A
 * DeleteAgent or retention sweep that has the row locked is waited for, and then its agent is
 * skipped. Without it a decision made before a racing delete would insert the agent's rows
 * (agent_config_state, rollout_agents) again after it.
 */
export function existingAgentsOnly(uid: string): string {
  // In uid order (a locking clause applies after ORDER BY): two writers of overlapping agents (an
  // event batch, a re-evaluation page, a rollout batch) lock and insert their rows in the same order.
  return `JOIN agents ag ON ag.tenant_id = $1 AND ag.instance_uid = ${uid} ORDER BY ${uid} FOR KEY SHARE OF ag`;
}

const EXISTING_AGENT = existingAgentsOnly('w.uid');

export const AGENT_FROM = `agents a LEFT JOIN agent_config_state s ON s.tenant_id = a.tenant_id AND s.instance_uid = a.instance_uid`;

export function agentFromRow(r: Record<string, unknown>): AgentRow {
  return {
    tenantId: String(r['tenant_id']),
    instanceUid: toBuffer(r['instance_uid']) ?? Buffer.alloc(16),
    capabilities: toNumber(r['capabilities']),
    labels: (r['labels'] as Record<string, string>) ?? {},
    identifyingAttributes: (r['identifying_attributes'] as Record<string, unknown>) ?? {},
    nonIdentifyingAttributes: (r['non_identifying_attributes'] as Record<string, unknown>) ?? {},
    healthy: (r['healthy'] as boolean | null) ?? null,
    remoteConfigHash: toBuffer(r['remote_config_hash']),
    remoteConfigStatus: toNumber(r['remote_config_status']),
    remoteConfigError: (r['remote_config_error'] as string | null) ?? null,
    connected: r['connected'] === true,
    gatewayId: (r['gateway_id'] as string | null) ?? null,
    connectionId: (r['connection_id'] as string | null) ?? null,
    epoch: toNumber(r['epoch']),
    transport: toNumber(r['transport']),
    availableComponentsHash: toBuffer(r['available_components_hash']),
    customCapabilities: Array.isArray(r['custom_capabilities']) ? (r['custom_capabilities'] as string[]) : [],
    lastSeenAt: r['last_seen_at'] ? toIso(r['last_seen_at']) : '',
    updatedAt: r['updated_at'] ? toIso(r['updated_at']) : '',
    // connected_since is kept after a disconnect; the view shows it only while connected.
    connectedSince: r['connected'] === true && r['connected_since'] ? toIso(r['connected_since']) : '',
    effectiveConfigHash: toBuffer(r['effective_config_hash']),
    configurationName: (r['configuration_name'] as string | null) ?? null,
    configurationVersion: r['configuration_version'] == null ? null : toNumber(r['configuration_version']),
    desiredHash: toBuffer(r['desired_hash']),
    notSentReason: (r['not_sent_reason'] as string | null) ?? null,
    lastSentHash: toBuffer(r['last_sent_hash']),
  };
}

export interface AgentStateWrite {
  instanceUid: Buffer;
  configurationName: string | null;
  configurationVersion: number | null;
  desiredHash: Buffer | null;
  notSentReason: string | null;
  /** Set when a remote config was pushed now. */
  sentHash: Buffer | null;
  /** Since when the desired hash is desired (core/push-latency.ts); written only with a new desired hash. */
  desiredSinceMs: number | null;
}

/** An agent that reported its timed desired hash APPLIED (core/push-latency.ts isTimedApply). */
export interface AppliedReport {
  instanceUid: Buffer;
  hash: Buffer;
}

export interface SendClaim {
  instanceUid: Buffer;
  hash: Buffer;
  /** null: only if another hash was sent last; +Infinity: always; else: also when the last send was before this time. */
  resendAfterMs: number | null;
  /** sendConnection() of the target: recorded with the send (core/reconcile.ts awaitingStatus). */
  connection: string;
}

/** What the reconciler recorded of an agent: the decision (configuration, hash, since when) and the last send (hash, time, connection). */
export interface AgentSendState {
  lastSentHash: Buffer | null;
  desiredHash: Buffer | null;
  configurationName: string | null;
  configurationVersion: number | null;
  desiredSinceMs: number | null;
  /** The desired hash whose APPLIED the push latency counted. */
  appliedHash: Buffer | null;
  lastSentAtMs: number | null;
  lastSentConnection: string | null;
}

export interface TokenRecord {
  id: string;
  tenantId: string;
  kind: 'admin' | 'agent';
  name: string;
  createdBy: string;
  createdAt: string;
  revokedAt: string;
  /** base64 SHA-256 of the token: how gateways know it. */
  digest: string;
}

export function tokenFromRow(r: Record<string, unknown>): TokenRecord {
  return {
    id: String(r['id']),
    tenantId: String(r['tenant_id']),
    kind: r['kind'] as 'admin' | 'agent',
    name: String(r['name'] ?? ''),
    createdBy: String(r['created_by'] ?? ''),
    createdAt: toIso(r['created_at']),
    revokedAt: r['revoked_at'] ? toIso(r['revoked_at']) : '',
    digest: Buffer.from(r['token_hash'] as Uint8Array).toString('base64'),
  };
}

export function versionFromRow(tenantId: string, r: Record<string, unknown>): ConfigurationVersion {
  return newVersion(tenantId, String(r['configuration_name']), toNumber(r['version']), r['format'] as ConfigFormat, r['files'] as ConfigFiles);
}

export class DesiredStateRepository {
  constructor(readonly db: SqlDatabase) {}

  async ensureTenant(tx: SqlExecutor, tenantId: string): Promise<void> {
    await tx.query('INSERT INTO tenants (id, name) VALUES ($1, $1) ON CONFLICT (id) DO NOTHING', [tenantId]);
  }

  /** Records the change and bumps the tenant's desired-state revision (same transaction). */
  async audit(tx: SqlExecutor, e: AuditEntry, bumpRevision: boolean): Promise<void> {
    await tx.query(
      `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_name, before_hash, after_hash, details)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)`,
      [e.tenantId, e.actor, e.action, e.resourceType, e.resourceName, e.beforeHash ?? null, e.afterHash ?? null, JSON.stringify(e.details ?? {})],
    );
    if (bumpRevision) {
      await tx.query(
        `INSERT INTO desired_state_revisions (tenant_id, revision, changed_at) VALUES ($1, 1, now())
         ON CONFLICT (tenant_id) DO UPDATE SET revision = desired_state_revisions.revision + 1, changed_at = now()`,
        [e.tenantId],
      );
    }
  }

  /** Many audit entries in one statement (a batch of the identity reconciler's enrollments, issues, activations). */
  async auditMany(tx: SqlExecutor, entries: readonly AuditEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await tx.query(
      `INSERT INTO audit_log (tenant_id, actor, action, resource_type, resource_name, before_hash, after_hash, details)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bytea[], $7::bytea[], $8::jsonb[])`,
      [
        entries.map((e) => e.tenantId),
        entries.map((e) => e.actor),
        entries.map((e) => e.action),
        entries.map((e) => e.resourceType),
        entries.map((e) => e.resourceName),
        entries.map((e) => e.beforeHash ?? null),
        entries.map((e) => e.afterHash ?? null),
        entries.map((e) => JSON.stringify(e.details ?? {})),
      ],
    );
  }

  // --- tokens ---------------------------------------------------------------

  /** Creates a token; the clear text is returned once and never stored. */
  async createToken(tx: SqlExecutor, tenantId: string, kind: 'admin' | 'agent', name: string, createdBy: string): Promise<{ record: TokenRecord; token: string }> {
    await this.ensureTenant(tx, tenantId);
    const token = `opamp_${kind}_${randomBytes(32).toString('base64url')}`;
    const { rows } = await tx.query(
      `INSERT INTO api_tokens (tenant_id, kind, name, token_hash, created_by) VALUES ($1, $2, $3, $4, $5) RETURNING *`,
      [tenantId, kind, name, tokenHash(token), createdBy],
    );
    return { record: tokenFromRow(rows[0]), token };
  }

  /** Registers a token whose clear text is configured elsewhere (bootstrap admin tokens). */
  async upsertTokenHash(tenantId: string, kind: 'admin' | 'agent', name: string, token: string): Promise<void> {
    await this.db.transaction(async (tx) => {
      await this.ensureTenant(tx, tenantId);
      await tx.query(
        `INSERT INTO api_tokens (tenant_id, kind, name, token_hash, created_by) VALUES ($1, $2, $3, $4, 'bootstrap')
         ON CONFLICT (token_hash) DO NOTHING`,
        [tenantId, kind, name, tokenHash(token)],
      );
    });
  }

  async findActiveToken(token: string): Promise<TokenRecord | null> {
    const { rows } = await this.db.query(`SELECT * FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL`, [tokenHash(token)]);
    return rows.length ? tokenFromRow(rows[0]) : null;
  }

  async listTokens(tenantId: string, kind: 'admin' | 'agent'): Promise<TokenRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM api_tokens WHERE tenant_id = $1 AND kind = $2 ORDER BY created_at, id`, [tenantId, kind]);
    return rows.map(tokenFromRow);
  }

  /** Every active agent token of every tenant, for the gateways' directory. */
  async listActiveAgentTokens(): Promise<TokenRecord[]> {
    const { rows } = await this.db.query(`SELECT * FROM api_tokens WHERE kind = 'agent' AND revoked_at IS NULL ORDER BY id`);
    return rows.map(tokenFromRow);
  }

  async revokeToken(tx: SqlExecutor, tenantId: string, kind: 'admin' | 'agent', id: string): Promise<TokenRecord | null> {
    const { rows } = await tx.query(
      `UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE tenant_id = $1 AND kind = $2 AND id::text = $3 RETURNING *`,
      [tenantId, kind, id],
    );
    return rows.length ? tokenFromRow(rows[0]) : null;
  }

  // --- snapshot for the reconciler ----------------------------------------------

  /** Of `uids`, those without an agent row visible to a new statement. */
  async missingAgents(tenantId: string, uids: readonly Buffer[]): Promise<Buffer[]> {
    if (uids.length === 0) return [];
    const { rows } = await this.db.query(
      `SELECT u FROM unnest($2::bytea[]) AS u WHERE NOT EXISTS (SELECT 1 FROM agents a WHERE a.tenant_id = $1 AND a.instance_uid = u)`,
      [tenantId, uids],
    );
    return rows.map((r) => toBuffer(r['u']) ?? Buffer.alloc(16));
  }

  async revisions(tenantIds: readonly string[]): Promise<Map<string, number>> {
    const { rows } = await this.db.query<{ tenant_id: string; revision: unknown }>(
      'SELECT tenant_id, revision FROM desired_state_revisions WHERE tenant_id = ANY($1::text[])',
      [tenantIds],
    );
    return new Map(rows.map((r) => [r.tenant_id, toNumber(r.revision)]));
  }

  async loadSnapshot(tenantId: string): Promise<TenantSnapshot> {
    return this.db.transaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ');
      const rev = await tx.query<{ revision: unknown; changed_ms: unknown }>(
        'SELECT revision, extract(epoch FROM changed_at) * 1000 AS changed_ms FROM desired_state_revisions WHERE tenant_id = $1',
        [tenantId],
      );
      const { rows } = await tx.query(
        `SELECT name, configuration_name, pinned_version, selector, priority FROM assignments WHERE tenant_id = $1`,
        [tenantId],
      );
      const assignments: Assignment[] = rows.map((r) => ({
        name: String(r['name']),
        configurationName: String(r['configuration_name']),
        pinnedVersion: r['pinned_version'] == null ? null : toNumber(r['pinned_version']),
        selectorText: String(r['selector']),
        selector: parseSelector(String(r['selector'])),
        priority: toNumber(r['priority']),
      }));
      const vrows = await tx.query(
        `SELECT DISTINCT v.configuration_name, v.version, v.files, c.format
           FROM assignments a
           JOIN configurations c ON c.tenant_id = a.tenant_id AND c.name = a.configuration_name
           JOIN configuration_versions v ON v.tenant_id = a.tenant_id AND v.configuration_name = a.configuration_name
                                        AND v.version = coalesce(a.pinned_version, c.latest_version)
          WHERE a.tenant_id = $1`,
        [tenantId],
      );
      const versions = new Map<string, ConfigurationVersion>();
      for (const r of vrows.rows) {
        const v = versionFromRow(tenantId, r);
        versions.set(versionKey(v.name, v.version), v);
      }
      const rrows = await tx.query(
        `SELECT DISTINCT v.configuration_name, v.version, v.files, c.format
           FROM rollouts r
           JOIN configurations c ON c.tenant_id = r.tenant_id AND c.name = r.configuration_name
           JOIN configuration_versions v ON v.tenant_id = r.tenant_id AND v.configuration_name = r.configuration_name AND v.version = r.to_version
          WHERE r.tenant_id = $1 AND r.holds_assignment`,
        [tenantId],
      );
      for (const r of rrows.rows) {
        const v = versionFromRow(tenantId, r);
        versions.set(versionKey(v.name, v.version), v);
      }
      const latest = await tx.query(`SELECT name, latest_version FROM configurations WHERE tenant_id = $1`, [tenantId]);
      const latestByName = new Map(latest.rows.map((r) => [String(r['name']), toNumber(r['latest_version'])]));
      return {
        tenantId,
        revision: rev.rows.length ? toNumber(rev.rows[0].revision) : 0,
        changedAtMs: rev.rows.length ? Math.round(toNumber(rev.rows[0].changed_ms)) : 0,
        assignments: orderAssignments(assignments),
        versions,
        latest: latestByName,
      };
    });
  }

  /** One stored version (immutable), or null. */
  async loadVersion(tenantId: string, name: string, version: number): Promise<ConfigurationVersion | null> {
    const { rows } = await this.db.query(
      `SELECT v.configuration_name, v.version, v.files, c.format FROM configuration_versions v
         JOIN configurations c ON c.tenant_id = v.tenant_id AND c.name = v.configuration_name
        WHERE v.tenant_id = $1 AND v.configuration_name = $2 AND v.version = $3`,
      [tenantId, name, version],
    );
    return rows.length ? versionFromRow(tenantId, rows[0]) : null;
  }

  /** Rollout pins of these agents: the new version, by the rollouts that hold their assignments (migration 0110). */
  async rolloutPins(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, RolloutPin>> {
    if (uids.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT ra.instance_uid, r.assignment_name, r.configuration_name, r.to_version, extract(epoch FROM ra.moved_at) * 1000 AS moved_ms
         FROM rollout_agents ra JOIN rollouts r ON r.tenant_id = ra.tenant_id AND r.name = ra.rollout_name
        WHERE ra.tenant_id = $1 AND ra.instance_uid = ANY($2::bytea[]) AND ra.state = 'moved' AND r.holds_assignment AND r.target_kind = 'configuration'`,
      [tenantId, uids],
    );
    return new Map(
      rows.map((r) => [
        hex(r['instance_uid']),
        {
          assignmentName: String(r['assignment_name']),
          configurationName: String(r['configuration_name']),
          version: toNumber(r['to_version']),
          movedAtMs: Math.round(toNumber(r['moved_ms'])),
        },
      ]),
    );
  }

  // --- agents -----------------------------------------------------------------

  /** One keyset page of a tenant's live agents (tombstones of moved uids excluded). */
  async agentsPage(tenantId: string, after: Buffer | null, limit: number, where = 'TRUE', params: unknown[] = []): Promise<AgentRow[]> {
    const base = params.length;
    const { rows } = await this.db.query(
      `SELECT ${AGENT_COLUMNS} FROM ${AGENT_FROM}
        WHERE a.tenant_id = $${base + 1} AND a.replaced_by IS NULL AND ($${base + 2}::bytea IS NULL OR a.instance_uid > $${base + 2}::bytea)
          AND (${where})
        ORDER BY a.instance_uid LIMIT $${base + 3}`,
      [...params, tenantId, after, limit],
    );
    return rows.map(agentFromRow);
  }

  async agentStates(
    tenantId: string,
    uids: readonly Buffer[],
  ): Promise<Map<string, AgentSendState>> {
    if (uids.length === 0) return new Map();
    const { rows } = await this.db.query(
      `SELECT instance_uid, last_sent_hash, desired_hash, last_sent_at, last_sent_connection, configuration_name, configuration_version,
              extract(epoch FROM desired_since) * 1000 AS desired_since_ms, applied_hash
         FROM agent_config_state WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[])`,
      [tenantId, uids],
    );
    return new Map(
      rows.map((r) => [
        hex(r['instance_uid']),
        {
          lastSentHash: toBuffer(r['last_sent_hash']),
          desiredHash: toBuffer(r['desired_hash']),
          lastSentAtMs: r['last_sent_at'] ? new Date(toIso(r['last_sent_at'])).getTime() : null,
          lastSentConnection: (r['last_sent_connection'] as string | null) ?? null,
          configurationName: (r['configuration_name'] as string | null) ?? null,
          configurationVersion: r['configuration_version'] == null ? null : toNumber(r['configuration_version']),
          desiredSinceMs: r['desired_since_ms'] == null ? null : Math.round(toNumber(r['desired_since_ms'])),
          appliedHash: toBuffer(r['applied_hash']),
        },
      ]),
    );
  }

  /**
   * Claims pushes before they are made: a claim records the hash as sent
   * and succeeds only when the agent was last sent another hash, or (for an
   * event newer than the last send) `resendAfterMs` is after it. Concurrent
   * claims of the same push serialise on the row: one wins. Returns the
   * instance uids (hex) claimed.
   */
  async claimSends(tenantId: string, claims: readonly SendClaim[]): Promise<Set<string>> {
    if (claims.length === 0) return new Set();
    const uids = claims.map((c) => c.instanceUid);
    const hashes = claims.map((c) => c.hash);
    // 0: only another hash; 1: always; 2: another hash, or last sent before after_ms.
    const modes = claims.map((c) => (c.resendAfterMs === null ? 0 : c.resendAfterMs === Number.POSITIVE_INFINITY ? 1 : 2));
    const after = claims.map((c) => (c.resendAfterMs === null || c.resendAfterMs === Number.POSITIVE_INFINITY ? 0 : c.resendAfterMs));
    const connections = claims.map((c) => c.connection);
    const claimed = new Set<string>();
    const inserted = await this.db.query(
      `INSERT INTO agent_config_state (tenant_id, instance_uid, last_sent_hash, last_sent_at, last_sent_connection, updated_at)
       SELECT $1, w.uid, w.hash, now(), w.conn, now() FROM unnest($2::bytea[], $3::bytea[], $4::text[]) AS w(uid, hash, conn)
       ${EXISTING_AGENT}
       ON CONFLICT (tenant_id, instance_uid) DO NOTHING RETURNING instance_uid`,
      [tenantId, uids, hashes, connections],
    );
    for (const r of inserted.rows) claimed.add(hex(r['instance_uid']));
    const updated = await this.db.query(
      `UPDATE agent_config_state s SET last_sent_hash = w.hash, last_sent_at = now(), last_sent_connection = w.conn
         FROM unnest($2::bytea[], $3::bytea[], $4::int[], $5::float8[], $6::text[]) AS w(uid, hash, mode, after_ms, conn)
        WHERE s.tenant_id = $1 AND s.instance_uid = w.uid
          AND (s.last_sent_hash IS DISTINCT FROM w.hash OR w.mode = 1
               OR (w.mode = 2 AND (s.last_sent_at IS NULL OR s.last_sent_at < to_timestamp(w.after_ms / 1000.0))))
        RETURNING s.instance_uid`,
      [tenantId, uids, hashes, modes, after, connections],
    );
    for (const r of updated.rows) claimed.add(hex(r['instance_uid']));
    return claimed;
  }

  /** Gives a claim back after a failed push (if nobody claimed since). */
  async unclaimSend(tenantId: string, uid: Buffer, hash: Buffer, previous: AgentSendState | null): Promise<void> {
    await this.db.query(
      `UPDATE agent_config_state SET last_sent_hash = $4, last_sent_at = CASE WHEN $5::float8 IS NULL THEN NULL ELSE to_timestamp($5::float8 / 1000.0) END,
              last_sent_connection = $6
        WHERE tenant_id = $1 AND instance_uid = $2 AND last_sent_hash = $3`,
      [tenantId, uid, hash, previous?.lastSentHash ?? null, previous?.lastSentAtMs ?? null, previous?.lastSentConnection ?? null],
    );
  }

  /**
   * Carries what this server holds for an agent over when it moved to a new
   * instance uid (RequestInstanceUid; status-ingest leaves the old record as a
   * tombstone, `replaced_by`): its reconcile state, and its place in rollouts
   * (batch, moved or reverted, timed out), so the rollout's pin keeps applying
   * and its batch counts what it reports under the new uid instead of holding
   * an offline tombstone. Called before the new uid is reconciled, in one
   * transaction; a replay moves nothing.
   */
  async moveAgentState(tenantId: string, from: Buffer, to: Buffer): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.query(
        `UPDATE agent_config_state SET instance_uid = $3 WHERE tenant_id = $1 AND instance_uid = $2
           AND NOT EXISTS (SELECT 1 FROM agent_config_state WHERE tenant_id = $1 AND instance_uid = $3)`,
        [tenantId, from, to],
      );
      await tx.query(
        `UPDATE rollout_agents ra SET instance_uid = $3 WHERE ra.tenant_id = $1 AND ra.instance_uid = $2
           AND NOT EXISTS (SELECT 1 FROM rollout_agents x WHERE x.tenant_id = $1 AND x.rollout_name = ra.rollout_name AND x.instance_uid = $3)`,
        [tenantId, from, to],
      );
      // A rollout that already took the new uid (as a new agent, before this move was seen) keeps that
      // place; the tombstone's is dropped so the agent counts once, not also as offline forever.
      await tx.query(`DELETE FROM rollout_agents WHERE tenant_id = $1 AND instance_uid = $2`, [tenantId, from]);
    });
  }

  /** One statement per batch: upserts the decision for many agents. Returns the instance uids whose row changed. */
  async writeAgentStates(tenantId: string, writes: readonly AgentStateWrite[]): Promise<Buffer[]> {
    if (writes.length === 0) return [];
    const { rows } = await this.db.query(
      `INSERT INTO agent_config_state AS s (tenant_id, instance_uid, configuration_name, configuration_version, desired_hash, not_sent_reason, last_sent_hash, last_sent_at,
                                            desired_since, updated_at)
       SELECT $1, w.uid, w.name, w.version, w.desired, w.reason, w.sent, CASE WHEN w.sent IS NULL THEN NULL ELSE now() END,
              CASE WHEN w.since_ms IS NULL THEN NULL ELSE to_timestamp(w.since_ms / 1000.0) END, now()
         FROM unnest($2::bytea[], $3::text[], $4::int[], $5::bytea[], $6::text[], $7::bytea[], $8::float8[]) AS w(uid, name, version, desired, reason, sent, since_ms)
       ${EXISTING_AGENT}
       ON CONFLICT (tenant_id, instance_uid) DO UPDATE SET
         -- The time of a desired hash is the one decided with it; a repeat of the hash keeps it.
         desired_since = CASE WHEN s.desired_hash IS DISTINCT FROM EXCLUDED.desired_hash THEN EXCLUDED.desired_since ELSE s.desired_since END,
         configuration_name = EXCLUDED.configuration_name,
         configuration_version = EXCLUDED.configuration_version,
         desired_hash = EXCLUDED.desired_hash,
         not_sent_reason = EXCLUDED.not_sent_reason,
         last_sent_hash = coalesce(EXCLUDED.last_sent_hash, s.last_sent_hash),
         last_sent_at = coalesce(EXCLUDED.last_sent_at, s.last_sent_at),
         updated_at = now()
       -- An event that changes no decision (most of them: heartbeats of health, status) writes no row.
       WHERE s.configuration_name IS DISTINCT FROM EXCLUDED.configuration_name
          OR s.configuration_version IS DISTINCT FROM EXCLUDED.configuration_version
          OR s.desired_hash IS DISTINCT FROM EXCLUDED.desired_hash
          OR s.not_sent_reason IS DISTINCT FROM EXCLUDED.not_sent_reason
          OR EXCLUDED.last_sent_hash IS NOT NULL
       RETURNING s.instance_uid`,
      [
        tenantId,
        writes.map((w) => w.instanceUid),
        writes.map((w) => w.configurationName),
        writes.map((w) => w.configurationVersion),
        writes.map((w) => w.desiredHash),
        writes.map((w) => w.notSentReason),
        writes.map((w) => w.sentHash),
        writes.map((w) => w.desiredSinceMs),
      ],
    );
    return rows.map((r) => toBuffer(r['instance_uid'])).filter((b): b is Buffer => b !== null);
  }

  /**
   * Counts APPLIED reports of timed desired hashes once: records each hash as
   * counted where it is still the desired one and not counted yet (concurrent
   * reconcilers serialise on the row: one of them gets it) and returns the
   * seconds since each became desired, on the database's clock.
   */
  async countApplied(tenantId: string, reports: readonly AppliedReport[]): Promise<number[]> {
    if (reports.length === 0) return [];
    const { rows } = await this.db.query(
      `UPDATE agent_config_state s SET applied_hash = w.hash
         FROM unnest($2::bytea[], $3::bytea[]) AS w(uid, hash)
        WHERE s.tenant_id = $1 AND s.instance_uid = w.uid AND s.desired_hash = w.hash AND s.desired_since IS NOT NULL
          AND s.applied_hash IS DISTINCT FROM w.hash
        RETURNING extract(epoch FROM (now() - s.desired_since)) AS seconds`,
      [tenantId, reports.map((r) => r.instanceUid), reports.map((r) => r.hash)],
    );
    return rows.map((r) => Math.max(0, toNumber(r['seconds'])));
  }

  /** Available-components maps by hash (content-addressed rows written by status-ingest). */
  async availableComponents(hashes: readonly Buffer[]): Promise<Map<string, unknown>> {
    if (hashes.length === 0) return new Map();
    const { rows } = await this.db.query(`SELECT hash, components FROM available_components WHERE hash = ANY($1::bytea[])`, [hashes]);
    return new Map(rows.map((r) => [hex(r['hash']), r['components']]));
  }
}
