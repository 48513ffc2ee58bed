/**
 * The packages decision for one agent, pure: which files its package
 * assignment gives its platform, the content hash of that set, and whether
 * to send PackagesAvailable now.
 *
 * Rules (conformance C70-C72, issue 17 item 3):
 * - Only to agents with AcceptsPackages (0x8); `all_packages_hash` always set (C70).
 * - The set's hash covers names, kinds, versions, file content hashes and
 *   signatures, never download URLs (a signed URL changes as it is re-signed;
 *   the set does not).
 * - An agent that reports package statuses (0x10) gets the set when its
 *   `server_provided_all_packages_hash` differs (C71), and never when it
 *   matches; not again while its status is awaited on the connection it was
 *   sent to; and not again once it reported INSTALL_FAILED for the version
 *   offered (no install loop: a new set, another version, is offered again).
 * - An agent that does not report them gets a given set once.
 * - An agent whose platform has no file in one of its versions (or whose
 *   assignment names a withdrawn or unknown version) is sent nothing and is
 *   reported with the reason.
 */
import { createHash } from 'node:crypto';
import { AgentCapabilities, hasCapability, mayOffer, opamp, type IServerToAgent } from '@opamp/protocol';
import { CONFIG_STATUS_WAIT_MS } from './limits';
import { fileForPlatform, type PackageKind, type Platform } from './package-catalog';

export interface CatalogFile extends Platform {
  sha256: Buffer;
  signature: Buffer | null;
  source: 'url' | 'upload';
  url: string | null;
}

export interface CatalogVersion {
  packageName: string;
  kind: PackageKind;
  version: string;
  withdrawn: boolean;
  files: readonly CatalogFile[];
}

export interface PlannedPackage {
  name: string;
  kind: PackageKind;
  version: string;
  file: CatalogFile;
  /** PackageAvailable.hash: this package at this version and file. */
  hash: Buffer;
}

export interface PackagePlan {
  packages: PlannedPackage[];
  /** PackagesAvailable.all_packages_hash. */
  hash: Buffer;
}

export type PlanRefusal = 'no_file_for_platform' | 'version_withdrawn' | 'version_unknown';

/** What the agent's assignment names: package -> version. */
export type DesiredPackages = ReadonlyArray<{ packageName: string; version: string }>;

function sha256(parts: readonly (string | Buffer)[]): Buffer {
  const h = createHash('sha256');
  for (const p of parts) {
    const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
    // Length-prefixed, so no two different part lists hash alike.
    h.update(`${b.length}:`);
    h.update(b);
  }
  return h.digest();
}

/**
 * The set of files an agent on `platform` gets for `desired`, from the
 * catalog versions; or why it gets nothing (with the package it is about).
 */
export function planPackages(desired: DesiredPackages, catalog: ReadonlyMap<string, CatalogVersion>, platform: Platform | null): PackagePlan | { refused: PlanRefusal; packageName: string } {
  const packages: PlannedPackage[] = [];
  for (const d of [...desired].sort((a, b) => (a.packageName < b.packageName ? -1 : a.packageName > b.packageName ? 1 : 0))) {
    const v = catalog.get(`${d.packageName}@${d.version}`);
    if (!v) return { refused: 'version_unknown', packageName: d.packageName };
    if (v.withdrawn) return { refused: 'version_withdrawn', packageName: d.packageName };
    const file = fileForPlatform(v.files, platform);
    if (!file) return { refused: 'no_file_for_platform', packageName: d.packageName };
    packages.push({ name: d.packageName, kind: v.kind, version: v.version, file, hash: sha256([d.packageName, v.kind, v.version, file.sha256, file.signature ?? Buffer.alloc(0)]) });
  }
  return { packages, hash: sha256(packages.flatMap((p) => [p.name, p.hash])) };
}

/** One reported package status, as status-ingest stores it (PackageStatuses JSON). */
export interface ReportedPackage {
  serverOfferedVersion: string;
  status: number;
  /** agent_has_version: what the agent runs now ('' when it has none). */
  agentHasVersion?: string;
  errorMessage?: string;
  /** download_details while DOWNLOADING (0 when not reported). */
  downloadPercent?: number;
  downloadBytesPerSecond?: number;
}

/** agents.package_statuses (the JSON of PackageStatuses) as name -> what the agent says of the offered version. */
export function reportedPackages(stored: unknown): Map<string, ReportedPackage> {
  const out = new Map<string, ReportedPackage>();
  const o = typeof stored === 'string' ? (JSON.parse(stored) as unknown) : stored;
  const packages = o && typeof o === 'object' ? (o as Record<string, unknown>)['packages'] : null;
  if (!packages || typeof packages !== 'object') return out;
  for (const [name, p] of Object.entries(packages as Record<string, unknown>)) {
    if (!p || typeof p !== 'object') continue;
    const r = p as Record<string, unknown>;
    out.set(name, {
      serverOfferedVersion: String(r['serverOfferedVersion'] ?? ''),
      status: statusNumber(r['status']),
      agentHasVersion: String(r['agentHasVersion'] ?? ''),
      errorMessage: String(r['errorMessage'] ?? ''),
      downloadPercent: nonNegative((r['downloadDetails'] as Record<string, unknown> | undefined)?.['downloadPercent']),
      downloadBytesPerSecond: nonNegative((r['downloadDetails'] as Record<string, unknown> | undefined)?.['downloadBytesPerSecond']),
    });
  }
  return out;
}

const S = opamp.proto.v1.PackageStatusEnum;

function nonNegative(v: unknown): number {
  const n = Number(v ?? 0);
  return Number.isFinite(n) && n >= 0 ? n : 0;
}

function statusNumber(v: unknown): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v in S) return (S as unknown as Record<string, number>)[v];
  return S.PackageStatusEnum_Installed;
}

export interface PackageAgentState {
  capabilities: number;
  /** server_provided_all_packages_hash as reported (null/empty: none). */
  reportedHash: Buffer | null;
  reported: ReadonlyMap<string, ReportedPackage>;
  offeredHash: Buffer | null;
  offeredConnection: string | null;
  offeredAtMs: number | null;
}

export type PackageDecisionReason =
  | 'no_accepts_packages'
  | 'in_sync'
  | 'install_failed'
  /** Failed; offered again after the back-off (core/package-retry.ts). */
  | 'install_retry_pending'
  | 'already_offered'
  | 'awaiting_status'
  | 'send';

/**
 * `failureNeedsReceipt`: a failure counts only when the agent reports this
 * set's hash as received (a retry: the INSTALL_FAILED of the attempt before
 * stays in its statuses until it reports on the new one).
 */
export function decidePackageOffer(
  plan: PackagePlan,
  agent: PackageAgentState,
  connection: string,
  nowMs: number,
  waitMs = CONFIG_STATUS_WAIT_MS,
  failureNeedsReceipt = false,
): { send: boolean; reason: PackageDecisionReason } {
  if (!mayOffer(agent.capabilities, 'packages_available')) return { send: false, reason: 'no_accepts_packages' };
  const reports = hasCapability(agent.capabilities, AgentCapabilities.ReportsPackageStatuses);
  const offeredThis = agent.offeredHash !== null && agent.offeredHash.equals(plan.hash);
  if (!reports) return offeredThis ? { send: false, reason: 'already_offered' } : { send: true, reason: 'send' };
  const received = agent.reportedHash !== null && agent.reportedHash.length > 0 && agent.reportedHash.equals(plan.hash);
  const failed = plan.packages.some((p) => {
    const r = agent.reported.get(p.name);
    return r !== undefined && r.serverOfferedVersion === p.version && r.status === S.PackageStatusEnum_InstallFailed;
  });
  // The reported hash says the set was received (opamp-go reports it when a sync starts), not installed.
  if ((received || (offeredThis && !failureNeedsReceipt)) && failed) return { send: false, reason: 'install_failed' };
  if (received) return { send: false, reason: 'in_sync' };
  if (offeredThis) {
    if (agent.offeredConnection === connection && agent.offeredAtMs !== null && nowMs - agent.offeredAtMs < waitMs) return { send: false, reason: 'awaiting_status' };
  }
  return { send: true, reason: 'send' };
}

/** The ServerToAgent carrying the plan; `urlOf` gives each file's download address (a signed one for uploads). */
export function packagesAvailableMessage(instanceUid: Uint8Array, plan: PackagePlan, urlOf: (p: PlannedPackage) => string): IServerToAgent {
  const packages: Record<string, opamp.proto.v1.IPackageAvailable> = {};
  for (const p of plan.packages) {
    packages[p.name] = {
      type: p.kind === 'addon' ? opamp.proto.v1.PackageType.PackageType_Addon : opamp.proto.v1.PackageType.PackageType_TopLevel,
      version: p.version,
      hash: p.hash,
      file: { downloadUrl: urlOf(p), contentHash: p.file.sha256, ...(p.file.signature ? { signature: p.file.signature } : {}) },
    };
  }
  return { instanceUid, packagesAvailable: { packages, allPackagesHash: plan.hash } };
}
