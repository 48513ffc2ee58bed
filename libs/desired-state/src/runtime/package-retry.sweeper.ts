/**
 * Wakes failed package installs whose back-off has passed (core/package-retry.ts):
 * nothing else happens for such an agent (it only heartbeats), so a periodic
 * pass finds them (oldest failure first, bounded per pass) and has the package
 * reconciler decide again, which offers the set as the next attempt. Replicas
 * may sweep at once: the reconciler's offer claim sends each retry once.
 */
import { PACKAGE_RETRY_PAGES_PER_PASS, PACKAGE_RETRY_SWEEP_BATCH } from '../core';
import { PeriodicPass } from './periodic-pass';
import type { PackageReconciler } from './package.reconciler';

export interface PackageRetrySweeperOptions {
  intervalMs?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export class PackageRetrySweeper {
  private readonly periodic: PeriodicPass;
  readonly totals = { passes: 0, woken: 0, errors: 0 };

  constructor(
    private readonly reconciler: PackageReconciler,
    options: PackageRetrySweeperOptions = {},
  ) {
    this.periodic = new PeriodicPass(() => this.sweepOnce(), options.intervalMs ?? 15_000, (err) => {
      this.totals.errors++;
      options.log?.('error', `package retry sweep failed: ${String(err)}`);
    });
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  /** One pass: agents due are re-decided, page by page, at most PACKAGE_RETRY_PAGES_PER_PASS pages (retries of a mass failure are spread out). */
  async sweepOnce(): Promise<number> {
    let woken = 0;
    for (let page = 0; page < PACKAGE_RETRY_PAGES_PER_PASS; page++) {
      const n = await this.reconciler.retryDue(PACKAGE_RETRY_SWEEP_BATCH);
      woken += n;
      if (n < PACKAGE_RETRY_SWEEP_BATCH) break;
    }
    this.totals.passes++;
    this.totals.woken += woken;
    return woken;
  }
}
