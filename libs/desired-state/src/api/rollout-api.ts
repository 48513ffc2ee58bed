/**
 * The rollout part of the platform API (transport-agnostic, like
 * the other resources of FleetApiService, which exposes it as `rollouts`): create, start, pause,
 * resume, abort and roll back a rollout, its progress per batch, its agents
 * and its event stream. The API only records what the operator wants, in one
 * transaction with the rollout's event and the audit record; the rollout
 * driver (runtime/rollout-driver.ts) does the pushing.
 */
import type { SqlExecutor } from '@opamp/store';
import {
  AGENT_PHASES,
  checkResourceName,
  classifyMember,
  classifyPackageMember,
  DesiredStateError,
  emptyCounts,
  echo,
  gatesMessage,
  invalidArgument,
  nextRolloutState,
  parseApplyTimeout,
  parseGates,
  parseStrategy,
  planBatches,
  strategyMessage,
  type AgentPhase,
  type GatesInput,
  type PhaseCounts,
  type RolloutControl,
  type RolloutGates,
  type RolloutState,
  type RolloutStrategy,
  type StrategyInput,
} from '../core';
import { MAX_SOAK_MS, MAX_WAIT_MS } from '../core/limits';
import { toIso, toNumber, type DesiredStateRepository } from '../store/desired-state.repository';
import { RolloutRepository, type BatchRecord, type MemberRow, type RolloutRecord } from '../store/rollout.repository';
import { PackageRolloutRepository } from '../store/package-rollout.repository';
import type { Caller } from './api-context';
import { int, makePageToken, pageSize, pageToken, str, type Req } from './request-fields';

const stateName = (s: RolloutState) => `ROLLOUT_STATE_${s.toUpperCase()}`;
const batchStateName = (s: string) => `ROLLOUT_BATCH_STATE_${s.toUpperCase()}`;
const phaseName = (p: AgentPhase) => `ROLLOUT_AGENT_PHASE_${p.toUpperCase()}`;

function phaseFrom(v: unknown): AgentPhase {
  const s = str(v).replace(/^ROLLOUT_AGENT_PHASE_/, '').toLowerCase();
  const p = AGENT_PHASES.find((x) => x === s);
  if (!p) throw invalidArgument(`phases: unknown phase ${echo(v)}`);
  return p;
}

function progressMessage(c: PhaseCounts): Record<string, number> {
  return {
    pending: c.pending,
    applying: c.applying,
    applied: c.applied,
    failed: c.failed,
    unhealthy: c.unhealthy,
    offline: c.offline,
    notSent: c.not_sent,
    timedOut: c.timed_out,
  };
}

interface MemberPhase {
  instanceUid: Buffer;
  batchIndex: number;
  reverted: boolean;
  phase: AgentPhase;
  reason: string;
}

export class RolloutApi {
  readonly repo: RolloutRepository;
  protected readonly packageRollouts: PackageRolloutRepository;
  /** Called after a change the driver should act on at once (wired to RolloutDriver.wake). */
  onChange: () => void = () => undefined;

  constructor(protected readonly desired: DesiredStateRepository) {
    this.repo = new RolloutRepository(desired.db, desired);
    this.packageRollouts = new PackageRolloutRepository(this.repo);
  }

  /** The kind of rollout these calls control (the events and agents calls read either). */
  protected readonly kind: 'configuration' | 'package' = 'configuration';
  /** Audit actions and resource type ('rollout.pause', 'package_rollout.pause'). */
  protected readonly auditPrefix: string = 'rollout';

  protected actor(c: Caller): string {
    return `token:${c.tokenId}`;
  }

  /** The rollout, of this API's kind unless `anyKind` (events and agents read both). */
  protected async load(db: SqlExecutor, c: Caller, name: unknown, forUpdate = false, anyKind = false): Promise<RolloutRecord> {
    const n = str(name);
    checkResourceName(n, 'rollout');
    const r = await this.repo.get(db, c.tenantId, n, forUpdate);
    if (!r) throw new DesiredStateError('NOT_FOUND', `rollout '${n}' not found`);
    if (!anyKind && r.targetKind !== this.kind) {
      throw new DesiredStateError('FAILED_PRECONDITION', `rollout '${n}' is a ${r.targetKind} rollout: use the ${r.targetKind === 'package' ? 'PackageRollout' : 'Rollout'} calls`);
    }
    return r;
  }

  // --- messages ----------------------------------------------------------------------

  /** The batches with their progress, and the progress in total (both kinds). */
  protected async progress(r: RolloutRecord): Promise<{ batches: Array<Record<string, unknown>>; progress: Record<string, number> }> {
    const batches = await this.repo.batches(this.repo.db, r.tenantId, r.name);
    const members = batches.length > 0 ? await this.phases(r, null) : [];
    const byBatch = new Map<number, PhaseCounts>();
    const total = emptyCounts();
    for (const m of members) {
      const counts = byBatch.get(m.batchIndex) ?? emptyCounts();
      counts[m.phase]++;
      total[m.phase]++;
      byBatch.set(m.batchIndex, counts);
    }
    const batchMessages = batches.map((b) => {
      const counts = byBatch.get(b.index) ?? emptyCounts();
      if (b.state === 'pending' && b.plannedAgents > 0) {
        counts.pending += b.plannedAgents;
        total.pending += b.plannedAgents;
      }
      return this.batchMessage(b, counts);
    });
    return { batches: batchMessages, progress: progressMessage(total) };
  }

  protected async message(r: RolloutRecord): Promise<Record<string, unknown>> {
    const { batches: batchMessages, progress } = await this.progress(r);
    return {
      name: r.name,
      assignmentName: r.assignmentName,
      configurationName: r.configurationName,
      fromVersion: r.fromVersion,
      toVersion: r.toVersion,
      strategy: strategyMessage(r.strategy),
      gates: gatesMessage(r.gates),
      soakTimeMs: r.soakMs,
      applyTimeoutMs: r.applyTimeoutMs,
      autoRollback: r.autoRollback,
      state: stateName(r.state),
      stateReason: r.stateReason,
      totalAgents: r.totalAgents,
      currentBatch: r.currentBatch,
      batches: batchMessages,
      progress,
      driverId: r.driverId ?? '',
      createdBy: r.createdBy,
      createTime: r.createdAt,
      updateTime: r.updatedAt,
      startTime: r.startedAt,
      finishTime: r.finishedAt,
    };
  }

  /**
   * The phase an agent shows, as the driver judges it (with the apply
   * deadline). Reverted agents are judged against the previous version,
   * without a deadline: a rollback has no gate.
   */
  private phaseOf(r: RolloutRecord, m: MemberRow, nowMs: number): AgentPhase {
    return classifyMember(m, r.soakMs, m.pinState === 'moved' ? { applyTimeoutMs: r.applyTimeoutMs, nowMs } : undefined).phase;
  }

  /** Every member (of one batch, or all) with its phase as the driver judges it, and why (not sent, failed, timed out). */
  protected async phases(r: RolloutRecord, batch: number | null): Promise<MemberPhase[]> {
    if (r.targetKind === 'package') {
      const { members, nowMs } = await this.packageRollouts.members(r.tenantId, r, batch);
      return members.map((m) => {
        const p = classifyPackageMember(m, r.soakMs, m.pinState === 'moved' ? { applyTimeoutMs: r.applyTimeoutMs, nowMs } : undefined);
        return { instanceUid: m.instanceUid, batchIndex: m.batchIndex, reverted: m.pinState === 'reverted', phase: p.phase, reason: p.reason };
      });
    }
    const { members, nowMs } = await this.repo.members(r.tenantId, r, batch);
    return members.map((m) => {
      const phase = this.phaseOf(r, m, nowMs);
      return { instanceUid: m.instanceUid, batchIndex: m.batchIndex, reverted: m.pinState === 'reverted', phase, reason: this.reasonOf(r, m, phase) };
    });
  }

  private batchMessage(b: BatchRecord, counts: PhaseCounts): Record<string, unknown> {
    return {
      index: b.index,
      name: b.name,
      selector: b.take.kind === 'stage' ? b.take.selector : '',
      state: batchStateName(b.state),
      plannedAgents: b.plannedAgents,
      agents: b.agents,
      progress: progressMessage(counts),
      failureReason: b.failureReason,
      startTime: b.startedAt,
      soakStartTime: b.soakStartedAtMs === null ? '' : new Date(b.soakStartedAtMs).toISOString(),
      finishTime: b.finishedAt,
    };
  }

  // --- create and control ---------------------------------------------------------------

  /** Strategy, gates, soak and apply deadline of a create request (both kinds). */
  protected settings(req: Req): { strategy: RolloutStrategy; gates: RolloutGates; soakMs: number; applyTimeoutMs: number } {
    const strategy = parseStrategy((req['strategy'] ?? null) as StrategyInput | null);
    const gates = parseGates((req['gates'] ?? null) as GatesInput | null);
    const soakMs = int(req['soakTimeMs'], 'soak_time_ms', 'uint32');
    if (soakMs < 0 || soakMs > MAX_SOAK_MS) throw invalidArgument(`soak_time_ms must be between 0 and ${MAX_SOAK_MS}`);
    return { strategy, gates, soakMs, applyTimeoutMs: parseApplyTimeout(req['applyTimeoutMs']) };
  }

  async createRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const assignmentName = str(req['assignmentName']);
    checkResourceName(assignmentName, 'assignment');
    const { strategy, gates, soakMs, applyTimeoutMs } = this.settings(req);
    const requested = int(req['toVersion'], 'to_version');
    if (requested < 0) throw invalidArgument('to_version must be >= 0 (0 = the latest version)');
    let name = str(req['name']);
    if (!name) name = `${assignmentName.slice(0, 40)}-${Date.now().toString(36)}`;
    checkResourceName(name, 'rollout');
    const start = req['start'] === true;
    // Counted before the transaction: the embedded database runs one connection.
    const total = start ? (await this.repo.targets(c.tenantId, assignmentName)).length : 0;
    const r = await this.repo.db.transaction(async (tx) => {
      const a = await tx.query(
        `SELECT a.configuration_name, a.pinned_version, c.latest_version FROM assignments a
           JOIN configurations c ON c.tenant_id = a.tenant_id AND c.name = a.configuration_name
          WHERE a.tenant_id = $1 AND a.name = $2 FOR UPDATE OF a`,
        [c.tenantId, assignmentName],
      );
      if (a.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `assignment '${assignmentName}' not found`);
      const configurationName = str(a.rows[0]['configuration_name']);
      const latest = toNumber(a.rows[0]['latest_version']);
      const from = a.rows[0]['pinned_version'] == null ? latest : toNumber(a.rows[0]['pinned_version']);
      const to = requested === 0 ? latest : requested;
      const exists = await tx.query(`SELECT 1 FROM configuration_versions WHERE tenant_id = $1 AND configuration_name = $2 AND version = $3`, [
        c.tenantId,
        configurationName,
        to,
      ]);
      if (exists.rows.length === 0) throw new DesiredStateError('NOT_FOUND', `configuration '${configurationName}' has no version ${to}`);
      if (to === from) {
        throw new DesiredStateError(
          'FAILED_PRECONDITION',
          `assignment '${assignmentName}' already stands for version ${to} of '${configurationName}'; pin the assignment (pinned_version) to the version the fleet runs before adding the new version, then roll that out`,
        );
      }
      const active = await this.repo.activeFor(tx, c.tenantId, assignmentName);
      if (active) throw new DesiredStateError('FAILED_PRECONDITION', `rollout '${active.name}' of assignment '${assignmentName}' is ${active.state}; abort or finish it first`);
      const ins = await tx.query(
        `INSERT INTO rollouts (tenant_id, name, assignment_name, configuration_name, from_version, to_version, strategy, gates, soak_ms, apply_timeout_ms, auto_rollback, state, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb, $9, $10, $11, 'pending', $12) ON CONFLICT (tenant_id, name) DO NOTHING RETURNING *`,
        [
          c.tenantId,
          name,
          assignmentName,
          configurationName,
          from,
          to,
          JSON.stringify(strategy),
          JSON.stringify(gates),
          soakMs,
          applyTimeoutMs,
          req['autoRollback'] === true,
          this.actor(c),
        ],
      );
      if (ins.rows.length === 0) throw new DesiredStateError('ALREADY_EXISTS', `rollout '${name}' already exists`);
      await this.repo.event(tx, c.tenantId, name, {
        type: 'created',
        message: `rollout of assignment '${assignmentName}' from version ${from} to ${to}`,
        actor: this.actor(c),
      });
      await this.desired.audit(
        tx,
        {
          tenantId: c.tenantId,
          actor: this.actor(c),
          action: 'rollout.create',
          resourceType: 'rollout',
          resourceName: name,
          details: {
            assignment: assignmentName,
            configuration: configurationName,
            fromVersion: from,
            toVersion: to,
            strategy,
            gates,
            soakMs,
            applyTimeoutMs,
            autoRollback: req['autoRollback'] === true,
          },
        },
        false,
      );
      const created = await this.repo.get(tx, c.tenantId, name, true);
      return start && created ? this.startInTx(tx, c, created, total) : created;
    });
    if (start) this.onChange();
    return this.message(r as RolloutRecord);
  }

  protected async startInTx(tx: SqlExecutor, c: Caller, r: RolloutRecord, total: number): Promise<RolloutRecord> {
    const next = nextRolloutState(r.state, { kind: 'control', action: 'start' });
    if (!next.ok) throw new DesiredStateError('FAILED_PRECONDITION', next.reason);
    const a = await tx.query(
      `SELECT a.configuration_name, a.pinned_version, c.latest_version FROM assignments a
         JOIN configurations c ON c.tenant_id = a.tenant_id AND c.name = a.configuration_name
        WHERE a.tenant_id = $1 AND a.name = $2 FOR UPDATE OF a`,
      [c.tenantId, r.assignmentName],
    );
    if (a.rows.length === 0) throw new DesiredStateError('FAILED_PRECONDITION', `assignment '${r.assignmentName}' no longer exists`);
    const followed = a.rows[0]['pinned_version'] == null;
    const current = followed ? toNumber(a.rows[0]['latest_version']) : toNumber(a.rows[0]['pinned_version']);
    if (str(a.rows[0]['configuration_name']) !== r.configurationName || current !== r.fromVersion) {
      throw new DesiredStateError('FAILED_PRECONDITION', `assignment '${r.assignmentName}' changed since the rollout was created; create a new rollout`);
    }
    // This rollout's pins count from now on; earlier rollouts of the assignment stop counting.
    await tx.query(`UPDATE rollouts SET holds_assignment = false WHERE tenant_id = $1 AND assignment_name = $2 AND holds_assignment AND name <> $3 AND target_kind = 'configuration'`, [
      c.tenantId,
      r.assignmentName,
      r.name,
    ]);
    // Agents the rollout has not reached stay on the version they have, even when a newer one is the latest.
    await tx.query(`UPDATE assignments SET pinned_version = $3, updated_at = now() WHERE tenant_id = $1 AND name = $2`, [c.tenantId, r.assignmentName, r.fromVersion]);
    return this.planInTx(tx, c, r, total, followed, { assignmentPinnedTo: r.fromVersion });
  }

  /** The part of starting both kinds share: the batches planned, the rollout running and holding its assignment, the event, the audit record. */
  protected async planInTx(tx: SqlExecutor, c: Caller, r: RolloutRecord, total: number, followed: boolean, auditDetails: Record<string, unknown>): Promise<RolloutRecord> {
    const next = nextRolloutState(r.state, { kind: 'control', action: 'start' });
    if (!next.ok) throw new DesiredStateError('FAILED_PRECONDITION', next.reason);
    const plans = planBatches(r.strategy, total);
    for (const p of plans) {
      await tx.query(
        `INSERT INTO rollout_batches (tenant_id, rollout_name, batch_index, name, take, planned_agents, state) VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'pending')`,
        [c.tenantId, r.name, p.index, p.name, JSON.stringify(p.take), p.plannedAgents],
      );
    }
    const started = await this.repo.update(
      tx,
      r,
      { revision: r.revision },
      `state = $1, state_reason = '', holds_assignment = true, assignment_followed_latest = $2, total_agents = $3, current_batch = -1, started_at = now()`,
      [next.state, followed, total],
    );
    await this.repo.event(tx, c.tenantId, r.name, {
      type: 'started',
      message: `started over ${total} agents in ${plans.length} batches`,
      details: { totalAgents: total, batches: plans.map((p) => ({ name: p.name, take: p.take, plannedAgents: p.plannedAgents })) },
      actor: this.actor(c),
    });
    await this.desired.audit(
      tx,
      {
        tenantId: c.tenantId,
        actor: this.actor(c),
        action: `${this.auditPrefix}.start`,
        resourceType: this.auditPrefix,
        resourceName: r.name,
        details: { totalAgents: total, batches: plans.length, ...auditDetails },
      },
      true,
    );
    return started;
  }

  async startRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const peek = await this.load(this.repo.db, c, req['name']);
    const total = (await this.repo.targets(c.tenantId, peek.assignmentName)).length;
    const r = await this.repo.db.transaction(async (tx) => this.startInTx(tx, c, await this.load(tx, c, req['name'], true), total));
    this.onChange();
    return this.message(r);
  }

  protected async control(c: Caller, req: Req, action: Exclude<RolloutControl, 'start'>): Promise<Record<string, unknown>> {
    const reason = str(req['reason']);
    if (reason.length > 1024) throw invalidArgument('reason is limited to 1024 characters');
    const r = await this.repo.db.transaction(async (tx) => {
      const cur = await this.load(tx, c, req['name'], true);
      const next = nextRolloutState(cur.state, { kind: 'control', action });
      if (!next.ok) throw new DesiredStateError('FAILED_PRECONDITION', next.reason);
      const why = reason || `${action} by ${this.actor(c)}`;
      const batchWhere = `tenant_id = $1 AND rollout_name = $2 AND batch_index = $3`;
      const batchParams = [c.tenantId, cur.name, cur.currentBatch];
      let details: Record<string, unknown> = { reason: why, from: cur.state, to: next.state };
      let set = `state = $1, state_reason = $2`;
      if (action === 'pause') {
        await tx.query(`UPDATE rollout_batches SET state = 'applying', soak_started_at = NULL WHERE ${batchWhere} AND state = 'soaking'`, batchParams);
      } else if (action === 'resume') {
        // A batch stopped by its gate is judged again from scratch: its agents get a new apply deadline
        // (else the ones that timed out would fail it again at once) and are recorded again if they miss it.
        const rearmed = await tx.query(
          `UPDATE rollout_batches SET state = 'applying', soak_started_at = NULL, failure_reason = '', finished_at = NULL, deadline_from = now()
            WHERE ${batchWhere} AND state = 'failed'`,
          batchParams,
        );
        if ((rearmed.rowCount ?? 0) > 0) {
          await tx.query(`UPDATE rollout_agents SET timed_out_at = NULL WHERE ${batchWhere} AND timed_out_at IS NOT NULL`, batchParams);
        }
        set = `state = $1, state_reason = ''`;
      } else if (action === 'abort') {
        set += ', finished_at = now(), driver_id = NULL, lease_expires_at = NULL';
      } else {
        const reverted = await this.repo.revertMembers(tx, c.tenantId, cur.name);
        details = { ...details, reverted };
        set += ', finished_at = NULL';
      }
      const updated = await this.repo.update(tx, cur, { revision: cur.revision }, set, action === 'resume' ? [next.state] : [next.state, why]);
      const eventType = { pause: 'paused', resume: 'resumed', abort: 'aborted', rollback: 'rollback_started' }[action];
      await this.repo.event(tx, c.tenantId, cur.name, { type: eventType, message: why, details, actor: this.actor(c) });
      await this.desired.audit(tx, { tenantId: c.tenantId, actor: this.actor(c), action: `${this.auditPrefix}.${action}`, resourceType: this.auditPrefix, resourceName: cur.name, details }, false);
      return updated;
    });
    this.onChange();
    return this.message(r);
  }

  pauseRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'pause');
  }

  resumeRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'resume');
  }

  abortRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'abort');
  }

  rollbackRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.control(c, req, 'rollback');
  }

  // --- reading ------------------------------------------------------------------------------

  async getRollout(c: Caller, req: Req): Promise<Record<string, unknown>> {
    return this.message(await this.load(this.repo.db, c, req['name']));
  }

  async listRollouts(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const limit = pageSize(req['pageSize'], 50);
    const assignment = str(req['assignmentName']);
    if (assignment) checkResourceName(assignment, 'assignment');
    const before = pageToken(req['pageToken'], 'rollouts');
    const rows = await this.repo.list(c.tenantId, assignment, req['activeOnly'] === true, limit + 1, before);
    const page = rows.slice(0, limit);
    return {
      rollouts: await Promise.all(page.map((r) => this.message(r))),
      nextPageToken: rows.length > limit ? makePageToken('rollouts', page[page.length - 1].name) : '',
    };
  }

  /**
   * Events of a rollout after `after_id`, oldest first. With `wait_ms`, waits
   * up to that long for the first new event (long poll): a client follows the
   * stream by passing back `last_id`.
   */
  async listRolloutEvents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    // Every field is read before the rollout is looked up: bad input is refused the same whether or not it exists.
    const after = int(req['afterId'], 'after_id', 'int64');
    if (after < 0) throw invalidArgument('after_id must be >= 0');
    const limit = pageSize(req['pageSize']);
    const waitMs = int(req['waitMs'], 'wait_ms', 'uint32');
    if (waitMs < 0 || waitMs > MAX_WAIT_MS) throw invalidArgument(`wait_ms must be between 0 and ${MAX_WAIT_MS}`);
    const r = await this.load(this.repo.db, c, req['name'], false, true);
    const deadline = Date.now() + waitMs;
    let rows = await this.repo.events(c.tenantId, r.name, after, limit);
    while (rows.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, Math.min(200, Math.max(1, deadline - Date.now()))));
      rows = await this.repo.events(c.tenantId, r.name, after, limit);
    }
    return {
      events: rows.map((e) => ({
        id: str(e['id']),
        rolloutName: str(e['rollout_name']),
        type: str(e['type']),
        batchIndex: e['batch_index'] == null ? -1 : toNumber(e['batch_index']),
        message: str(e['message']),
        detailsJson: JSON.stringify(e['details'] ?? {}),
        actor: str(e['actor']),
        time: toIso(e['created_at']),
      })),
      lastId: rows.length ? str(rows[rows.length - 1]['id']) : String(after),
    };
  }

  private reasonOf(r: RolloutRecord, m: MemberRow, phase: AgentPhase): string {
    if (phase === 'not_sent') return m.notSentReason ?? '';
    if (phase === 'failed') return m.remoteConfigError ?? '';
    if (phase === 'timed_out') return `no APPLIED or FAILED for version ${r.toVersion} within ${r.applyTimeoutMs} ms of it being sent`;
    return '';
  }

  /** The agents a rollout has taken, with their phase (and why one is not sent or failed). */
  async listRolloutAgents(c: Caller, req: Req): Promise<Record<string, unknown>> {
    const r = await this.load(this.repo.db, c, req['name'], false, true);
    const limit = pageSize(req['pageSize']);
    const batch = typeof req['batchIndex'] === 'number' ? req['batchIndex'] : null;
    const phases = new Set((Array.isArray(req['phases']) ? (req['phases'] as unknown[]) : []).map(phaseFrom));
    const after = pageToken(req['pageToken'], 'rollout-agents');
    const rows = (await this.phases(r, batch))
      .map((m) => ({ m, phase: m.phase }))
      .filter((x) => phases.size === 0 || phases.has(x.phase))
      .filter((x) => after === null || `${String(x.m.batchIndex).padStart(4, '0')}:${x.m.instanceUid.toString('hex')}` > after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      agents: page.map(({ m, phase }) => ({
        instanceUid: m.instanceUid.toString('hex'),
        batchIndex: m.batchIndex,
        phase: phaseName(phase),
        reverted: m.reverted,
        reason: m.reason,
      })),
      nextPageToken: rows.length > limit && last ? makePageToken('rollout-agents', `${String(last.m.batchIndex).padStart(4, '0')}:${last.m.instanceUid.toString('hex')}`) : '',
    };
  }
}
