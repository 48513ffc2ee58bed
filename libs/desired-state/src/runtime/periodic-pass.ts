/**
 * A pass run every `intervalMs`, one at a time (a slow pass delays the next,
 * never overlaps it); `stop()` waits for the pass under way. Shared by the
 * sweeps of credentials and certificates, which one replica at a time runs
 * under a transaction-scoped advisory lock (`holdsSweepLock`).
 */
import type { SqlExecutor } from '@opamp/store';

export class PeriodicPass {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly pass: () => Promise<unknown>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.pass().catch(this.onError));
    }, this.intervalMs);
    this.timer.unref?.();
  }

  /** Runs a pass now (after the one under way): a pass that left work behind, or a change that made work due. */
  now(): void {
    if (!this.timer) return;
    this.running = this.running.then(() => this.pass().catch(this.onError));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

/** Whether this transaction took the sweep lock `name` (another replica holding it: false, no wait). */
export async function holdsSweepLock(tx: SqlExecutor, name: string): Promise<boolean> {
  const lock = await tx.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [name]);
  return lock.rows[0]?.['ok'] === true;
}
