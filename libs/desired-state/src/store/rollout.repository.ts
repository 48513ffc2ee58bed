/**
 * PostgreSQL access for rollouts (migrations 0110, 0140, 0220), over the
 * SqlDatabase port, for both kinds of rollout (a configuration assignment's,
 * a package assignment's: `target_kind`); the members of a package rollout
 * are read by store/package-rollout.repository.ts. Driver writes are fenced: they only apply while
 * the writer holds the rollout's lease at the epoch it acquired, and while
 * the rollout is at the revision the writer read (the API bumps it), so a
 * driver that lost its lease, or raced an operator's pause, changes nothing.
 */
import { AgentCapabilities } from '@opamp/protocol';
import type { SqlDatabase, SqlExecutor } from '@opamp/store';
import {
  parseSelector,
  resolveAssignment,
  selectorToSql,
  type BatchState,
  type BatchTake,
  type DesiredPackages,
  type LabelSelector,
  type MemberObservation,
  type RolloutGates,
  type RolloutState,
  type RolloutStrategy,
} from '../core';
import { existingAgentsOnly, toBuffer, toIso, toNumber, type DesiredStateRepository } from './desired-state.repository';

export type RolloutTargetKind = 'configuration' | 'package';

export interface RolloutRecord {
  tenantId: string;
  name: string;
  /** What the rollout moves (migration 0220): an assignment's configuration version, or a package assignment's package versions. */
  targetKind: RolloutTargetKind;
  /** The assignment, or the package assignment (targetKind 'package'). */
  assignmentName: string;
  /** Configuration rollouts: the configuration and its versions ('' and 0 for package rollouts). */
  configurationName: string;
  fromVersion: number;
  toVersion: number;
  /** Package rollouts: the versions the package assignment named at creation, and the new ones (empty for configuration rollouts). */
  fromPackages: DesiredPackages;
  toPackages: DesiredPackages;
  strategy: RolloutStrategy;
  gates: RolloutGates;
  soakMs: number;
  /** The apply deadline of each batch's agents (0 = none; migration 0140). */
  applyTimeoutMs: number;
  autoRollback: boolean;
  state: RolloutState;
  stateReason: string;
  assignmentFollowedLatest: boolean;
  totalAgents: number;
  currentBatch: number;
  holdsAssignment: boolean;
  revision: number;
  driverId: string | null;
  leaseEpoch: number;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  startedAt: string;
  finishedAt: string;
}

export interface BatchRecord {
  index: number;
  name: string;
  take: BatchTake;
  plannedAgents: number;
  state: BatchState;
  agents: number;
  failureReason: string;
  startedAt: string;
  soakStartedAtMs: number | null;
  finishedAt: string;
}

/** What the driver reads of every member, whatever the rollout moves. */
export interface RolloutMember {
  instanceUid: Buffer;
  batchIndex: number;
  pinState: 'moved' | 'reverted';
  /** The reconciler has done its part for the version the rollout dictates for it. */
  readonly decided: boolean;
  /** The reconciler should look at it (not decided yet, or decided and not sent). */
  needsReconcile: boolean;
  /** The driver has recorded it timed out (its rollout event is written). */
  timedOutRecorded: boolean;
  /** The agent took this new instance uid (its row here is a tombstone): the rollout row should follow. */
  replacedBy: Buffer | null;
}

export interface MemberRow extends MemberObservation, RolloutMember {
  remoteConfigError: string | null;
}

/** Who writes and under which lease (the API writes without a lease). */
export interface Fence {
  readonly revision: number;
  readonly driverId?: string;
  readonly leaseEpoch?: number;
}

export class FenceLost extends Error {
  constructor() {
    super('rollout changed or lease lost');
    this.name = 'FenceLost';
  }
}

export function rolloutFromRow(r: Record<string, unknown>): RolloutRecord {
  return {
    tenantId: String(r['tenant_id']),
    name: String(r['name']),
    targetKind: r['target_kind'] === 'package' ? 'package' : 'configuration',
    assignmentName: String(r['assignment_name']),
    configurationName: r['configuration_name'] == null ? '' : String(r['configuration_name']),
    fromVersion: toNumber(r['from_version']),
    toVersion: toNumber(r['to_version']),
    fromPackages: packagesOf(r['from_packages']),
    toPackages: packagesOf(r['to_packages']),
    strategy: r['strategy'] as RolloutStrategy,
    gates: r['gates'] as RolloutGates,
    soakMs: toNumber(r['soak_ms']),
    applyTimeoutMs: toNumber(r['apply_timeout_ms'] ?? 0),
    autoRollback: r['auto_rollback'] === true,
    state: r['state'] as RolloutState,
    stateReason: String(r['state_reason'] ?? ''),
    assignmentFollowedLatest: r['assignment_followed_latest'] === true,
    totalAgents: toNumber(r['total_agents']),
    currentBatch: toNumber(r['current_batch']),
    holdsAssignment: r['holds_assignment'] === true,
    revision: toNumber(r['revision']),
    driverId: (r['driver_id'] as string | null) ?? null,
    leaseEpoch: toNumber(r['lease_epoch']),
    createdBy: String(r['created_by'] ?? ''),
    createdAt: toIso(r['created_at']),
    updatedAt: toIso(r['updated_at']),
    startedAt: r['started_at'] ? toIso(r['started_at']) : '',
    finishedAt: r['finished_at'] ? toIso(r['finished_at']) : '',
  };
}

function packagesOf(v: unknown): DesiredPackages {
  const raw = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!Array.isArray(raw)) return [];
  return raw.map((p) => ({ packageName: String((p as Record<string, unknown>)['packageName']), version: String((p as Record<string, unknown>)['version']) }));
}

function batchFromRow(r: Record<string, unknown>): BatchRecord {
  return {
    index: toNumber(r['batch_index']),
    name: String(r['name']),
    take: r['take'] as BatchTake,
    plannedAgents: toNumber(r['planned_agents']),
    state: r['state'] as BatchState,
    agents: toNumber(r['agents']),
    failureReason: String(r['failure_reason'] ?? ''),
    startedAt: r['started_at'] ? toIso(r['started_at']) : '',
    soakStartedAtMs: r['soak_started_at'] ? new Date(toIso(r['soak_started_at'])).getTime() : null,
    finishedAt: r['finished_at'] ? toIso(r['finished_at']) : '',
  };
}

export interface RolloutEventInput {
  type: string;
  batchIndex?: number | null;
  message?: string;
  details?: Record<string, unknown>;
  actor: string;
}

const ACTIVE_STATES = `('pending', 'running', 'paused', 'rolling_back')`;

export class RolloutRepository {
  constructor(
    readonly db: SqlDatabase,
    readonly desired: DesiredStateRepository,
  ) {}

  async get(db: SqlExecutor, tenantId: string, name: string, forUpdate = false): Promise<RolloutRecord | null> {
    const { rows } = await db.query(`SELECT * FROM rollouts WHERE tenant_id = $1 AND name = $2${forUpdate ? ' FOR UPDATE' : ''}`, [tenantId, name]);
    return rows.length ? rolloutFromRow(rows[0]) : null;
  }

  async list(tenantId: string, assignmentName: string, activeOnly: boolean, limit: number, before: string | null, kind: RolloutTargetKind = 'configuration'): Promise<RolloutRecord[]> {
    const params: unknown[] = [tenantId, kind];
    let where = 'tenant_id = $1 AND target_kind = $2';
    if (assignmentName) {
      params.push(assignmentName);
      where += ` AND assignment_name = $${params.length}`;
    }
    if (activeOnly) where += ` AND state IN ${ACTIVE_STATES}`;
    if (before) {
      params.push(before);
      where += ` AND (created_at, name) < (SELECT created_at, name FROM rollouts WHERE tenant_id = $1 AND name = $${params.length})`;
    }
    params.push(limit);
    const { rows } = await this.db.query(`SELECT * FROM rollouts WHERE ${where} ORDER BY created_at DESC, name DESC LIMIT $${params.length}`, params);
    return rows.map(rolloutFromRow);
  }

  async activeFor(db: SqlExecutor, tenantId: string, assignmentName: string, kind: RolloutTargetKind = 'configuration'): Promise<RolloutRecord | null> {
    const { rows } = await db.query(`SELECT * FROM rollouts WHERE tenant_id = $1 AND assignment_name = $2 AND target_kind = $3 AND state IN ${ACTIVE_STATES} LIMIT 1`, [
      tenantId,
      assignmentName,
      kind,
    ]);
    return rows.length ? rolloutFromRow(rows[0]) : null;
  }

  async batches(db: SqlExecutor, tenantId: string, name: string): Promise<BatchRecord[]> {
    const { rows } = await db.query(`SELECT * FROM rollout_batches WHERE tenant_id = $1 AND rollout_name = $2 ORDER BY batch_index`, [tenantId, name]);
    return rows.map(batchFromRow);
  }

  /**
   * Updates the rollout if the fence still holds (same revision; same lease
   * when a driver writes), bumping the revision. Throws FenceLost otherwise.
   */
  async update(tx: SqlExecutor, r: { tenantId: string; name: string }, fence: Fence, set: string, params: unknown[] = []): Promise<RolloutRecord> {
    const base = params.length;
    const conds = [`tenant_id = $${base + 1}`, `name = $${base + 2}`, `revision = $${base + 3}`];
    const all: unknown[] = [...params, r.tenantId, r.name, fence.revision];
    if (fence.driverId !== undefined) {
      all.push(fence.driverId, fence.leaseEpoch ?? 0);
      conds.push(`driver_id = $${all.length - 1}`, `lease_epoch = $${all.length}`, 'lease_expires_at > now()');
    }
    const { rows } = await tx.query(
      `UPDATE rollouts SET ${set}, revision = revision + 1, updated_at = now() WHERE ${conds.join(' AND ')} RETURNING *`,
      all,
    );
    if (rows.length === 0) throw new FenceLost();
    return rolloutFromRow(rows[0]);
  }

  async event(tx: SqlExecutor, tenantId: string, rollout: string, e: RolloutEventInput): Promise<void> {
    await tx.query(
      `INSERT INTO rollout_events (tenant_id, rollout_name, type, batch_index, message, details, actor) VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)`,
      [tenantId, rollout, e.type, e.batchIndex ?? null, e.message ?? '', JSON.stringify(e.details ?? {}), e.actor],
    );
  }

  async events(tenantId: string, rollout: string, afterId: number, limit: number): Promise<Array<Record<string, unknown>>> {
    const { rows } = await this.db.query(
      `SELECT * FROM rollout_events WHERE tenant_id = $1 AND rollout_name = $2 AND id > $3::bigint ORDER BY id LIMIT $4`,
      [tenantId, rollout, afterId, limit],
    );
    return rows;
  }

  // --- leases -----------------------------------------------------------------------

  /**
   * Takes (or renews) the leases of rollouts that need a driver and that
   * nobody else holds: free, expired, or already ours. A takeover bumps the
   * epoch, which fences out the previous holder's writes.
   */
  async claim(
    driverId: string,
    leaseMs: number,
    limit: number,
    /** Only rollouts of this kind (a driver that cannot drive the other); null: both. */
    kind: RolloutTargetKind | null = null,
  ): Promise<Array<{ tenantId: string; name: string; leaseEpoch: number; acquired: boolean }>> {
    const { rows } = await this.db.query(
      `WITH c AS (
         SELECT tenant_id, name, driver_id AS previous FROM rollouts
          WHERE state IN ('running', 'rolling_back') AND ($4::text IS NULL OR target_kind = $4::text)
            AND (driver_id IS NULL OR driver_id = $1 OR lease_expires_at IS NULL OR lease_expires_at < now())
          ORDER BY started_at NULLS LAST, tenant_id, name
          LIMIT $3
          FOR UPDATE SKIP LOCKED)
       UPDATE rollouts r
          SET lease_epoch = CASE WHEN c.previous = $1 THEN r.lease_epoch ELSE r.lease_epoch + 1 END,
              driver_id = $1,
              lease_expires_at = now() + ($2::int * interval '1 millisecond')
         FROM c
        WHERE r.tenant_id = c.tenant_id AND r.name = c.name
        RETURNING r.tenant_id, r.name, r.lease_epoch, c.previous`,
      [driverId, leaseMs, limit, kind],
    );
    return rows.map((r) => ({
      tenantId: String(r['tenant_id']),
      name: String(r['name']),
      leaseEpoch: toNumber(r['lease_epoch']),
      acquired: r['previous'] !== driverId,
    }));
  }

  /** Gives up this driver's leases (graceful stop): another replica takes over at once. */
  async release(driverId: string): Promise<void> {
    await this.db.query(`UPDATE rollouts SET driver_id = NULL, lease_expires_at = NULL WHERE driver_id = $1`, [driverId]);
  }

  // --- targets and members ------------------------------------------------------------

  /**
   * Walks the agents an assignment targets (its selector matches and no
   * higher-priority assignment wins), optionally narrowed by a stage
   * selector and to agents the rollout has not taken; connected agents first,
   * each group in instance-uid order. Stops after `limit`.
   */
  async targets(
    tenantId: string,
    assignmentName: string,
    options: { stageSelector?: string; excludeRollout?: string; limit?: number; pageSize?: number } = {},
  ): Promise<Buffer[]> {
    const snapshot = await this.desired.loadSnapshot(tenantId);
    const assignment = snapshot.assignments.find((a) => a.name === assignmentName);
    if (!assignment) return [];
    return this.targetsBy(tenantId, assignment.selector, (labels) => resolveAssignment(snapshot.assignments, labels)?.name === assignmentName, options);
  }

  /**
   * The walk of targets(), for any kind of assignment: agents `selector`
   * matches (narrowed by the stage selector, without the rollout's members)
   * that `holds` says the assignment wins for.
   */
  async targetsBy(
    tenantId: string,
    selector: LabelSelector,
    holds: (labels: Record<string, string>) => boolean,
    options: { stageSelector?: string; excludeRollout?: string; limit?: number; pageSize?: number } = {},
  ): Promise<Buffer[]> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const pageSize = options.pageSize ?? 1000;
    const params: unknown[] = [];
    const where: string[] = [];
    const sel = selectorToSql(selector, 'a.labels', params.length);
    params.push(...sel.params);
    where.push(`(${sel.sql})`);
    if (options.stageSelector) {
      const stage = selectorToSql(parseSelector(options.stageSelector), 'a.labels', params.length);
      params.push(...stage.params);
      where.push(`(${stage.sql})`);
    }
    if (options.excludeRollout) {
      params.push(options.excludeRollout);
      where.push(`NOT EXISTS (SELECT 1 FROM rollout_agents x WHERE x.tenant_id = a.tenant_id AND x.rollout_name = $${params.length} AND x.instance_uid = a.instance_uid)`);
    }
    const out: Buffer[] = [];
    for (const connected of [true, false]) {
      let after: Buffer | null = null;
      for (;;) {
        const page = await this.desired.agentsPage(tenantId, after, pageSize, `${where.join(' AND ')} AND a.connected = ${connected ? 'TRUE' : 'FALSE'}`, params);
        for (const agent of page) {
          if (!holds(agent.labels)) continue;
          out.push(agent.instanceUid);
          if (out.length >= limit) return out;
        }
        if (page.length < pageSize) break;
        after = page[page.length - 1].instanceUid;
      }
    }
    return out;
  }

  /** The members of a rollout (one batch, or all) with what the gates need, and the database's clock. */
  async members(tenantId: string, r: RolloutRecord, batchIndex: number | null): Promise<{ nowMs: number; members: MemberRow[] }> {
    const { rows } = await this.db.query(
      `SELECT ra.instance_uid, ra.batch_index, ra.state AS pin_state, ra.timed_out_at IS NOT NULL AS timed_out_recorded,
              a.connected, a.healthy, a.capabilities, a.replaced_by, a.remote_config_hash, a.remote_config_status, a.remote_config_error,
              -- A disconnected agent's row was last written by its disconnect; the clock starts no earlier than its batch.
              (extract(epoch FROM (now() - greatest(a.updated_at, rb.started_at))) * 1000)::float8 AS offline_ms,
              s.configuration_name, s.configuration_version, s.desired_hash, s.last_sent_hash, s.not_sent_reason,
              -- The apply deadline runs from the first push of the version: when the batch was (re)started (its
              -- connected agents are pushed right then) or when the agent connected later (pushed on connect).
              -- Not from the last push (last_sent_at): the reconciler pushes again on later events and
              -- re-evaluations, and an agent that keeps reporting without applying must still time out.
              -- greatest() skips NULLs.
              (extract(epoch FROM greatest(coalesce(rb.deadline_from, rb.started_at), a.connected_since)) * 1000)::float8 AS applying_since_ms,
              (extract(epoch FROM now()) * 1000)::float8 AS now_ms
         FROM rollout_agents ra
         LEFT JOIN agents a ON a.tenant_id = ra.tenant_id AND a.instance_uid = ra.instance_uid
         LEFT JOIN agent_config_state s ON s.tenant_id = ra.tenant_id AND s.instance_uid = ra.instance_uid
         LEFT JOIN rollout_batches rb ON rb.tenant_id = ra.tenant_id AND rb.rollout_name = ra.rollout_name AND rb.batch_index = ra.batch_index
        WHERE ra.tenant_id = $1 AND ra.rollout_name = $2 AND ($3::int IS NULL OR ra.batch_index = $3::int)
        ORDER BY ra.batch_index, ra.instance_uid`,
      [tenantId, r.name, batchIndex],
    );
    let nowMs = Date.now();
    const members = rows.map((row): MemberRow => {
      nowMs = toNumber(row['now_ms']);
      const pinState = row['pin_state'] as 'moved' | 'reverted';
      const target = pinState === 'moved' ? r.toVersion : r.fromVersion;
      const capabilities = toNumber(row['capabilities']);
      const decided = row['configuration_name'] === r.configurationName && toNumber(row['configuration_version']) === target;
      const desiredHash = toBuffer(row['desired_hash']);
      const lastSentHash = toBuffer(row['last_sent_hash']);
      const reportedHash = toBuffer(row['remote_config_hash']);
      const notSentReason = (row['not_sent_reason'] as string | null) ?? null;
      const accepts = (capabilities & AgentCapabilities.AcceptsRemoteConfig) !== 0;
      const unsent = !!desiredHash && !notSentReason && accepts && !eq(lastSentHash, desiredHash) && !eq(reportedHash, desiredHash);
      return {
        instanceUid: toBuffer(row['instance_uid']) ?? Buffer.alloc(16),
        batchIndex: toNumber(row['batch_index']),
        pinState,
        connected: row['connected'] === true,
        offlineForMs: row['offline_ms'] == null ? null : toNumber(row['offline_ms']),
        healthy: (row['healthy'] as boolean | null) ?? null,
        reportsRemoteConfig: (capabilities & AgentCapabilities.ReportsRemoteConfig) !== 0,
        reportedHash,
        reportedStatus: toNumber(row['remote_config_status']),
        remoteConfigError: (row['remote_config_error'] as string | null) ?? null,
        decided,
        desiredHash,
        lastSentHash,
        notSentReason,
        needsReconcile: (row['connected'] === true || row['connected'] === false) && (!decided || unsent),
        applyingSinceMs: row['applying_since_ms'] == null ? null : toNumber(row['applying_since_ms']),
        timedOutRecorded: row['timed_out_recorded'] === true,
        replacedBy: toBuffer(row['replaced_by']),
      };
    });
    if (rows.length === 0) {
      const now = await this.db.query(`SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms`);
      nowMs = toNumber(now.rows[0]['now_ms']);
    }
    return { nowMs, members };
  }

  async memberCount(tx: SqlExecutor, tenantId: string, name: string): Promise<number> {
    const { rows } = await tx.query(`SELECT count(*)::int AS n FROM rollout_agents WHERE tenant_id = $1 AND rollout_name = $2`, [tenantId, name]);
    return toNumber(rows[0]['n']);
  }

  /** Adds agents to a batch, moved to the new version; returns the ones added (an agent is in a rollout once, and only while it exists). */
  async addMembers(tx: SqlExecutor, tenantId: string, name: string, batchIndex: number, uids: readonly Buffer[]): Promise<Buffer[]> {
    if (uids.length === 0) return [];
    const { rows } = await tx.query(
      `INSERT INTO rollout_agents (tenant_id, rollout_name, instance_uid, batch_index, state)
       SELECT $1, $2, u, $3, 'moved' FROM unnest($4::bytea[]) AS u
       ${existingAgentsOnly('u')}
       ON CONFLICT DO NOTHING RETURNING instance_uid`,
      [tenantId, name, batchIndex, uids],
    );
    return rows.map((r) => toBuffer(r['instance_uid']) ?? Buffer.alloc(16));
  }

  /**
   * Records agents of a batch as timed out, once each: returns those not
   * recorded before (a driver that lost its lease and races the new holder
   * records nobody twice; the row lock serialises them).
   */
  async markTimedOut(tx: SqlExecutor, tenantId: string, name: string, uids: readonly Buffer[]): Promise<Buffer[]> {
    if (uids.length === 0) return [];
    const { rows } = await tx.query(
      `UPDATE rollout_agents SET timed_out_at = now()
        WHERE tenant_id = $1 AND rollout_name = $2 AND instance_uid = ANY($3::bytea[]) AND timed_out_at IS NULL
        RETURNING instance_uid`,
      [tenantId, name, uids],
    );
    return rows.map((r) => toBuffer(r['instance_uid']) ?? Buffer.alloc(16));
  }

  /** Returns every moved agent to the assignment's version. */
  async revertMembers(tx: SqlExecutor, tenantId: string, name: string): Promise<number> {
    const { rowCount } = await tx.query(
      `UPDATE rollout_agents SET state = 'reverted', reverted_at = now() WHERE tenant_id = $1 AND rollout_name = $2 AND state = 'moved'`,
      [tenantId, name],
    );
    return rowCount ?? 0;
  }
}

function eq(a: Buffer | null, b: Buffer | null): boolean {
  return !!a && !!b && a.equals(b);
}
