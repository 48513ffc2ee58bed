/**
 * Package pages' view logic (issue 17): names of kinds and states, the
 * reconciler's per-agent decision in words, progress texts (uploads and
 * agents' downloads), version order, hash shortening and the form syntax of
 * desired package versions ("otelcol@1.1.0, addon@2").
 */
import type { DesiredPackage, PackageFile, PackageKind, PackageStatus, PackageVersion } from './types';

export type PackageTone = 'ok' | 'bad' | 'warn' | 'muted' | 'info';

const KINDS: Record<string, string> = {
  PACKAGE_KIND_AGENT: 'agent',
  PACKAGE_KIND_TOP_LEVEL: 'top-level',
  PACKAGE_KIND_ADDON: 'addon',
};

export function packageKindName(kind: PackageKind | string): string {
  return KINDS[kind] ?? 'unspecified';
}

const STATUS: Record<string, [string, PackageTone]> = {
  PACKAGE_STATE_INSTALLED: ['installed', 'ok'],
  PACKAGE_STATE_INSTALL_PENDING: ['install pending', 'muted'],
  PACKAGE_STATE_INSTALLING: ['installing', 'info'],
  PACKAGE_STATE_INSTALL_FAILED: ['install failed', 'bad'],
  PACKAGE_STATE_DOWNLOADING: ['downloading', 'info'],
};

/** An agent's reported package status (PackageStatusEnum) as a label and tone. */
export function packageStatusView(status: string): { label: string; tone: PackageTone } {
  const s = STATUS[status];
  return s ? { label: s[0], tone: s[1] } : { label: status.replace(/^PACKAGE_STATE_/, '').replace(/_/g, ' ').toLowerCase(), tone: 'muted' };
}

const DECISIONS: Record<string, [string, PackageTone, string]> = {
  in_sync: ['in sync', 'ok', 'The agent reports the packages it should run.'],
  send: ['to be sent', 'info', 'The packages will be offered on its next message.'],
  awaiting_status: ['awaiting status', 'info', 'Offered; waiting for the agent to report their status.'],
  already_offered: ['offered', 'info', 'Offered already; the agent has not reported the new set yet.'],
  install_retry_pending: ['retry pending', 'warn', 'The install failed; it is offered again after a back-off.'],
  install_failed: ['install failed', 'bad', 'The install failed; not offered again until the set changes.'],
  no_accepts_packages: ['not accepted', 'muted', 'The agent does not accept packages (no AcceptsPackages).'],
  no_assignment: ['no assignment', 'muted', 'No package assignment selects this agent.'],
  no_file_for_platform: ['no file for platform', 'bad', 'A version has no file for this agent’s os.type/host.arch: nothing is sent.'],
  version_withdrawn: ['version withdrawn', 'bad', 'The assignment names a withdrawn version: nothing is sent.'],
  version_unknown: ['version unknown', 'bad', 'The assignment names a version that does not exist: nothing is sent.'],
  no_download_url: ['no download address', 'bad', 'Uploaded files, but the server has no download address configured.'],
};

/** GetAgentPackages' state (the reconciler's decision) as a label, tone and sentence. */
export function agentPackagesView(state: string): { label: string; tone: PackageTone; text: string } {
  const d = DECISIONS[state];
  return d ? { label: d[0], tone: d[1], text: d[2] } : { label: state.replace(/_/g, ' ') || 'unknown', tone: 'muted', text: '' };
}

/** 1536 -> "1.5 KiB". */
export function formatBytes(n: number | string | undefined): string {
  const v = Number(n ?? 0);
  if (!Number.isFinite(v) || v < 0) return '—';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let x = v;
  let i = 0;
  while (x >= 1024 && i < units.length - 1) {
    x /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${x < 10 ? x.toFixed(1) : Math.round(x)} ${units[i]}`;
}

/** The first 12 hex digits of a SHA-256 (enough to tell files apart on screen). */
export function shortHash(hex: string, digits = 12): string {
  if (!hex) return '—';
  return hex.length > digits ? `${hex.slice(0, digits)}…` : hex;
}

/** A file's upload progress: "42 % · 1.2 MiB of 3.0 MiB". */
export function uploadProgress(loaded: number, total: number): { percent: number; text: string } {
  const percent = total > 0 ? Math.min(100, Math.floor((100 * loaded) / total)) : 0;
  return { percent, text: `${percent} % · ${formatBytes(loaded)} of ${formatBytes(total)}` };
}

/** An agent's DOWNLOADING progress from download_details, when it reports one: "37 % at 2.0 MiB/s". */
export function downloadProgressText(details: { downloadPercent?: number; downloadBytesPerSecond?: number } | undefined): string {
  if (!details) return '';
  const parts: string[] = [];
  if (details.downloadPercent !== undefined) parts.push(`${Math.round(details.downloadPercent)} %`);
  if (details.downloadBytesPerSecond) parts.push(`at ${formatBytes(Math.round(details.downloadBytesPerSecond))}/s`);
  return parts.join(' ');
}

/** Compares versions by their numeric and text parts ("1.10.0" after "1.9.2"; "1.0.0-rc1" before "1.0.0"). */
export function compareVersions(a: string, b: string): number {
  const [coreA, preA = ''] = splitPre(a);
  const [coreB, preB = ''] = splitPre(b);
  const c = compareParts(coreA, coreB);
  if (c !== 0) return c;
  if (preA === preB) return 0;
  if (!preA) return 1;
  if (!preB) return -1;
  return compareParts(preA, preB);
}

function splitPre(v: string): [string, string?] {
  const i = v.search(/[-~+]/);
  return i < 0 ? [v] : [v.slice(0, i), v.slice(i + 1)];
}

function compareParts(a: string, b: string): number {
  const pa = a.split(/[.]/);
  const pb = b.split(/[.]/);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i] ?? '';
    const y = pb[i] ?? '';
    if (x === y) continue;
    if (x === '') return -1;
    if (y === '') return 1;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) - Number(y);
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

/** Newest version first. */
export function sortVersionsNewestFirst<T extends Pick<PackageVersion, 'version'>>(versions: readonly T[]): T[] {
  return [...versions].sort((x, y) => compareVersions(y.version, x.version));
}

/** The newest version that is not withdrawn ("" when there is none). */
export function latestVersion(versions: readonly Pick<PackageVersion, 'version' | 'withdrawn'>[]): string {
  return sortVersionsNewestFirst(versions.filter((v) => !v.withdrawn))[0]?.version ?? '';
}

/** Where agents download a file from, for the table. */
export function fileSourceText(f: Pick<PackageFile, 'source' | 'url'>): string {
  if (f.source === 'upload' || (!f.url && f.source !== 'url')) return 'uploaded to this server';
  return f.url;
}

export function isSha256(hex: string): boolean {
  return /^[0-9a-f]{64}$/i.test(hex.trim());
}

/** "otelcol@1.1.0, addon@2" (or one per line) -> desired packages; throws with a message for the form. */
export function parseDesiredPackages(text: string): DesiredPackage[] {
  const parts = text
    .split(/[\n,]+/)
    .map((p) => p.trim())
    .filter(Boolean);
  if (parts.length === 0) throw new Error('Packages: at least one, as name@version (e.g. otelcol@1.1.0).');
  const seen = new Set<string>();
  return parts.map((p) => {
    const i = p.lastIndexOf('@');
    if (i <= 0 || i === p.length - 1) throw new Error(`"${p}": name@version (e.g. otelcol@1.1.0).`);
    const packageName = p.slice(0, i).trim();
    if (seen.has(packageName)) throw new Error(`${packageName}: one version per package.`);
    seen.add(packageName);
    return { packageName, version: p.slice(i + 1).trim() };
  });
}

export function formatDesiredPackages(packages: readonly DesiredPackage[]): string {
  return packages.map((p) => `${p.packageName}@${p.version}`).join(', ');
}

export interface DownloadSummary {
  agents: number;
  downloading: number;
  installing: number;
  installed: number;
  failed: number;
  /** Mean download_details percent of the downloading agents that report one (null: none does). */
  meanPercent: number | null;
  bytesPerSecond: number;
}

/**
 * How a batch's agents stand with the rollout's new versions, from what each
 * reports (the statuses of the packages `to` names): installed means the
 * version named is what it has.
 */
export function downloadSummary(agents: readonly (readonly PackageStatus[])[], to: readonly DesiredPackage[]): DownloadSummary {
  const s: DownloadSummary = { agents: agents.length, downloading: 0, installing: 0, installed: 0, failed: 0, meanPercent: null, bytesPerSecond: 0 };
  const percents: number[] = [];
  for (const statuses of agents) {
    const mine = statuses.filter((p) => to.some((d) => d.packageName === p.name));
    if (mine.some((p) => p.status === 'PACKAGE_STATE_INSTALL_FAILED')) s.failed++;
    else if (mine.some((p) => p.status === 'PACKAGE_STATE_DOWNLOADING')) {
      s.downloading++;
      for (const p of mine) {
        if (p.downloadDetails?.downloadPercent !== undefined) percents.push(p.downloadDetails.downloadPercent);
        s.bytesPerSecond += p.downloadDetails?.downloadBytesPerSecond ?? 0;
      }
    } else if (mine.some((p) => p.status === 'PACKAGE_STATE_INSTALLING' || p.status === 'PACKAGE_STATE_INSTALL_PENDING')) s.installing++;
    else if (to.length > 0 && to.every((d) => mine.some((p) => p.name === d.packageName && p.status === 'PACKAGE_STATE_INSTALLED' && p.agentHasVersion === d.version))) s.installed++;
  }
  if (percents.length) s.meanPercent = percents.reduce((a, b) => a + b, 0) / percents.length;
  return s;
}

/** "2 downloading (45 % at 3.0 MiB/s) · 1 installing · 4 installed · 0 failed, of 7". */
export function downloadSummaryText(s: DownloadSummary): string {
  const dl = s.downloading
    ? `${s.downloading} downloading${s.meanPercent !== null || s.bytesPerSecond ? ` (${downloadProgressText({ downloadPercent: s.meanPercent ?? undefined, downloadBytesPerSecond: s.bytesPerSecond })})` : ''}`
    : '0 downloading';
  return `${dl} · ${s.installing} installing · ${s.installed} installed · ${s.failed} failed, of ${s.agents}`;
}
