/**
 * The rollout driver: every config-service replica runs one; exactly one
 * drives each rollout at a time. Each tick it takes or renews the leases of
 * rollouts that need driving (a lease row with expiry in `rollouts`, fenced
 * by an epoch that grows with every takeover) and steps each:
 *
 * - running: start the next batch (pick its agents, pin them to the new
 *   version in one fenced transaction, then let the reconciler push), or
 *   evaluate the current batch's gate (pure core/rollout.ts; with an
 *   own-telemetry gate, its agents' own metrics once the soak is over:
 *   own-telemetry-gate.evaluator.ts) and record
 *   agents past the apply deadline (once each), soaking, passed or failed;
 *   after the last batch, complete (the
 *   assignment moves to the new version in the same transaction);
 * - rolling back: push the previous version to every reverted agent, then
 *   record the rollback done.
 *
 * A rollout moves either an assignment's configuration version or a package
 * assignment's package versions (runtime/rollout-kinds.ts: targets, members,
 * judging, pushing and completing per kind); the steps above are the same.
 *
 * Everything it decides is in PostgreSQL before anything is pushed, so a
 * replica that takes over continues from where the rollout stood: agents
 * the reconciler already sent the version to are not sent it again
 * (reconcileAgents with onlyUnsent), agents not yet pushed are pushed.
 */
import { ServerTracing } from '@opamp/tracing';
import { randomBytes } from 'node:crypto';
import type { SqlExecutor } from '@opamp/store';
import {
  batchQuota,
  evaluateBatch,
  gatedSoakMs,
  nextRolloutState,
  toleratedFailures,
  type PhaseCounts,
} from '../core';
import { OwnTelemetryGateEvaluator, type OwnTelemetryGateResult } from './own-telemetry-gate.evaluator';
import type { Reconciler } from './reconciler';
import type { PackageReconciler } from './package.reconciler';
import { ConfigurationRolloutKind, PackageRolloutKind, type RolloutKindDriver } from './rollout-kinds';
import type { DesiredStateRepository } from '../store/desired-state.repository';
import { PackageRolloutRepository } from '../store/package-rollout.repository';
import { FenceLost, RolloutRepository, type BatchRecord, type Fence, type RolloutMember, type RolloutRecord } from '../store/rollout.repository';

export const SYSTEM_ACTOR = 'system';

export interface RolloutDriverOptions {
  /** Unique per replica (default: random). */
  driverId?: string;
  /** How long a lease lasts without renewal (default 15 s). */
  leaseMs?: number;
  /** Time between ticks (default 1 s). */
  tickMs?: number;
  /** Rollouts one replica drives at once (default 20). */
  maxRollouts?: number;
  /** Drives package rollouts too (without, they wait for a replica that has one). */
  packages?: PackageReconciler;
  /** This process's traces: every batch start is traced (rollout.batch), its pushes carry it (default off). */
  tracing?: ServerTracing;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface RolloutDriverMetrics {
  ticks: number;
  steps: number;
  leasesAcquired: number;
  batchesStarted: number;
  batchesPassed: number;
  batchesFailed: number;
  /** Agents recorded past their apply deadline. */
  agentsTimedOut: number;
  /** Own-telemetry gate decisions (batches judged on their agents' own metrics), and those that failed. */
  ownTelemetryGates: number;
  ownTelemetryGatesFailed: number;
  rolloutsCompleted: number;
  rolloutsRolledBack: number;
  fenceLost: number;
  errors: number;
}

export class RolloutDriver {
  readonly driverId: string;
  readonly metrics: RolloutDriverMetrics = {
    ticks: 0,
    steps: 0,
    leasesAcquired: 0,
    batchesStarted: 0,
    batchesPassed: 0,
    batchesFailed: 0,
    agentsTimedOut: 0,
    ownTelemetryGates: 0,
    ownTelemetryGatesFailed: 0,
    rolloutsCompleted: 0,
    rolloutsRolledBack: 0,
    fenceLost: 0,
    errors: 0,
  };
  private readonly leaseMs: number;
  private readonly tickMs: number;
  private readonly maxRollouts: number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private stopped = true;
  private again = false;
  private readonly kinds: { configuration: RolloutKindDriver; package: RolloutKindDriver | null };
  private readonly ownTelemetry: OwnTelemetryGateEvaluator;

  constructor(
    private readonly rollouts: RolloutRepository,
    reconciler: Reconciler,
    private readonly options: RolloutDriverOptions = {},
  ) {
    this.kinds = {
      configuration: new ConfigurationRolloutKind(rollouts, reconciler),
      package: options.packages ? new PackageRolloutKind(new PackageRolloutRepository(rollouts), options.packages) : null,
    };
    this.ownTelemetry = new OwnTelemetryGateEvaluator(rollouts.db);
    this.driverId = options.driverId ?? `driver-${randomBytes(6).toString('hex')}`;
    this.leaseMs = options.leaseMs ?? 15_000;
    this.tickMs = options.tickMs ?? 1_000;
    this.maxRollouts = options.maxRollouts ?? 20;
  }

  static create(repo: DesiredStateRepository, reconciler: Reconciler, options: RolloutDriverOptions = {}): RolloutDriver {
    return new RolloutDriver(new RolloutRepository(repo.db, repo), reconciler, options);
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.schedule(0);
  }

  /** Runs a tick soon (after an API change), without waiting for the interval. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.schedule(0);
  }

  /**
   * Stops ticking and waits for the tick in progress. With `releaseLeases`
   * (a graceful stop) another replica takes over at once; without (as after
   * a crash) only once the leases expire.
   */
  async stop(options: { releaseLeases?: boolean } = {}): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    if (options.releaseLeases !== false) await this.rollouts.release(this.driverId).catch(() => undefined);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.tick()
        .catch((err: unknown) => {
          this.metrics.errors++;
          this.options.log?.('error', `rollout driver tick failed: ${err instanceof Error ? err.message : String(err)}`);
        })
        .finally(() => {
          this.running = null;
          const again = this.again;
          this.again = false;
          this.schedule(again ? 0 : this.tickMs);
        });
    }, ms);
  }

  /** One pass over the rollouts this driver holds (public for tests). */
  async tick(): Promise<void> {
    this.metrics.ticks++;
    const claimed = await this.rollouts.claim(this.driverId, this.leaseMs, this.maxRollouts, this.kinds.package ? null : 'configuration');
    for (const c of claimed) {
      if (this.stopped) return;
      if (c.acquired) {
        this.metrics.leasesAcquired++;
        this.options.log?.('info', `driving rollout ${c.tenantId}/${c.name} (epoch ${c.leaseEpoch})`);
        await this.rollouts.db
          .transaction((tx) =>
            this.rollouts.event(tx, c.tenantId, c.name, {
              type: 'driver_acquired',
              message: `driver ${this.driverId} took the rollout (lease epoch ${c.leaseEpoch})`,
              details: { driverId: this.driverId, leaseEpoch: c.leaseEpoch },
              actor: SYSTEM_ACTOR,
            }),
          )
          .catch(() => undefined);
      }
      try {
        // A few steps per tick: a batch that passes starts the next one at once.
        for (let i = 0; i < 4 && !this.stopped; i++) {
          this.metrics.steps++;
          if (!(await this.step(c.tenantId, c.name, c.leaseEpoch))) break;
        }
      } catch (err) {
        if (err instanceof FenceLost) {
          this.metrics.fenceLost++;
          continue;
        }
        this.metrics.errors++;
        this.options.log?.('error', `rollout ${c.tenantId}/${c.name}: ${err instanceof Error ? err.stack : String(err)}`);
      }
    }
  }

  private fence(r: RolloutRecord, epoch: number): Fence {
    return { revision: r.revision, driverId: this.driverId, leaseEpoch: epoch };
  }

  /** One step of one rollout; true when another step may follow right away. */
  private async step(tenantId: string, name: string, epoch: number): Promise<boolean> {
    const r = await this.rollouts.get(this.rollouts.db, tenantId, name);
    if (!r || r.driverId !== this.driverId || r.leaseEpoch !== epoch) return false;
    const kind = this.kinds[r.targetKind];
    if (!kind) return false;
    if (r.state === 'rolling_back') return this.stepRollback(r, kind, epoch);
    if (r.state !== 'running') return false;
    const batches = await this.rollouts.batches(this.rollouts.db, tenantId, name);
    const current = r.currentBatch >= 0 ? batches[r.currentBatch] : undefined;
    if (!current || current.state === 'passed') {
      const next = batches[r.currentBatch + 1];
      if (!next) {
        await this.complete(r, kind, epoch);
        return false;
      }
      await this.startBatch(r, kind, next, epoch);
      return true;
    }
    if (current.state === 'pending') {
      await this.startBatch(r, kind, current, epoch);
      return true;
    }
    if (current.state === 'failed') return false; // waits for an operator (resume re-arms the batch)
    return this.evaluate(r, kind, current, epoch);
  }

  private async startBatch(r: RolloutRecord, kind: RolloutKindDriver, batch: BatchRecord, epoch: number): Promise<void> {
    const already = await this.rollouts.memberCount(this.rollouts.db, r.tenantId, r.name);
    const quota = batchQuota(batch.take, already);
    const picked =
      quota === 0
        ? []
        : await kind.targets(r, {
            stageSelector: batch.take.kind === 'stage' ? batch.take.selector : undefined,
            excludeRollout: r.name,
            limit: quota,
          });
    const added = await this.rollouts.db.transaction(async (tx) => {
      await this.rollouts.update(tx, r, this.fence(r, epoch), 'current_batch = $1', [batch.index]);
      const moved = await this.rollouts.addMembers(tx, r.tenantId, r.name, batch.index, picked);
      await tx.query(
        `UPDATE rollout_batches SET state = 'applying', agents = $4, started_at = now(), deadline_from = now(), soak_started_at = NULL, failure_reason = ''
          WHERE tenant_id = $1 AND rollout_name = $2 AND batch_index = $3`,
        [r.tenantId, r.name, batch.index, moved.length],
      );
      await this.rollouts.event(tx, r.tenantId, r.name, {
        type: 'batch_started',
        batchIndex: batch.index,
        message: `batch ${batch.index + 1} '${batch.name}' started: ${moved.length} agents move to ${kind.label(r, 'to')}`,
        details: { agents: moved.length },
        actor: SYSTEM_ACTOR,
      });
      await this.rollouts.desired.audit(
        tx,
        {
          tenantId: r.tenantId,
          actor: SYSTEM_ACTOR,
          action: 'rollout.batch_start',
          resourceType: 'rollout',
          resourceName: r.name,
          details: { batch: batch.index, name: batch.name, agents: moved.length, ...(r.targetKind === 'package' ? { toPackages: r.toPackages } : { toVersion: r.toVersion }) },
        },
        false,
      );
      return moved;
    });
    this.metrics.batchesStarted++;
    // A batch start is rare and what an operator asks about: traced whatever the sample ratio.
    const span = (this.options.tracing ?? ServerTracing.off).startForced(
      'rollout.batch',
      { 'opamp.tenant': r.tenantId, 'opamp.rollout': r.name, 'opamp.batch': batch.index, 'opamp.agents': added.length },
      'internal',
    );
    try {
      await kind.reconcile(r.tenantId, added, span?.traceParent);
    } catch (err) {
      span?.fail(err);
      throw err;
    } finally {
      span?.end();
    }
  }

  /**
   * Members whose agent took a new instance uid (their agents row is a
   * tombstone) follow it. The reconciler moves them when it handles the new
   * uid's first event; this repairs what that missed (or has not reached
   * yet), so the gate judges the agent, not its tombstone, which is offline
   * for good. True when something moved.
   */
  private async followReplacements(r: RolloutRecord, members: readonly RolloutMember[]): Promise<boolean> {
    const replaced = members.filter((m) => m.replacedBy !== null);
    for (const m of replaced) await this.rollouts.desired.moveAgentState(r.tenantId, m.instanceUid, m.replacedBy as Buffer);
    return replaced.length > 0;
  }

  private async evaluate(r: RolloutRecord, kind: RolloutKindDriver, batch: BatchRecord, epoch: number): Promise<boolean> {
    let { nowMs, members } = await kind.members(r, batch.index);
    if (await this.followReplacements(r, members)) ({ nowMs, members } = await kind.members(r, batch.index));
    // Level-triggered repair: members not decided (or decided and not sent) yet, e.g. after a takeover.
    const unsettled = members.filter((m) => m.needsReconcile).map((m) => m.instanceUid);
    if (unsettled.length > 0) await kind.reconcile(r.tenantId, unsettled);
    const deadline = { applyTimeoutMs: r.applyTimeoutMs, nowMs };
    const progress = members.map((m) => kind.progress(r, m, r.soakMs, deadline));
    await this.recordTimedOut(
      r,
      kind,
      batch,
      members.filter((m, i) => progress[i].phase === 'timed_out' && !m.timedOutRecorded).map((m) => m.instanceUid),
    );
    // Under an own-telemetry gate the soak lasts at least one window after every agent applied.
    const soakMs = gatedSoakMs(r.soakMs, r.gates.ownTelemetry);
    let verdict = evaluateBatch({
      members: progress,
      gates: r.gates,
      soakMs,
      nowMs,
      soakStartedAtMs: batch.state === 'soaking' ? batch.soakStartedAtMs : null,
    });
    let telemetry: OwnTelemetryGateResult | null = null;
    if (verdict.verdict === 'passed' && r.gates.ownTelemetry) {
      const bad = progress.filter((p) => p.bad).length;
      telemetry = await this.ownTelemetry.evaluate({
        tenantId: r.tenantId,
        gate: r.gates.ownTelemetry,
        applied: members.filter((_, i) => progress[i].phase === 'applied').map((m) => m.instanceUid),
        batchStartedAtMs: Date.parse(batch.startedAt),
        nowMs,
        toleratedSilent: Math.max(0, toleratedFailures(r.gates, members.length) - bad),
      });
      this.metrics.ownTelemetryGates++;
      if (telemetry.decision === 'failed') {
        this.metrics.ownTelemetryGatesFailed++;
        verdict = { verdict: 'failed', counts: verdict.counts, reason: telemetry.reason };
      }
    }
    const fence = this.fence(r, epoch);
    switch (verdict.verdict) {
      case 'waiting':
        if (batch.state === 'soaking') {
          await this.rollouts.db.transaction(async (tx) => {
            await this.rollouts.update(tx, r, fence, 'current_batch = current_batch');
            await this.setBatch(tx, r, batch.index, `state = 'applying', soak_started_at = NULL`);
            await this.rollouts.event(tx, r.tenantId, r.name, {
              type: 'batch_soak_reset',
              batchIndex: batch.index,
              message: `batch ${batch.index + 1}: agents not settled again, soak restarts`,
              details: { progress: verdict.counts },
              actor: SYSTEM_ACTOR,
            });
          });
        }
        return false;
      case 'soaking':
        if (batch.state !== 'soaking') {
          await this.rollouts.db.transaction(async (tx) => {
            await this.rollouts.update(tx, r, fence, 'current_batch = current_batch');
            await this.setBatch(tx, r, batch.index, `state = 'soaking', soak_started_at = to_timestamp($4::float8 / 1000)`, [verdict.soakStartedAtMs]);
            await this.rollouts.event(tx, r.tenantId, r.name, {
              type: 'batch_soaking',
              batchIndex: batch.index,
              message: `batch ${batch.index + 1}: every agent applied, soaking for ${soakMs} ms${soakMs !== r.soakMs ? ' (the own-telemetry window)' : ''}`,
              details: { progress: verdict.counts },
              actor: SYSTEM_ACTOR,
            });
          });
        }
        return false;
      case 'passed':
        await this.rollouts.db.transaction(async (tx) => {
          await this.rollouts.update(tx, r, fence, 'current_batch = current_batch');
          await this.setBatch(tx, r, batch.index, `state = 'passed', finished_at = now()`);
          if (telemetry) await this.recordOwnTelemetry(tx, r, batch, telemetry);
          await this.rollouts.event(tx, r.tenantId, r.name, {
            type: 'batch_passed',
            batchIndex: batch.index,
            message: `batch ${batch.index + 1} '${batch.name}' passed`,
            details: { progress: verdict.counts },
            actor: SYSTEM_ACTOR,
          });
          await this.rollouts.desired.audit(
            tx,
            { tenantId: r.tenantId, actor: SYSTEM_ACTOR, action: 'rollout.batch_pass', resourceType: 'rollout', resourceName: r.name, details: { batch: batch.index, progress: verdict.counts } },
            false,
          );
        });
        this.metrics.batchesPassed++;
        return true;
      case 'failed':
        await this.failBatch(r, kind, batch, verdict.reason, verdict.counts, epoch, telemetry);
        return true;
    }
  }

  /**
   * One rollout event per agent that passed its apply deadline, before the
   * gate's verdict (which counts them), so the event stream says why a batch
   * failed or passed with fewer agents applied. Not fenced: it records a fact,
   * once per agent (markTimedOut), and decides nothing.
   */
  private async recordTimedOut(r: RolloutRecord, kind: RolloutKindDriver, batch: BatchRecord, uids: Buffer[]): Promise<void> {
    if (uids.length === 0) return;
    const marked = await this.rollouts.db.transaction(async (tx) => {
      const newly = await this.rollouts.markTimedOut(tx, r.tenantId, r.name, uids);
      if (newly.length === 0) return 0;
      await this.rollouts.event(tx, r.tenantId, r.name, {
        type: 'agents_timed_out',
        batchIndex: batch.index,
        message:
          `batch ${batch.index + 1}: ${newly.length} agent${newly.length === 1 ? '' : 's'} did not report ${kind.label(r, 'to')} ` +
          `${r.targetKind === 'package' ? 'installed or failed' : 'applied or failed'} within ${r.applyTimeoutMs} ms of it being sent; counted against the gate`,
        // The first ones by uid; ListRolloutAgents with phase TIMED_OUT lists them all.
        details: { count: newly.length, applyTimeoutMs: r.applyTimeoutMs, agents: newly.slice(0, 100).map((u) => u.toString('hex')) },
        actor: SYSTEM_ACTOR,
      });
      return newly.length;
    });
    this.metrics.agentsTimedOut += marked;
  }

  private async setBatch(tx: SqlExecutor, r: RolloutRecord, index: number, set: string, params: unknown[] = []): Promise<void> {
    await tx.query(`UPDATE rollout_batches SET ${set} WHERE tenant_id = $1 AND rollout_name = $2 AND batch_index = $3`, [r.tenantId, r.name, index, ...params]);
  }

  /**
   * The own-telemetry gate's decision and the numbers behind it, as the
   * rollout event `own_telemetry_gate` (the console shows it per batch), in
   * the transaction that passes or fails the batch.
   */
  private async recordOwnTelemetry(tx: SqlExecutor, r: RolloutRecord, batch: BatchRecord, t: OwnTelemetryGateResult): Promise<void> {
    const iso = (ms: number) => new Date(ms).toISOString();
    await this.rollouts.event(tx, r.tenantId, r.name, {
      type: 'own_telemetry_gate',
      batchIndex: batch.index,
      message: `batch ${batch.index + 1} '${batch.name}' ${t.decision} its own-telemetry gate: ${t.reason}`,
      details: {
        decision: t.decision,
        reason: t.reason,
        gate: r.gates.ownTelemetry,
        before: { from: iso(t.windows.before.fromMs), to: iso(t.windows.before.toMs) },
        after: { from: iso(t.windows.after.fromMs), to: iso(t.windows.after.toMs) },
        ...t.numbers,
      },
      actor: SYSTEM_ACTOR,
    });
  }

  private async failBatch(
    r: RolloutRecord,
    kind: RolloutKindDriver,
    batch: BatchRecord,
    reason: string,
    counts: PhaseCounts,
    epoch: number,
    telemetry: OwnTelemetryGateResult | null = null,
  ): Promise<void> {
    const next = nextRolloutState(r.state, { kind: 'gate_failed', autoRollback: r.autoRollback });
    if (!next.ok) return;
    const stateReason = `batch ${batch.index + 1} '${batch.name}' failed its gate: ${reason}`;
    await this.rollouts.db.transaction(async (tx) => {
      await this.rollouts.update(tx, r, this.fence(r, epoch), 'state = $1, state_reason = $2', [next.state, stateReason]);
      await this.setBatch(tx, r, batch.index, `state = 'failed', failure_reason = $4, finished_at = now()`, [reason]);
      if (telemetry) await this.recordOwnTelemetry(tx, r, batch, telemetry);
      await this.rollouts.event(tx, r.tenantId, r.name, {
        type: 'batch_failed',
        batchIndex: batch.index,
        message: stateReason,
        details: telemetry ? { progress: counts, gate: 'own_telemetry' } : { progress: counts },
        actor: SYSTEM_ACTOR,
      });
      let reverted = 0;
      if (next.state === 'rolling_back') reverted = await this.rollouts.revertMembers(tx, r.tenantId, r.name);
      await this.rollouts.event(tx, r.tenantId, r.name, {
        type: next.state === 'rolling_back' ? 'rollback_started' : 'paused',
        message: next.state === 'rolling_back' ? `automatic rollback: ${reverted} agents return to ${kind.label(r, 'from')}` : 'paused by the gate',
        details: { reason: stateReason, reverted },
        actor: SYSTEM_ACTOR,
      });
      await this.rollouts.desired.audit(
        tx,
        {
          tenantId: r.tenantId,
          actor: SYSTEM_ACTOR,
          action: next.state === 'rolling_back' ? 'rollout.auto_rollback' : 'rollout.gate_pause',
          resourceType: 'rollout',
          resourceName: r.name,
          details: { batch: batch.index, reason, progress: counts, reverted },
        },
        false,
      );
    });
    this.metrics.batchesFailed++;
  }

  private async stepRollback(r: RolloutRecord, kind: RolloutKindDriver, epoch: number): Promise<boolean> {
    let { members } = await kind.members(r, null);
    if (await this.followReplacements(r, members)) ({ members } = await kind.members(r, null));
    const todo = members.filter((m) => m.pinState === 'reverted' && m.needsReconcile).map((m) => m.instanceUid);
    if (todo.length > 0) await kind.reconcile(r.tenantId, todo);
    const { members: after } = todo.length > 0 ? await kind.members(r, null) : { members };
    const left = after.filter((m) => m.pinState === 'reverted' && m.needsReconcile);
    // Offline agents get the previous version on their next connection; nothing to wait for once decided.
    if (left.some((m) => !m.decided)) return false;
    const next = nextRolloutState(r.state, { kind: 'rollback_done' });
    if (!next.ok) return false;
    await this.rollouts.db.transaction(async (tx) => {
      await this.rollouts.update(tx, r, this.fence(r, epoch), `state = $1, finished_at = now(), driver_id = NULL, lease_expires_at = NULL`, [next.state]);
      await this.rollouts.event(tx, r.tenantId, r.name, {
        type: 'rolled_back',
        message: `${after.filter((m) => m.pinState === 'reverted').length} agents returned to ${kind.label(r, 'from')}`,
        actor: SYSTEM_ACTOR,
      });
      await this.rollouts.desired.audit(
        tx,
        { tenantId: r.tenantId, actor: SYSTEM_ACTOR, action: 'rollout.rolled_back', resourceType: 'rollout', resourceName: r.name, details: { reason: r.stateReason } },
        false,
      );
    });
    this.metrics.rolloutsRolledBack++;
    return false;
  }

  private async complete(r: RolloutRecord, kind: RolloutKindDriver, epoch: number): Promise<void> {
    const next = nextRolloutState(r.state, { kind: 'all_batches_passed' });
    if (!next.ok) return;
    const selector = await this.rollouts.db.transaction(async (tx) => {
      await this.rollouts.update(tx, r, this.fence(r, epoch), `state = $1, state_reason = '', finished_at = now(), driver_id = NULL, lease_expires_at = NULL`, [next.state]);
      const selector = await kind.complete(tx, r);
      const what = r.targetKind === 'package' ? 'package assignment' : 'assignment';
      await this.rollouts.event(tx, r.tenantId, r.name, { type: 'completed', message: `every batch passed: ${what} '${r.assignmentName}' is at ${kind.label(r, 'to')}`, actor: SYSTEM_ACTOR });
      await this.rollouts.desired.audit(
        tx,
        {
          tenantId: r.tenantId,
          actor: SYSTEM_ACTOR,
          action: 'rollout.complete',
          resourceType: 'rollout',
          resourceName: r.name,
          details:
            r.targetKind === 'package'
              ? { packageAssignment: r.assignmentName, fromPackages: r.fromPackages, toPackages: r.toPackages }
              : { assignment: r.assignmentName, configuration: r.configurationName, fromVersion: r.fromVersion, toVersion: r.toVersion },
        },
        true,
      );
      return selector;
    });
    this.metrics.rolloutsCompleted++;
    // Agents that appeared after the last batch started follow the assignment now.
    if (selector !== null) void kind.reevaluate(r.tenantId, selector).catch(() => undefined);
  }
}
