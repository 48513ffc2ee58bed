/**
 * Marks agents that fell silent: stale after `staleAfterIntervals` heartbeat
 * intervals without any message, offline after `offlineAfterIntervals` (plain
 * HTTP pollers that stopped, agents of a gateway that died, drained agents
 * that never came back). Any message makes them live again (applyInbound).
 *
 * Safe with several replicas: candidates come from the Redis live index (the
 * oldest last-seen scores, no table scan); each tenant's pass runs in one
 * transaction that first takes a transaction-scoped advisory lock (a replica
 * that does not get it skips the pass) and row-locks the candidates with SKIP
 * LOCKED (rows ingest is writing right now are skipped: they are alive).
 * Last seen is re-read after locking, and the write is the same guarded upsert
 * ingest uses, with an AgentEvent for each change.
 */
import { AgentEventCodec } from '@opamp/contracts';
import type { SqlDatabase } from '@opamp/store';
import { AgentChange, DISCONNECT_REASON_LIVENESS_TIMEOUT, type AgentState } from '../core/agent-state';
import { buildAgentEvent } from '../core/events';
import { AgentRepository } from '../store/agent-repository';
import type { AgentCursors } from '../store/cursor-store';
import type { EventSink } from './inbound-processor';

export interface LivenessOptions {
  heartbeatIntervalMs: number;
  staleAfterIntervals: number;
  offlineAfterIntervals: number;
  sweepIntervalMs: number;
  /** Agents examined per tenant and pass. */
  batchLimit?: number;
}

export interface SweepStats {
  stale: number;
  offline: number;
  skipped: boolean;
}

/** Running totals of the sweeps this sweeper ran (read by the app's metrics). */
export interface SweepTotals {
  passes: number;
  /** Passes another replica held the lock for. */
  skipped: number;
  errors: number;
  stale: number;
  offline: number;
}

const SWEEP_LOCK = 'opamp.status-ingest.liveness-sweep';

export class LivenessSweeper {
  private readonly repo: AgentRepository;
  private readonly clock: () => number;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<unknown> = Promise.resolve();
  readonly totals: SweepTotals = { passes: 0, skipped: 0, errors: 0, stale: 0, offline: 0 };

  constructor(
    private readonly deps: {
      db: SqlDatabase;
      cursors: AgentCursors;
      events: EventSink;
      repository?: AgentRepository;
      clock?: () => number;
      /** Runs after each pass on the same schedule (agent-retention.sweeper.ts). */
      retention?: { maybeSweep(): Promise<unknown> };
    },
    private readonly options: LivenessOptions,
  ) {
    this.repo = deps.repository ?? new AgentRepository();
    this.clock = deps.clock ?? Date.now;
  }

  start(onError: (err: unknown) => void = () => undefined): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      this.running = this.running.then(() =>
        this.sweepOnce()
          .catch((err: unknown) => {
            this.totals.errors++;
            onError(err);
          })
          // Counts its own errors (retention totals).
          .then(() => this.deps.retention?.maybeSweep().catch(onError)),
      );
    }, this.options.sweepIntervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  async sweepOnce(): Promise<SweepStats> {
    const total: SweepStats = { stale: 0, offline: 0, skipped: false };
    const { rows } = await this.deps.db.query<{ id: string }>('SELECT id FROM tenants ORDER BY id');
    for (const { id } of rows) {
      const s = await this.sweepTenant(id);
      total.stale += s.stale;
      total.offline += s.offline;
      total.skipped ||= s.skipped;
    }
    this.totals.passes++;
    if (total.skipped) this.totals.skipped++;
    this.totals.stale += total.stale;
    this.totals.offline += total.offline;
    return total;
  }

  private async sweepTenant(tenantId: string): Promise<SweepStats> {
    const now = this.clock();
    const interval = this.options.heartbeatIntervalMs;
    const staleCutoff = now - interval * this.options.staleAfterIntervals;
    const offlineCutoff = now - interval * this.options.offlineAfterIntervals;
    const candidates = await this.deps.cursors.silentSince(tenantId, staleCutoff, this.options.batchLimit ?? 1000);
    const stats: SweepStats = { stale: 0, offline: 0, skipped: false };
    if (candidates.length === 0) return stats;
    const offline: Buffer[] = [];
    let marked: Buffer[] = [];
    await this.deps.db.transaction(async (tx) => {
      const lock = await tx.query<{ ok: boolean }>('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [SWEEP_LOCK]);
      if (!lock.rows[0]?.ok) {
        stats.skipped = true;
        return;
      }
      const keys = candidates.map((c) => ({ tenantId, instanceUid: c.instanceUid }));
      const loaded = [...(await this.repo.loadForUpdate(tx, keys, true)).values()].filter((s) => s.connected && !s.replacedBy);
      const scores = await this.deps.cursors.lastSeen(
        tenantId,
        loaded.map((s) => s.instanceUid),
      );
      const changed: AgentState[] = [];
      loaded.forEach((row, i) => {
        const seen = scores[i];
        if (seen === null || seen > staleCutoff) return;
        const next: AgentState = { ...row, lastSeenMs: Math.max(row.lastSeenMs ?? 0, seen), recordVersion: row.recordVersion + 1 };
        if (seen <= offlineCutoff) {
          next.connected = false;
          next.stale = false;
          next.gatewayId = null;
          next.connectionId = null;
          next.disconnectReason = DISCONNECT_REASON_LIVENESS_TIMEOUT;
          offline.push(row.instanceUid);
          stats.offline++;
        } else if (!row.stale) {
          next.stale = true;
          stats.stale++;
        } else {
          return;
        }
        changed.push(next);
      });
      if (changed.length === 0) return;
      marked = changed.map((s) => s.instanceUid);
      await this.repo.upsert(tx, changed);
      await this.deps.events.publish(
        changed.map((s) => ({
          key: s.instanceUid,
          value: AgentEventCodec.encode(buildAgentEvent(s, AgentChange.AGENT_CHANGE_CONNECTION, now)),
        })),
      );
    });
    await this.deps.cursors.removeLive(tenantId, offline);
    // The rows changed under the cursors: without them, these agents' next messages take the
    // full path (which clears stale / reconnects) instead of the heartbeat fast path.
    await this.deps.cursors.forget(tenantId, marked);
    return stats;
  }
}
