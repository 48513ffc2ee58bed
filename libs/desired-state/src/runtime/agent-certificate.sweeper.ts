/**
 * The clock side of client certificates, swept periodically by one
 * config-service replica at a time (a transaction-scoped advisory lock):
 * - a certificate past its not_after expires and leaves the gateways'
 *   credential directory (a terminator refuses it by then anyway; a gateway
 *   must not believe it either);
 * - a rotated CA whose overlap has ended is retired: it leaves the trust bundle;
 * - certificates due for rotation are renewed and offered
 *   (agent-certificate.rotator.ts), a page per pass; a full page runs the
 *   next pass at once, and an operator's request or a CA rotation wakes it;
 * - a trusted CA's CRL with less than half its validity left (or none yet) is
 *   re-signed, and revocations of certificates past their end leave the
 *   gateways' revocation set.
 * Work per pass is bounded; a large backlog is worked over several passes.
 */
import { holdsSweepLock, PeriodicPass } from './periodic-pass';
import { removeAll, type CredentialDirectory } from './agent-identity.reconciler';
import type { CertificateServices } from './agent-certificate.issuer';
import type { AgentCertificateRotator } from './agent-certificate.rotator';

const SWEEP_LOCK = 'opamp.agent-certificate-sweep';

export interface AgentCertificateSweeperOptions {
  intervalMs?: number;
  pageSize?: number;
  /** Renews certificates due for rotation (none: no rotation in this process). */
  rotator?: AgentCertificateRotator | null;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export class AgentCertificateSweeper {
  private readonly periodic: PeriodicPass;
  readonly totals = { passes: 0, expired: 0, authoritiesRetired: 0, crlsSigned: 0, rotated: 0, errors: 0 };

  constructor(
    private readonly services: CertificateServices,
    private readonly directory: Pick<CredentialDirectory, 'remove' | 'removeMany'> & { pruneRevoked?(): Promise<number> },
    private readonly options: AgentCertificateSweeperOptions = {},
  ) {
    this.periodic = new PeriodicPass(() => this.sweepOnce(), this.options.intervalMs ?? 60_000, (err) => {
      this.totals.errors++;
      this.options.log?.('error', `certificate sweep failed: ${String(err)}`);
    });
    if (this.options.rotator) services.rotation.wake = () => this.periodic.now();
  }

  start(): void {
    this.periodic.start();
  }

  async stop(): Promise<void> {
    await this.periodic.stop();
  }

  async sweepOnce(): Promise<{ expired: number; authoritiesRetired: number; crlsSigned: number; rotated: number; skipped: boolean }> {
    const db = this.services.certificates.db;
    const outcome = await db.transaction(async (tx) => {
      if (!(await holdsSweepLock(tx, SWEEP_LOCK))) return null;
      const expired = await this.services.certificates.expireDue(tx, this.options.pageSize ?? 1000);
      const retired = await this.services.authorities.retireDue(tx);
      const crlsSigned = this.services.authorities.available ? await this.services.crls.resignDue(tx, this.options.pageSize ?? 1000) : 0;
      return { expired, retired, crlsSigned };
    });
    this.totals.passes++;
    if (outcome) {
      await removeAll(this.directory as CredentialDirectory, outcome.expired.map((c) => c.fingerprint));
      await this.directory.pruneRevoked?.();
      this.totals.expired += outcome.expired.length;
      this.totals.authoritiesRetired += outcome.retired.length;
      this.totals.crlsSigned += outcome.crlsSigned;
    }
    // Rotation needs no sweep lock: replicas take different rows (SKIP LOCKED).
    const rotation = this.options.rotator ? await this.options.rotator.rotateOnce() : null;
    this.totals.rotated += rotation?.renewed ?? 0;
    if (rotation?.more) this.periodic.now();
    return {
      expired: outcome?.expired.length ?? 0,
      authoritiesRetired: outcome?.retired.length ?? 0,
      crlsSigned: outcome?.crlsSigned ?? 0,
      rotated: rotation?.renewed ?? 0,
      skipped: !outcome,
    };
  }
}
