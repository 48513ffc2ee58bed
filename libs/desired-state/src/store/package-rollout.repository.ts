/**
 * PostgreSQL access for what differs in a package rollout (migration 0220;
 * the rollout, its batches, members, leases and events are
 * store/rollout.repository.ts's): the agents its package assignment
 * targets, what each member reports of the package versions the rollout
 * dictates for it (judged by core/package-rollout.ts), and the pins the
 * package reconciler applies.
 */
import { AgentCapabilities, hasCapability } from '@opamp/protocol';
import type { SqlExecutor } from '@opamp/store';
import {
  packageMemberDecided,
  packagePinApplies,
  planPackages,
  platformOf,
  reportedPackages,
  resolveAssignment,
  type CatalogVersion,
  type DesiredPackages,
  type PackageMemberObservation,
  type PackageTarget,
} from '../core';
import { toBuffer, toNumber } from './desired-state.repository';
import { PackageRepository, type PackageAssignment } from './package.repository';
import type { RolloutMember, RolloutRecord, RolloutRepository } from './rollout.repository';

export interface PackageMemberRow extends RolloutMember, PackageMemberObservation {}

/** A moved member's pin: the versions it runs while its package assignment still names the rollout's starting versions. */
export interface PackagePin {
  assignmentName: string;
  fromPackages: DesiredPackages;
  toPackages: DesiredPackages;
}

function labelsOf(v: unknown): Record<string, string> {
  const o = typeof v === 'string' ? (JSON.parse(v) as unknown) : v;
  if (!o || typeof o !== 'object' || Array.isArray(o)) return {};
  return Object.fromEntries(Object.entries(o as Record<string, unknown>).map(([k, x]) => [k, String(x ?? '')]));
}

export class PackageRolloutRepository {
  readonly packages: PackageRepository;

  constructor(readonly rollouts: RolloutRepository) {
    this.packages = new PackageRepository(rollouts.db);
  }

  /** The agents the package assignment targets (it wins for their labels), as RolloutRepository.targets walks them. */
  async targets(tenantId: string, assignmentName: string, options: { stageSelector?: string; excludeRollout?: string; limit?: number } = {}): Promise<Buffer[]> {
    const assignments = await this.packages.orderedAssignments(tenantId);
    const assignment = assignments.find((a) => a.name === assignmentName);
    if (!assignment) return [];
    return this.rollouts.targetsBy(tenantId, assignment.selector, (labels) => resolveAssignment(assignments, labels)?.name === assignmentName, options);
  }

  async assignment(tenantId: string, name: string, tx: SqlExecutor = this.rollouts.db): Promise<PackageAssignment | null> {
    return (await this.packages.orderedAssignments(tenantId, tx)).find((a) => a.name === name) ?? null;
  }

  /** The members of a package rollout (one batch, or all) as the gate sees them, and the database's clock. */
  async members(tenantId: string, r: RolloutRecord, batchIndex: number | null): Promise<{ nowMs: number; members: PackageMemberRow[] }> {
    const { rows } = await this.rollouts.db.query(
      `SELECT ra.instance_uid, ra.batch_index, ra.state AS pin_state, ra.timed_out_at IS NOT NULL AS timed_out_recorded,
              a.connected, a.healthy, a.capabilities, a.replaced_by, a.labels, a.packages_hash, a.package_statuses, a.packages_offered_hash,
              (extract(epoch FROM (now() - greatest(a.updated_at, rb.started_at))) * 1000)::float8 AS offline_ms,
              -- As for configurations: from the batch's (re)start or the agent's later connection, not from the last offer.
              (extract(epoch FROM greatest(coalesce(rb.deadline_from, rb.started_at), a.connected_since)) * 1000)::float8 AS applying_since_ms,
              (extract(epoch FROM now()) * 1000)::float8 AS now_ms
         FROM rollout_agents ra
         LEFT JOIN agents a ON a.tenant_id = ra.tenant_id AND a.instance_uid = ra.instance_uid
         LEFT JOIN rollout_batches rb ON rb.tenant_id = ra.tenant_id AND rb.rollout_name = ra.rollout_name AND rb.batch_index = ra.batch_index
        WHERE ra.tenant_id = $1 AND ra.rollout_name = $2 AND ($3::int IS NULL OR ra.batch_index = $3::int)
        ORDER BY ra.batch_index, ra.instance_uid`,
      [tenantId, r.name, batchIndex],
    );
    const catalog = await this.packages.versions(tenantId, [...r.fromPackages, ...r.toPackages]);
    let nowMs = Date.now();
    const members = rows.map((row): PackageMemberRow => {
      nowMs = toNumber(row['now_ms']);
      const pinState = row['pin_state'] as 'moved' | 'reverted';
      const desired = pinState === 'moved' ? r.toPackages : r.fromPackages;
      const labels = labelsOf(row['labels']);
      const plan = planPackages(desired, catalog, platformOf(labels));
      const capabilities = toNumber(row['capabilities']);
      const o: PackageMemberObservation = {
        connected: row['connected'] === true,
        offlineForMs: row['offline_ms'] == null ? null : toNumber(row['offline_ms']),
        healthy: (row['healthy'] as boolean | null) ?? null,
        acceptsPackages: hasCapability(capabilities, AgentCapabilities.AcceptsPackages),
        refusal: 'refused' in plan ? `${plan.refused}: ${plan.packageName}` : null,
        targets: targetsOf(desired, catalog),
        targetHash: 'refused' in plan ? null : plan.hash,
        offeredHash: toBuffer(row['packages_offered_hash']),
        reportedHash: toBuffer(row['packages_hash']),
        reported: reportedPackages(row['package_statuses']),
        serviceVersion: labels['service.version'] ?? null,
        applyingSinceMs: row['applying_since_ms'] == null ? null : toNumber(row['applying_since_ms']),
      };
      const decided = packageMemberDecided(o);
      return {
        ...o,
        instanceUid: toBuffer(row['instance_uid']) ?? Buffer.alloc(16),
        batchIndex: toNumber(row['batch_index']),
        pinState,
        decided,
        needsReconcile: row['connected'] === true && !decided,
        timedOutRecorded: row['timed_out_recorded'] === true,
        replacedBy: toBuffer(row['replaced_by']),
      };
    });
    if (rows.length === 0) {
      const now = await this.rollouts.db.query(`SELECT (extract(epoch FROM now()) * 1000)::float8 AS now_ms`);
      nowMs = toNumber(now.rows[0]['now_ms']);
    }
    return { nowMs, members };
  }

  /** Pins of these agents by the package rollouts that hold their package assignments. */
  async pins(tenantId: string, uids: readonly Buffer[]): Promise<Map<string, PackagePin>> {
    if (uids.length === 0) return new Map();
    const { rows } = await this.rollouts.db.query(
      `SELECT ra.instance_uid, r.assignment_name, r.from_packages, r.to_packages
         FROM rollout_agents ra JOIN rollouts r ON r.tenant_id = ra.tenant_id AND r.name = ra.rollout_name
        WHERE ra.tenant_id = $1 AND ra.instance_uid = ANY($2::bytea[]) AND ra.state = 'moved' AND r.holds_assignment AND r.target_kind = 'package'`,
      [tenantId, uids],
    );
    const out = new Map<string, PackagePin>();
    for (const row of rows) {
      const list = (v: unknown) => (Array.isArray(v) ? (v as Array<Record<string, unknown>>).map((p) => ({ packageName: String(p['packageName']), version: String(p['version']) })) : []);
      out.set((toBuffer(row['instance_uid']) as Buffer).toString('hex'), {
        assignmentName: String(row['assignment_name']),
        fromPackages: list(row['from_packages']),
        toPackages: list(row['to_packages']),
      });
    }
    return out;
  }
}

/** The versions a pin gives an agent its assignment selects: the pinned ones while the pin counts, else the assignment's. */
export function pinnedPackages(assignment: PackageAssignment, pin: PackagePin | undefined): DesiredPackages {
  return pin && pin.assignmentName === assignment.name && packagePinApplies(assignment.packages, pin.fromPackages) ? pin.toPackages : assignment.packages;
}

function targetsOf(desired: DesiredPackages, catalog: ReadonlyMap<string, CatalogVersion>): PackageTarget[] {
  return desired.map((d) => ({ packageName: d.packageName, version: d.version, kind: catalog.get(`${d.packageName}@${d.version}`)?.kind ?? 'top_level' }));
}
