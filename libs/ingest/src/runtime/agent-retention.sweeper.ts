/**
 * Removes agents disconnected for longer than their tenant's retention
 * (`tenants.agent_retention_days`, default 7, 0 = keep forever; set through
 * the platform API). Runs from the liveness sweeper's schedule, at most every
 * `everyMs`; each tenant's agents go in batches of `batchSize` rows, one short
 * transaction each, locked with SKIP LOCKED so several replicas share the work
 * and an agent status-ingest is writing right now is left alone. What a
 * removal removes is libs/store agent-records.ts; after each commit the
 * agents' cursors and live-index entries are dropped, so an agent that comes
 * back takes the full path and is created anew (ReportFullState), and the
 * agent-change feed is told, so that WatchAgents streams say REMOVED as they
 * do after DeleteAgent.
 */
import type { AgentChangeFeed } from '@opamp/contracts';
import { AGENT_REMOVAL_BATCH, removeAgentsDisconnectedBefore, type SqlDatabase } from '@opamp/store';
import type { AgentCursors } from '../store/cursor-store';

const DAY_MS = 24 * 3_600_000;
/** Retention is counted in days: looking once a minute is plenty. */
export const RETENTION_SWEEP_EVERY_MS = 60_000;

export interface RetentionTotals {
  passes: number;
  /** Agents removed (tombstones of replaced uids included). */
  removed: number;
  errors: number;
  /** Removals the agent-change feed was not told of (a watch shows them until its client lists again). */
  noticesLost: number;
}

export class AgentRetentionSweeper {
  readonly totals: RetentionTotals = { passes: 0, removed: 0, errors: 0, noticesLost: 0 };
  private readonly clock: () => number;
  private lastPassMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: { db: SqlDatabase; cursors: AgentCursors; changes?: Pick<AgentChangeFeed, 'publish'>; clock?: () => number },
    private readonly options: { batchSize?: number; everyMs?: number } = {},
  ) {
    this.clock = deps.clock ?? Date.now;
  }

  /** Sweeps when the last pass is at least `everyMs` ago (called on every liveness pass). */
  async maybeSweep(): Promise<number> {
    if (this.clock() - this.lastPassMs < (this.options.everyMs ?? RETENTION_SWEEP_EVERY_MS)) return 0;
    try {
      return await this.sweepOnce();
    } catch (err) {
      this.totals.errors++;
      throw err;
    }
  }

  /** One pass over every tenant that keeps agents for a limited time; returns the agents removed. */
  async sweepOnce(): Promise<number> {
    const now = this.clock();
    this.lastPassMs = now;
    const batch = this.options.batchSize ?? AGENT_REMOVAL_BATCH;
    const { rows } = await this.deps.db.query<{ id: string; days: unknown }>(
      'SELECT id, agent_retention_days AS days FROM tenants WHERE agent_retention_days > 0 ORDER BY id',
    );
    let removed = 0;
    for (const t of rows) {
      const cutoff = now - Number(t.days) * DAY_MS;
      for (;;) {
        const uids = await this.deps.db.transaction((tx) => removeAgentsDisconnectedBefore(tx, t.id, cutoff, batch));
        if (uids.length === 0) break;
        removed += uids.length;
        this.totals.removed += uids.length;
        await this.deps.cursors.forget(t.id, uids);
        await this.deps.cursors.removeLive(t.id, uids);
        // After the commit, like DeleteAgent: every replica's watches read them again and find them gone.
        await this.deps.changes?.publish({ tenantId: t.id, instanceUids: uids }).catch(() => {
          this.totals.noticesLost += uids.length;
        });
        if (uids.length < batch) break;
      }
    }
    this.totals.passes++;
    return removed;
  }
}
