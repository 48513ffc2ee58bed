/**
 * Writes the last-seen times status-ingest kept off PostgreSQL (the heartbeat
 * fast path, and full-path records that changed only volatile fields) to the
 * agent rows every `intervalMs`, per tenant in batched statements
 * (AgentRepository.writeLastSeen), each statement its own transaction: the
 * rows a statement locks are free again as soon as it is done. One
 * transaction for a tenant's whole buffer held 100,000 agents' row locks for
 * the tens of seconds the flush took, and every ingest batch touching one of
 * them waited (status-ingest fell 1.2 million records behind in the 100,000
 * credential rotation). Last-seen times are volatile: a part written before a
 * failure stays written (rows only move forward), the rest is put back.
 *
 * The bound: a message received at t is in its agent's row by t + intervalMs +
 * the time one flush takes (plus the inbound lag before it is processed). So
 * the API's last_seen, and ListAgents orderBy=last_seen, trail the agent's
 * latest message by at most that, and an agent's shown last seen is at most one
 * heartbeat interval plus that bound old while it reports.
 *
 * Each replica flushes what it processed itself (the agents of its partitions),
 * so replicas never write the same agents twice and need no coordination.
 */
import type { SqlDatabase } from '@opamp/store';
import type { LastSeenBuffer } from '../core/last-seen-buffer';
import { INGEST_DEFAULTS } from '../core/ingest-defaults';
import { AgentRepository } from '../store/agent-repository';

export interface LastSeenFlushTotals {
  flushes: number;
  rowsWritten: number;
  errors: number;
}

export class LastSeenFlusher {
  private readonly repo: AgentRepository;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  readonly totals: LastSeenFlushTotals = { flushes: 0, rowsWritten: 0, errors: 0 };

  constructor(
    private readonly deps: { db: SqlDatabase; buffer: LastSeenBuffer; repository?: AgentRepository; rowsPerTransaction?: number },
    private readonly intervalMs: number,
  ) {
    this.repo = deps.repository ?? new AgentRepository();
  }

  start(onError: (err: unknown) => void = () => undefined): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.flushOnce().catch(onError));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
    await this.flushOnce().catch(() => undefined);
  }

  /** Writes everything buffered; a tenant whose write failed is put back for the next flush. */
  async flushOnce(): Promise<number> {
    let written = 0;
    let failure: unknown = null;
    const step = this.deps.rowsPerTransaction ?? INGEST_DEFAULTS.lastSeenRowsPerStatement;
    for (const [tenantId, entries] of this.deps.buffer.drain()) {
      for (let i = 0; i < entries.length; i += step) {
        const chunk = entries.slice(i, i + step);
        try {
          written += await this.deps.db.transaction((tx) => this.repo.writeLastSeen(tx, tenantId, chunk));
        } catch (err) {
          this.deps.buffer.restore(entries.slice(i));
          failure ??= err;
          break;
        }
      }
    }
    this.totals.flushes++;
    this.totals.rowsWritten += written;
    if (failure !== null) {
      this.totals.errors++;
      throw failure;
    }
    return written;
  }
}
