/**
 * The clock side of client certificates, swept periodically by one
 * config-service replica at a time (a transaction-scoped advisory lock):
 * - a certificate past its not_after expires and leaves the gateways'
 *   credential directory (a terminator refuses it by then anyway; a gateway
 *   must not believe it either);
 * - a rotated CA whose overlap has ended is retired: it leaves the trust bundle;
 * - a trusted CA's CRL with less than half its validity left (or none yet) is
 *   re-signed, and revocations of certificates past their end leave the
 *   gateways' revocation set.
 * Work per pass is bounded; a large backlog is worked over several passes.
 */
import { holdsSweepLock, PeriodicPass } from './periodic-pass';
import { removeAll, type CredentialDirectory } from './agent-identity.reconciler';
import type { CertificateServices } from './agent-certificate.issuer';

const SWEEP_LOCK = 'opamp.agent-certificate-sweep';

export interface AgentCertificateSweeperOptions {
  intervalMs?: number;
  pageSize?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export class AgentCertificateSweeper {
  private readonly periodic: PeriodicPass;
  readonly totals = { passes: 0, expired: 0, authoritiesRetired: 0, crlsSigned: 0, errors: 0 };

  constructor(
    private readonly services: CertificateServices,
    private readonly directory: Pick<CredentialDirectory, 'remove' | 'removeMany'> & { pruneRevoked?(): Promise<number> },
    private readonly options: AgentCertificateSweeperOptions = {},
  ) {
    this.periodic = new PeriodicPass(() => this.sweepOnce(), this.options.intervalMs ?? 60_000, (err) => {
      this.totals.errors++;
      this.options.log?.('error', `certificate sweep failed: ${String(err)}`);
    });
  }

  start(): void {
    this.periodic.start();
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  async sweepOnce(): Promise<{ expired: number; authoritiesRetired: number; crlsSigned: number; skipped: boolean }> {
    const db = this.services.certificates.db;
    const outcome = await db.transaction(async (tx) => {
      if (!(await holdsSweepLock(tx, SWEEP_LOCK))) return null;
      const expired = await this.services.certificates.expireDue(tx, this.options.pageSize ?? 1000);
      const retired = await this.services.authorities.retireDue(tx);
      const crlsSigned = this.services.authorities.available ? await this.services.crls.resignDue(tx, this.options.pageSize ?? 1000) : 0;
      return { expired, retired, crlsSigned };
    });
    this.totals.passes++;
    if (!outcome) return { expired: 0, authoritiesRetired: 0, crlsSigned: 0, skipped: true };
    await removeAll(this.directory as CredentialDirectory, outcome.expired.map((c) => c.fingerprint));
    await this.directory.pruneRevoked?.();
    this.totals.expired += outcome.expired.length;
    this.totals.authoritiesRetired += outcome.retired.length;
    this.totals.crlsSigned += outcome.crlsSigned;
    return { expired: outcome.expired.length, authoritiesRetired: outcome.retired.length, crlsSigned: outcome.crlsSigned, skipped: false };
  }
}
