/**
 * Owns a simulated agent's packages: what it has installed (name -> version
 * and hash), the PackageStatuses it reports, and the downloads of the offer
 * in progress. On PackagesAvailable (with AcceptsPackages) each package whose
 * hash is new is downloaded from its download_url (package-download.ts:
 * streamed, hashed, resumed with Range after a cut; a host named in
 * profile.endpointAliases resolved by instance uid, as for OpAMP
 * endpoints; 503 + Retry-After waited out up to
 * profile.packageDownloadBusyWaits times), reported DOWNLOADING
 * with download_details while it runs, then INSTALLED, or INSTALL_FAILED
 * when the bytes do not have the offered content hash or the download fails.
 * Packages no longer offered are removed, as opamp-go's syncer does.
 * Installing the agent's own package (profile.agentPackage, default its
 * service.name) changes the service.version it describes itself with, as an
 * agent that upgraded itself does. A new offer cancels the one in progress;
 * the same offer again while it runs changes nothing.
 */
import { AgentCapabilities, hasCapability, opamp } from '@opamp/protocol';
import type { ResolvedProfile } from './agent-options';
import type { PackageInstallEvent } from './agent-events';
import { sameBytes } from './config-apply';
import { aliasedUrl } from './connection-settings';
import { downloadPackageFile } from './package-download';
import { StatusPart, type AgentDescriptionInput } from './status-builder';

const S = opamp.proto.v1.PackageStatusEnum;
type PackageStatus = opamp.proto.v1.IPackageStatus;

/** What the runner needs of its agent (the agent implements it). */
export interface PackageInstallHost {
  readonly running: boolean;
  /** Picks the download host among profile.endpointAliases. */
  readonly instanceUid: Uint8Array;
  /** @internal queue these status parts for sending */
  markDirty(parts: number): void;
  emit(event: 'packages', e: PackageInstallEvent): boolean;
}

interface Installed {
  readonly version: string;
  readonly hash: Uint8Array;
}

export class PackageInstallRunner {
  /** What the agent reports (package_statuses); undefined before the first offer. */
  statuses: opamp.proto.v1.IPackageStatuses | undefined;
  private readonly installed = new Map<string, Installed>();
  private abort: AbortController | undefined;
  /** all_packages_hash of the offer whose downloads run now. */
  private runningHash: Uint8Array | undefined;
  private describedFrom: AgentDescriptionInput | undefined;
  private described: AgentDescriptionInput | undefined;

  /** The package that is the agent itself ('' when none). */
  private readonly agentPackage: string;

  constructor(
    private readonly profile: ResolvedProfile,
    private readonly host: PackageInstallHost,
    description: AgentDescriptionInput | undefined,
  ) {
    this.agentPackage = profile.agentPackage ?? String(description?.identifying?.['service.name'] ?? '');
  }

  /** The installed version of the agent's own package, if one was installed. */
  get agentVersion(): string | undefined {
    return this.installed.get(this.agentPackage)?.version;
  }

  /** `base` with service.version of the installed agent package (the same object until it changes). */
  description(base: AgentDescriptionInput | undefined): AgentDescriptionInput | undefined {
    const version = this.agentVersion;
    if (version === undefined) return base;
    if (this.describedFrom !== base || this.described?.identifying?.['service.version'] !== version) {
      this.describedFrom = base;
      this.described = { ...base, identifying: { ...base?.identifying, 'service.version': version } };
    }
    return this.described;
  }

  offer(available: opamp.proto.v1.IPackagesAvailable): void {
    if (!hasCapability(this.profile.capabilities, AgentCapabilities.AcceptsPackages)) return;
    const all = available.allPackagesHash ?? new Uint8Array(0);
    // The same offer again (a reconnect, a plain-HTTP redelivery) while it runs: it goes on.
    if (this.abort && this.runningHash && sameBytes(this.runningHash, all)) return;
    this.cancel();
    const abort = (this.abort = new AbortController());
    this.runningHash = all;
    const offered = available.packages ?? {};
    for (const name of [...this.installed.keys()]) if (!(name in offered)) this.installed.delete(name);
    const packages: Record<string, PackageStatus> = {};
    for (const [name, p] of Object.entries(offered)) {
      const have = this.installed.get(name);
      const current = have !== undefined && p.hash != null && sameBytes(have.hash, p.hash);
      packages[name] = {
        name,
        serverOfferedVersion: p.version ?? '',
        serverOfferedHash: p.hash ?? undefined,
        agentHasVersion: have?.version ?? '',
        agentHasHash: have?.hash,
        status: current ? S.PackageStatusEnum_Installed : S.PackageStatusEnum_InstallPending,
      };
    }
    // The hash of the offer being handled, as opamp-go reports it (not a claim that it is installed).
    this.statuses = { packages, serverProvidedAllPackagesHash: available.allPackagesHash ?? undefined };
    this.report();
    void this.run(offered, packages, abort.signal).finally(() => {
      if (this.abort === abort) this.cancel();
    });
  }

  /** Stops the downloads in progress (a new offer, the agent stopping). */
  cancel(): void {
    this.abort?.abort();
    this.abort = undefined;
    this.runningHash = undefined;
  }

  private report(): void {
    if (hasCapability(this.profile.capabilities, AgentCapabilities.ReportsPackageStatuses)) this.host.markDirty(StatusPart.PackageStatuses);
  }

  private async run(offered: Record<string, opamp.proto.v1.IPackageAvailable>, statuses: Record<string, PackageStatus>, signal: AbortSignal): Promise<void> {
    for (const name of Object.keys(offered).sort()) {
      const status = statuses[name];
      if (status.status === S.PackageStatusEnum_Installed) continue;
      await this.install(name, offered[name], status, signal);
      if (signal.aborted || !this.host.running) return;
      this.report();
    }
  }

  private async install(name: string, p: opamp.proto.v1.IPackageAvailable, status: PackageStatus, signal: AbortSignal): Promise<void> {
    const version = p.version ?? '';
    const file = p.file;
    const fail = (message: string) => {
      status.status = S.PackageStatusEnum_InstallFailed;
      status.errorMessage = message;
      status.downloadDetails = null;
      this.host.emit('packages', { name, version, status: 'install_failed', error: message });
    };
    if (!file?.downloadUrl) return fail('the offer has no download_url');
    status.status = S.PackageStatusEnum_Downloading;
    status.downloadDetails = { downloadPercent: 0, downloadBytesPerSecond: 0 };
    this.report();
    this.host.emit('packages', { name, version, status: 'downloading' });
    const started = Date.now();
    let reportedAt = started;
    try {
      const aliases = this.profile.endpointAliases;
      const url = aliases ? aliasedUrl(new URL(file.downloadUrl), aliases, this.host.instanceUid).href : file.downloadUrl;
      const got = await downloadPackageFile(url, {
        headers: headersOf(file.headers),
        signal,
        busyWaits: this.profile.packageDownloadBusyWaits,
        onProgress: ({ bytes, total }) => {
          const now = Date.now();
          if (now - reportedAt < this.profile.packageProgressIntervalMs) return;
          reportedAt = now;
          const details = { downloadPercent: total ? (bytes / total) * 100 : 0, downloadBytesPerSecond: bytes / Math.max((now - started) / 1000, 0.001) };
          status.downloadDetails = details;
          this.report();
          this.host.emit('packages', { name, version, status: 'downloading', ...details });
        },
      });
      if (signal.aborted) return;
      const expected = Buffer.from(file.contentHash ?? []);
      if (!expected.equals(got.sha256)) {
        return fail(`content hash mismatch: the ${got.bytes} bytes downloaded have SHA-256 ${got.sha256.toString('hex')}, the offer says ${expected.toString('hex')}`);
      }
      const hash = p.hash ?? new Uint8Array(0);
      this.installed.set(name, { version, hash });
      status.status = S.PackageStatusEnum_Installed;
      status.agentHasVersion = version;
      status.agentHasHash = hash;
      status.errorMessage = '';
      status.downloadDetails = null;
      if (name === this.agentPackage) this.host.markDirty(StatusPart.Description);
      this.host.emit('packages', { name, version, status: 'installed', bytes: got.bytes, resumes: got.resumes, busyWaits: got.busyWaits });
    } catch (err) {
      if (signal.aborted) return;
      fail(`download failed: ${(err as Error).message}`);
    }
  }
}

function headersOf(headers: opamp.proto.v1.IHeaders | null | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const h of headers?.headers ?? []) if (h.key) out[h.key] = h.value ?? '';
  return out;
}
