/**
 * Removes uploaded package files no version names any more (a version that
 * failed to register, an upload never used, one that broke off), once they
 * have not been used for the grace period: libs/store collectUnreferenced
 * keeps whatever a download or an upload touched within it. Replicas may
 * sweep at once: each DELETE takes a blob once.
 */
import type { PackageBlobStore } from '@opamp/store';
import { DEFAULT_PACKAGE_BLOB_GRACE_MS, DEFAULT_PACKAGE_BLOB_SWEEP_MS } from '../core';
import { PeriodicPass } from './periodic-pass';

export interface PackageBlobCollectorOptions {
  graceMs?: number;
  intervalMs?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export class PackageBlobCollector {
  private readonly periodic: PeriodicPass;
  private readonly graceMs: number;
  readonly totals = { passes: 0, blobs: 0, bytes: 0, errors: 0 };

  constructor(
    private readonly blobs: PackageBlobStore,
    options: PackageBlobCollectorOptions = {},
  ) {
    this.graceMs = options.graceMs ?? DEFAULT_PACKAGE_BLOB_GRACE_MS;
    this.periodic = new PeriodicPass(() => this.sweepOnce(), options.intervalMs ?? DEFAULT_PACKAGE_BLOB_SWEEP_MS, (err) => {
      this.totals.errors++;
      options.log?.('error', `package file collection failed: ${String(err)}`);
    });
  }

  start(): void {
    this.periodic.start();
  }

  stop(): Promise<void> {
    return this.periodic.stop();
  }

  async sweepOnce(): Promise<number> {
    const removed = await this.blobs.collectUnreferenced(this.graceMs);
    this.totals.passes++;
    this.totals.blobs += removed.blobs;
    this.totals.bytes += removed.bytes;
    return removed.blobs;
  }
}
