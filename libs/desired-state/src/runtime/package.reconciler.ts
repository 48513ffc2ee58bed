/**
 * Desired packages, level-triggered like configurations: on agent events
 * (connection, capabilities, description, package statuses) and after a
 * package assignment changes, each connected agent's package assignment is
 * planned for its platform and offered as PackagesAvailable when the
 * decision says so (core/package-offer.ts decides; this file reads rows,
 * signs download addresses and pushes). Uploaded files are offered at a
 * signed address on the gateways; URL files at the operator's URL. Agents a
 * package rollout has moved get the rollout's versions instead of their
 * assignment's (store/package-rollout.repository.ts pinnedPackages).
 */
import { AgentEventCodec, EnvelopeDecodeError, fleet, PACKAGE_URL_TTL_S, packageDownloadUrl } from '@opamp/contracts';
import {
  addToPackageGroup,
  attemptHash,
  CONFIG_STATUS_WAIT_MS,
  currentAttempt,
  DEFAULT_PACKAGE_RETRY_BACKOFF_MS,
  decidePackageOffer,
  decidePackageRetry,
  emptyPackageGroupCounts,
  packageGroupBucket,
  packagesAvailableMessage,
  parseSelector,
  planPackages,
  platformOf,
  reportedPackages,
  resolveAssignment,
  selectorToSql,
  sendConnection,
  type PackageDecisionReason,
  type PackageGroupCounts,
  type PackagePlan,
  type PlannedPackage,
  type PlanRefusal,
} from '../core';
import type { AgentPushDispatcher, PushTarget } from '../store/agent-push.dispatcher';
import { toBuffer, type DesiredStateRepository } from '../store/desired-state.repository';
import { PackageRepository, type PackageAssignment } from '../store/package.repository';
import { pinnedPackages, PackageRolloutRepository, type PackagePin } from '../store/package-rollout.repository';
import { RolloutRepository } from '../store/rollout.repository';

export interface PackageReconcilerOptions {
  /** Where agents reach the gateways' package downloads (https://host), and the key addresses are signed with; without both, uploaded files are not offered. */
  downloadBase: string | null | (() => string | null);
  urlKey: Buffer | null;
  now?: () => number;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /** Waits before each retry of a failed install (core/package-retry.ts); [] never retries. */
  retryBackoffMs?: readonly number[];
}

/** What the reconciler decided for an agent (GetAgentPackages shows it). */
export interface AgentPackageDecision {
  assignmentName: string;
  state: PackageDecisionReason | PlanRefusal | 'no_assignment' | 'no_download_url';
  /** The package a refusal is about. */
  packageName: string;
  desiredHash: Buffer | null;
}

export interface PackageReconcilerMetrics {
  eventsHandled: number;
  offersSent: number;
  /** Offers that were retries of a failed install. */
  retriesSent: number;
  /** Agents sent nothing because of their platform, a withdrawn or unknown version, or no download address. */
  refusals: Record<string, number>;
}

const C = fleet.v1.AgentChange;
const RELEVANT = C.AGENT_CHANGE_CONNECTION | C.AGENT_CHANGE_CAPABILITIES | C.AGENT_CHANGE_DESCRIPTION | C.AGENT_CHANGE_PACKAGE_STATUSES;
const PAGE = 500;

const AGENT_COLUMNS = `instance_uid, capabilities, labels, connected, gateway_id, connection_id, epoch, transport, packages_hash, package_statuses,
  packages_offered_hash, packages_offered_connection, packages_offered_at, packages_retry_of, packages_retries, packages_failed_at`;

export class PackageReconciler {
  readonly metrics: PackageReconcilerMetrics = { eventsHandled: 0, offersSent: 0, retriesSent: 0, refusals: {} };
  readonly repo: PackageRepository;
  private readonly now: () => number;
  private warnedNoUrl = false;
  /** Package rollouts' pins and members. */
  readonly rollouts: PackageRolloutRepository;

  constructor(
    desired: DesiredStateRepository,
    private readonly dispatcher: AgentPushDispatcher,
    private readonly options: PackageReconcilerOptions,
  ) {
    this.repo = new PackageRepository(desired.db);
    this.rollouts = new PackageRolloutRepository(new RolloutRepository(desired.db, desired));
    this.now = options.now ?? Date.now;
  }

  /** One batch of AgentEvent records: the connected agents whose relevant state changed, decided again from their rows. */
  async handleEventRecords(values: ReadonlyArray<Buffer | null>): Promise<void> {
    const byTenant = new Map<string, Map<string, Buffer>>();
    for (const value of values) {
      if (!value) continue;
      let e: fleet.v1.AgentEvent;
      try {
        e = AgentEventCodec.decode(value);
      } catch (err) {
        if (err instanceof EnvelopeDecodeError) continue;
        throw err;
      }
      if (!e.tenantId || e.instanceUid?.length !== 16 || (Number(e.changes ?? 0) & RELEVANT) === 0) continue;
      const uid = Buffer.from(e.instanceUid);
      const m = byTenant.get(e.tenantId) ?? new Map<string, Buffer>();
      m.set(uid.toString('hex'), uid);
      byTenant.set(e.tenantId, m);
    }
    for (const [tenantId, uids] of byTenant) await this.reconcileAgents(tenantId, [...uids.values()]);
    this.metrics.eventsHandled += values.length;
  }

  /** The connected agents these selectors match, page by page (after an assignment or catalog change). */
  async reconcileSelectors(tenantId: string, selectors: readonly string[]): Promise<void> {
    if (selectors.length === 0) return;
    const params: unknown[] = [tenantId];
    const where = selectors.map((text) => {
      const sel = selectorToSql(parseSelector(text), 'labels', params.length);
      params.push(...sel.params);
      return `(${sel.sql})`;
    });
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const { rows } = await this.repo.db.query(
        `SELECT instance_uid FROM agents WHERE tenant_id = $1 AND connected AND (${where.join(' OR ')}) AND instance_uid > $${params.length + 1} ORDER BY instance_uid LIMIT ${PAGE}`,
        [...params, after],
      );
      const uids = rows.map((r) => toBuffer(r['instance_uid']) as Buffer);
      if (uids.length > 0) await this.reconcileAgents(tenantId, uids);
      if (uids.length < PAGE) return;
      after = uids[uids.length - 1];
    }
  }

  async reconcileAgents(tenantId: string, uids: readonly Buffer[]): Promise<void> {
    const assignments = await this.repo.orderedAssignments(tenantId);
    if (assignments.length === 0) return;
    for (let i = 0; i < uids.length; i += PAGE) {
      const page = uids.slice(i, i + PAGE);
      const pins = await this.rollouts.pins(tenantId, page);
      const catalog = await this.repo.versions(tenantId, [...assignments.flatMap((a) => a.packages), ...[...pins.values()].flatMap((p) => p.toPackages)]);
      const { rows } = await this.repo.db.query(`SELECT ${AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND instance_uid = ANY($2::bytea[]) AND connected`, [tenantId, page]);
      for (const r of rows) {
        const planned = this.plan(tenantId, assignments, catalog, r, pins.get((toBuffer(r['instance_uid']) as Buffer).toString('hex')));
        if (!('plan' in planned)) {
          if (planned.decision.state !== 'no_assignment') this.metrics.refusals[planned.decision.state] = (this.metrics.refusals[planned.decision.state] ?? 0) + 1;
          continue;
        }
        const { plan, decision, target, connection, retry } = planned;
        const uid = toBuffer(r['instance_uid']) as Buffer;
        if (retry?.recordFailure) await this.repo.recordInstallFailure(tenantId, uid, retry.of, retry.retries);
        if (decision.state !== 'send') continue;
        // Claimed before the push: the event consumer and the rollout driver may decide for one agent at once.
        const claim = retry && !retry.recordFailure ? { of: retry.of, retries: retry.retries } : undefined;
        if (!(await this.repo.claimOffer(tenantId, uid, plan.hash, connection, CONFIG_STATUS_WAIT_MS, claim))) continue;
        const message = packagesAvailableMessage(uid, plan, (p) => this.urlOf(tenantId, p) as string);
        await this.dispatcher.push(tenantId, uid, target, 'packages_available', message);
        this.metrics.offersSent++;
        if (claim) this.metrics.retriesSent++;
      }
    }
  }

  /** The decision for one agent as GetAgentPackages shows it (the same path the reconciler takes). */
  async decisionFor(tenantId: string, uid: Buffer): Promise<AgentPackageDecision | null> {
    const { rows } = await this.repo.db.query(`SELECT ${AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND instance_uid = $2`, [tenantId, uid]);
    if (rows.length === 0) return null;
    const assignments = await this.repo.orderedAssignments(tenantId);
    const pin = (await this.rollouts.pins(tenantId, [uid])).get(uid.toString('hex'));
    const catalog = await this.repo.versions(tenantId, [...assignments.flatMap((a) => a.packages), ...(pin?.toPackages ?? [])]);
    return this.plan(tenantId, assignments, catalog, rows[0], pin).decision;
  }

  /**
   * Where the agents the named package assignment wins for stand (connected or
   * not), a page at a time: each decided as the reconciler would, then put in
   * its bucket (core/package-group-state.ts). Null when there is no such assignment.
   */
  async groupState(tenantId: string, assignmentName: string): Promise<PackageGroupCounts | null> {
    const assignments = await this.repo.orderedAssignments(tenantId);
    const assignment = assignments.find((a) => a.name === assignmentName);
    if (!assignment) return null;
    const counts = emptyPackageGroupCounts();
    const params: unknown[] = [tenantId];
    const sel = selectorToSql(assignment.selector, 'labels', params.length);
    params.push(...sel.params);
    let after: Buffer = Buffer.alloc(0);
    for (;;) {
      const { rows } = await this.repo.db.query(
        `SELECT ${AGENT_COLUMNS} FROM agents WHERE tenant_id = $1 AND (${sel.sql}) AND instance_uid > $${params.length + 1} ORDER BY instance_uid LIMIT ${PAGE}`,
        [...params, after],
      );
      const uids = rows.map((r) => toBuffer(r['instance_uid']) as Buffer);
      const pins = await this.rollouts.pins(tenantId, uids);
      const catalog = await this.repo.versions(tenantId, [...assignment.packages, ...[...pins.values()].flatMap((p) => p.toPackages)]);
      for (const r of rows) {
        const pin = pins.get((toBuffer(r['instance_uid']) as Buffer).toString('hex'));
        const { decision } = this.plan(tenantId, assignments, catalog, r, pin);
        // Another assignment of higher priority wins for this agent: not this group's.
        if (decision.assignmentName !== assignment.name) continue;
        addToPackageGroup(counts, packageGroupBucket(decision.state, pinnedPackages(assignment, pin), r['package_statuses']));
      }
      if (rows.length < PAGE) return counts;
      after = uids[uids.length - 1];
    }
  }

  private plan(
    tenantId: string,
    assignments: readonly PackageAssignment[],
    catalog: Awaited<ReturnType<PackageRepository['versions']>>,
    r: Record<string, unknown>,
    pin?: PackagePin,
  ): { decision: AgentPackageDecision } | { decision: AgentPackageDecision; plan: PackagePlan; target: PushTarget; connection: string; retry?: RetryStep } {
    const labels = labelsOf(r['labels']);
    const assignment = resolveAssignment(assignments, labels);
    if (!assignment) return { decision: { assignmentName: '', state: 'no_assignment', packageName: '', desiredHash: null } };
    const planned = planPackages(pinnedPackages(assignment, pin), catalog, platformOf(labels));
    if ('refused' in planned) return { decision: { assignmentName: assignment.name, state: planned.refused, packageName: planned.packageName, desiredHash: null } };
    const missingUrl = planned.packages.find((p) => this.urlOf(tenantId, p) === null);
    if (missingUrl) {
      if (!this.warnedNoUrl) this.options.log?.('warn', 'a package assignment names uploaded files, but no package download URL or URL key is configured: they are not offered');
      this.warnedNoUrl = true;
      return { decision: { assignmentName: assignment.name, state: 'no_download_url', packageName: missingUrl.name, desiredHash: planned.hash } };
    }
    const target: PushTarget = {
      connected: r['connected'] === true,
      gatewayId: r['gateway_id'] ? String(r['gateway_id']) : null,
      connectionId: String(r['connection_id'] ?? ''),
      epoch: Number(r['epoch'] ?? 0),
      transport: Number(r['transport'] ?? 0),
    };
    const connection = sendConnection(target);
    const offeredAt = r['packages_offered_at'];
    const failedAt = r['packages_failed_at'];
    const retryOf = toBuffer(r['packages_retry_of']);
    const state = { of: retryOf, retries: Number(r['packages_retries'] ?? 0), failedAtMs: failedAt ? new Date(failedAt as string).getTime() : null };
    // The set goes out as its current attempt (core/package-retry.ts): attempt 0 is the set's own hash.
    const attempt = currentAttempt(planned.hash, state);
    const offered: PackagePlan = { ...planned, hash: attemptHash(planned.hash, attempt) };
    const now = this.now();
    const d = decidePackageOffer(
      offered,
      {
        capabilities: Number(r['capabilities'] ?? 0),
        reportedHash: toBuffer(r['packages_hash']),
        reported: reportedPackages(r['package_statuses']),
        offeredHash: toBuffer(r['packages_offered_hash']),
        offeredConnection: r['packages_offered_connection'] ? String(r['packages_offered_connection']) : null,
        offeredAtMs: offeredAt ? new Date(offeredAt as string).getTime() : null,
      },
      connection,
      now,
      CONFIG_STATUS_WAIT_MS,
      attempt > 0,
    );
    const decided = (reason: PackageDecisionReason, plan: PackagePlan, retry?: RetryStep) => ({
      decision: { assignmentName: assignment.name, state: reason, packageName: '', desiredHash: planned.hash },
      plan,
      target,
      connection,
      ...(retry ? { retry } : {}),
    });
    if (d.reason !== 'install_failed') return decided(d.reason, offered);
    // The failure time belongs to this set's current attempt; agents a rollout moved are judged by its gate, not retried.
    const failedAtMs = state.of !== null && state.of.equals(planned.hash) ? state.failedAtMs : null;
    const next = decidePackageRetry(attempt, failedAtMs, now, this.retryBackoffMs, pin === undefined);
    if (next.kind === 'failed') return decided('install_failed', offered);
    if (next.kind === 'wait') return decided('install_retry_pending', offered, { of: planned.hash, retries: attempt, recordFailure: next.recordFailure });
    return decided('send', { ...planned, hash: attemptHash(planned.hash, next.attempt) }, { of: planned.hash, retries: next.attempt, recordFailure: false });
  }

  private get retryBackoffMs(): readonly number[] {
    return this.options.retryBackoffMs ?? DEFAULT_PACKAGE_RETRY_BACKOFF_MS;
  }

  /** Agents whose failed install is due for a retry, re-decided (the retry sweep calls it). */
  async retryDue(limit: number): Promise<number> {
    const due = await this.repo.retriesDue(this.retryBackoffMs, limit);
    const byTenant = new Map<string, Buffer[]>();
    for (const d of due) byTenant.set(d.tenantId, [...(byTenant.get(d.tenantId) ?? []), d.instanceUid]);
    for (const [tenantId, uids] of byTenant) {
      await this.reconcileAgents(tenantId, uids);
      // Still due after deciding again: not retried here (moved by a rollout, no assignment any more): not swept again.
      await this.repo.clearDueFailures(tenantId, uids, this.retryBackoffMs);
    }
    return due.length;
  }

  /** The operator's URL, or a signed address on the gateways for an upload; null when none can be given. */
  private urlOf(tenantId: string, p: PlannedPackage): string | null {
    if (p.file.source === 'url') return p.file.url;
    const base = typeof this.options.downloadBase === 'function' ? this.options.downloadBase() : this.options.downloadBase;
    if (!base || !this.options.urlKey) return null;
    return packageDownloadUrl(base, this.options.urlKey, { tenantId, sha256Hex: p.file.sha256.toString('hex'), expiresAtS: Math.floor(this.now() / 1000) + PACKAGE_URL_TTL_S });
  }
}

/** A retry's bookkeeping: record the failure of `retries` (waiting), or offer attempt `retries` of set `of`. */
interface RetryStep {
  of: Buffer;
  retries: number;
  recordFailure: boolean;
}

function labelsOf(v: unknown): Record<string, string> {
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, x]) => [k, String(x ?? '')]));
}
