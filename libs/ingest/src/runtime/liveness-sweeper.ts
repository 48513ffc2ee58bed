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
 * ingest uses, with an AgentEvent for each change. A pass goes on batch after
 * batch while batches come full and change something, so a gateway dying with
 * many agents costs one pass, not one pass per batch.
 *
 * Agents counted connected that the live index lacks (Redis lost them, or the
 * embedded server's memory store started empty) are found from the rows:
 * connected with a last_seen_at older than the offline threshold plus the
 * last-seen flush's lag (`rowLagMs`, the bound by which a row trails its
 * agent's newest message). Without a live score their row's time decides.
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
  /** Agents examined per tenant and batch. */
  batchLimit?: number;
  /** How far a row's last_seen_at may trail the agent's newest message (the last-seen flush bound). */
  rowLagMs?: number;
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
    const total: SweepStats = { stale: 0, offline: 0, skipped: false };
    for (;;) {
      const batch = await this.sweepBatch(tenantId);
      total.stale += batch.stats.stale;
      total.offline += batch.stats.offline;
      total.skipped ||= batch.stats.skipped;
      if (!batch.full || batch.stats.skipped || batch.stats.stale + batch.stats.offline === 0) return total;
    }
  }

  private async sweepBatch(tenantId: string): Promise<{ stats: SweepStats; full: boolean }> {
    const now = this.clock();
    const interval = this.options.heartbeatIntervalMs;
    const staleCutoff = now - interval * this.options.staleAfterIntervals;
    const offlineCutoff = now - interval * this.options.offlineAfterIntervals;
    const rowLagMs = this.options.rowLagMs ?? interval;
    const limit = this.options.batchLimit ?? 1000;
    const fromIndex = await this.deps.cursors.silentSince(tenantId, staleCutoff, limit);
    const fromRows = await this.repo.silentConnected(this.deps.db, tenantId, offlineCutoff - rowLagMs, limit);
    const seenHex = new Set(fromIndex.map((c) => c.instanceUid.toString('hex')));
    const candidates = [...fromIndex, ...fromRows.filter((u) => !seenHex.has(u.toString('hex'))).map((instanceUid) => ({ instanceUid }))];
    const full = fromIndex.length >= limit || fromRows.length >= limit;
    const stats: SweepStats = { stale: 0, offline: 0, skipped: false };
    if (candidates.length === 0) return { stats, full };
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
        // Not in the live index: the row's time decides, taken as late as the flush may have left it.
        const score = scores[i];
        const seen = score ?? (row.lastSeenMs === null ? null : row.lastSeenMs + rowLagMs);
        if (seen === null || seen > staleCutoff) return;
        const next: AgentState = { ...row, lastSeenMs: Math.max(row.lastSeenMs ?? 0, score ?? 0), recordVersion: row.recordVersion + 1 };
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
    return { stats, full };
  }
}
