/**
 * The credential offer queue's worker: offers that are due in the database
 * (a rotation's new credentials, a connection profile change, a retry after a
 * FAILED offer) are taken page by page (a claim with a lease: replicas share
 * the work, and what a stopped replica had claimed is due again when its lease
 * ends) and handed to the identity reconciler, which decides and sends them as
 * it does for agent events. Woken by the API of this replica after a change,
 * and on an interval for the changes of the others and the retries.
 */
import { randomUUID } from 'node:crypto';
import type { AgentCredentialRepository } from '../store/agent-credential.repository';
import type { AgentIdentityReconciler } from './agent-identity.reconciler';

export interface CredentialOfferDriverOptions {
  /** How often due offers are looked for without a wake-up (ms). */
  intervalMs?: number;
  /** Agents per page. */
  pageSize?: number;
  /** How long a claimed page is left to its pass before others may take it (ms). */
  leaseMs?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export interface CredentialOfferDriverTotals {
  pages: number;
  agents: number;
  errors: number;
}

export class CredentialOfferDriver {
  readonly totals: CredentialOfferDriverTotals = { pages: 0, agents: 0, errors: 0 };
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly credentials: AgentCredentialRepository,
    private readonly identity: AgentIdentityReconciler,
    private readonly options: CredentialOfferDriverOptions = {},
  ) {}

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => this.wake(), this.options.intervalMs ?? 2_000);
    this.timer.unref?.();
    this.wake();
  }

  /** Works the due offers now (after the pass under way, when there is one). */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .then(() => undefined)
      .catch((err: unknown) => {
        this.totals.errors++;
        this.options.log?.('error', `credential offers failed: ${String(err)}`);
      })
      .finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          this.wake();
        }
      });
  }

  /** Resolves when no pass is under way (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Pages until none is due (or `maxPages`); returns the agents handed on. */
  async drain(maxPages = Number.POSITIVE_INFINITY): Promise<number> {
    const pageSize = this.options.pageSize ?? 500;
    let agents = 0;
    for (let page = 0; page < maxPages && !this.stopped; page++) {
      const claim = randomUUID();
      const due = await this.credentials.claimDueOffers(claim, pageSize, this.options.leaseMs ?? 60_000);
      if (due.length === 0) break;
      const byTenant = new Map<string, Map<string, Buffer>>();
      for (const d of due) {
        const uids = byTenant.get(d.tenantId) ?? new Map<string, Buffer>();
        uids.set(d.instanceUid.toString('hex'), d.instanceUid);
        byTenant.set(d.tenantId, uids);
      }
      for (const [tenantId, uids] of byTenant) await this.identity.reconcileAgents(tenantId, [...uids.values()], pageSize);
      await this.credentials.finishDueOffers(claim);
      this.totals.pages++;
      this.totals.agents += due.length;
      agents += due.length;
      if (due.length < pageSize) break;
    }
    return agents;
  }
}
