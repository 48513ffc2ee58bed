/**
 * Owns a simulated agent's packages: what it has installed and the
 * PackageStatuses it reports. The least of a package syncer: an offered
 * package is "installed" at once (nothing is downloaded; the opamp-go test
 * agent proves downloads), except versions the agent is told to fail, which
 * it reports INSTALL_FAILED. The package named as the agent itself changes
 * the description's service.version when installed, as an agent restarting
 * into a new build does.
 */
import { opamp } from '@opamp/protocol';
import type { AgentDescriptionInput } from './status-builder';

const S = opamp.proto.v1.PackageStatusEnum;

export interface PackageInstallOptions {
  /** The package that is the agent itself (its version is service.version). */
  readonly agentPackage?: string;
  /** "name@version" the agent fails to install (INSTALL_FAILED "simulated install failure"). */
  readonly failVersions?: readonly string[];
}

export class PackageInstallRunner {
  private readonly statuses: Record<string, opamp.proto.v1.IPackageStatus> = {};
  private allPackagesHash: Uint8Array | undefined;

  constructor(
    private readonly options: PackageInstallOptions,
    private description: AgentDescriptionInput | undefined,
  ) {}

  /** The description, with service.version of the agent package once one was installed. */
  get agentDescription(): AgentDescriptionInput | undefined {
    return this.description;
  }

  get packageStatuses(): opamp.proto.v1.IPackageStatuses | undefined {
    if (!this.allPackagesHash) return undefined;
    return { packages: { ...this.statuses }, serverProvidedAllPackagesHash: this.allPackagesHash };
  }

  /** A PackagesAvailable: every package installed or failed; true when the description changed. */
  offer(available: opamp.proto.v1.IPackagesAvailable): boolean {
    let described = false;
    for (const [name, p] of Object.entries(available.packages ?? {})) {
      const version = p.version ?? '';
      const had = this.statuses[name];
      if (this.options.failVersions?.includes(`${name}@${version}`)) {
        this.statuses[name] = {
          name,
          agentHasVersion: had?.agentHasVersion ?? '',
          agentHasHash: had?.agentHasHash ?? new Uint8Array(0),
          serverOfferedVersion: version,
          serverOfferedHash: p.hash ?? new Uint8Array(0),
          status: S.PackageStatusEnum_InstallFailed,
          errorMessage: 'simulated install failure',
        };
        continue;
      }
      this.statuses[name] = { name, agentHasVersion: version, agentHasHash: p.hash, serverOfferedVersion: version, serverOfferedHash: p.hash, status: S.PackageStatusEnum_Installed };
      if (name === this.options.agentPackage) {
        this.description = { ...this.description, identifying: { ...this.description?.identifying, 'service.version': version } };
        described = true;
      }
    }
    this.allPackagesHash = available.allPackagesHash ?? new Uint8Array(0);
    return described;
  }
}
