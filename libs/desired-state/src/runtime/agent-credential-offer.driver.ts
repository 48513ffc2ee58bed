/**
 * The credential offer queue's worker: offers that are due in the database
 * (a rotation's new credentials, a connection profile change, a retry after a
 * FAILED offer) are taken page by page (a claim with a lease: replicas share
 * the work, and what a stopped replica had claimed is due again when its lease
 * ends) and handed to the identity reconciler, which decides and sends them as
 * it does for agent events. Woken by the API of this replica after a change,
 * and on an interval for the changes of the others and the retries. Paced
 * (offersPerSecond): every offer makes an agent reconnect.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_CREDENTIAL_OFFERS_PER_S } from '../core';
import type { AgentCredentialRepository } from '../store/agent-credential.repository';
import type { AgentIdentityReconciler } from './agent-identity.reconciler';

export interface CredentialOfferDriverOptions {
  /** How often due offers are looked for without a wake-up (ms). */
  intervalMs?: number;
  /** Agents per page. */
  pageSize?: number;
  /** Agents handed on per second at most (each is offered a reconnect); 0: no pacing. */
  offersPerSecond?: number;
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
  private pausing: { timer: NodeJS.Timeout; resolve: () => void } | null = null;

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
    if (this.pausing) {
      clearTimeout(this.pausing.timer);
      this.pausing.resolve();
    }
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.idle();
  }

  /** Pages until none is due (or `maxPages`); returns the agents handed on. */
  async drain(maxPages = Number.POSITIVE_INFINITY): Promise<number> {
    const rate = this.options.offersPerSecond ?? DEFAULT_CREDENTIAL_OFFERS_PER_S;
    // Pages small enough that the pace is smooth (five a second), never above pageSize.
    const pageSize = Math.max(1, Math.min(this.options.pageSize ?? 500, rate > 0 ? Math.ceil(rate / 5) : Number.POSITIVE_INFINITY));
    let agents = 0;
    for (let page = 0; page < maxPages && !this.stopped; page++) {
      const started = Date.now();
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
      if (rate > 0) await this.pause(started + (due.length / rate) * 1000 - Date.now());
    }
    return agents;
  }

  /** Waits before the next page (cut short by stop()). */
  private pause(ms: number): Promise<void> {
    if (ms <= 0 || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pausing = null;
        resolve();
      }, ms);
      this.pausing = { timer, resolve };
    });
  }
}
