/**
 * WatchAgents on one config-service replica: the open watches, fed by the
 * agent-change feed (contracts AgentChangeFeed, every replica sees every
 * notice). Notices are merged per tenant for `coalesceMs` (several changes of
 * one agent in that window become one event, read from PostgreSQL once, at the
 * end of the window), and only tenants with open watches cost a read. Each
 * watch has a bounded queue that also merges by agent; a watch whose queue is
 * full is ended with RESOURCE_EXHAUSTED (its client lists again and watches
 * again), so a slow client never holds memory or anybody else back.
 */
import { CoalescingQueue, DesiredStateError, matchesWatchFilter, type AgentWatchFacts, type AgentWatchFilter } from '../core';
import type { AgentRow, DesiredStateRepository } from '../store/desired-state.repository';

export const WATCH_UPSERTED = 'AGENT_WATCH_EVENT_KIND_UPSERTED';
export const WATCH_REMOVED = 'AGENT_WATCH_EVENT_KIND_REMOVED';

export interface AgentWatchEvent {
  kind: typeof WATCH_UPSERTED | typeof WATCH_REMOVED;
  /** The Agent message (as ListAgents returns it); only instanceUid when the agent is gone. */
  agent: Record<string, unknown>;
  cursor: string;
}

/** One agent as the API shows it, and what the filters look at. */
export interface AgentView {
  facts: AgentWatchFacts;
  message: Record<string, unknown>;
}

export interface AgentWatchHubOptions {
  /** How long notices are merged before the agents are read (default 100 ms). */
  coalesceMs?: number;
  /** Distinct agents one watch may have undelivered before it is ended (default 1000). */
  maxQueue?: number;
  log?: (level: 'warn' | 'error', message: string) => void;
}

export interface AgentWatchMetrics {
  watchersActive: number;
  watchersOpened: number;
  /** Watches ended because their client fell behind (RESOURCE_EXHAUSTED) or the feed was interrupted (UNAVAILABLE). */
  streamsDropped: number;
  eventsSent: number;
  noticesReceived: number;
}

const READ_CHUNK = 500;
/** REMOVED already told per watch, to tell it once per agent (forgetting only repeats an idempotent event). */
const REMOVED_MEMORY = 10_000;
const BEHIND = 'the watch fell too far behind (more changed agents waiting than the server keeps); list the agents again and watch again';

export class AgentWatch {
  private readonly queue: CoalescingQueue<AgentWatchEvent>;
  private readonly removedSent = new Set<string>();
  private waiter: (() => void) | null = null;
  private ended: { error: DesiredStateError | null } | null = null;

  constructor(
    readonly tenantId: string,
    readonly filter: AgentWatchFilter,
    capacity: number,
    private readonly onEnd: (watch: AgentWatch, dropped: boolean) => void,
    private readonly onSent: () => void,
  ) {
    this.queue = new CoalescingQueue(capacity);
  }

  /** The next event; null once closed; throws the error the watch was ended with. */
  async next(): Promise<AgentWatchEvent | null> {
    for (;;) {
      if (this.ended?.error) throw this.ended.error;
      const event = this.queue.poll();
      if (event) {
        this.onSent();
        return event;
      }
      if (this.ended) return null;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  /** Ends the watch (the client went away, or the server stops). */
  close(): void {
    this.end(null);
  }

  get open(): boolean {
    return this.ended === null;
  }

  /** @internal offers one agent's current view (or its absence) to this watch. */
  offer(hex: string, view: AgentView | null, cursor: () => string): void {
    if (this.ended) return;
    let event: AgentWatchEvent | null = null;
    if (view && matchesWatchFilter(this.filter, view.facts)) {
      this.removedSent.delete(hex);
      event = { kind: WATCH_UPSERTED, agent: view.message, cursor: cursor() };
    } else if (!this.removedSent.has(hex)) {
      if (this.removedSent.size >= REMOVED_MEMORY) this.removedSent.clear();
      this.removedSent.add(hex);
      event = { kind: WATCH_REMOVED, agent: view ? view.message : { instanceUid: hex }, cursor: cursor() };
    }
    if (!event) return;
    if (!this.queue.offer(hex, event)) {
      this.end(new DesiredStateError('RESOURCE_EXHAUSTED', BEHIND));
      return;
    }
    this.wake();
  }

  /** @internal */
  end(error: DesiredStateError | null): void {
    if (this.ended) return;
    this.ended = { error };
    if (error) this.queue.clear();
    this.onEnd(this, error !== null);
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }
}

export class AgentWatchHub {
  readonly metrics: AgentWatchMetrics = { watchersActive: 0, watchersOpened: 0, streamsDropped: 0, eventsSent: 0, noticesReceived: 0 };
  private readonly watches = new Map<string, Set<AgentWatch>>();
  private pending = new Map<string, Map<string, Buffer>>();
  private timer: NodeJS.Timeout | null = null;
  private flushing: Promise<void> = Promise.resolve();
  private sequence = 0;
  private readonly coalesceMs: number;
  private readonly maxQueue: number;

  constructor(
    private readonly repo: DesiredStateRepository,
    private readonly view: (row: AgentRow) => AgentView,
    private readonly options: AgentWatchHubOptions = {},
  ) {
    this.coalesceMs = options.coalesceMs ?? 100;
    this.maxQueue = options.maxQueue ?? 1000;
  }

  open(tenantId: string, filter: AgentWatchFilter): AgentWatch {
    const watch = new AgentWatch(
      tenantId,
      filter,
      this.maxQueue,
      (w, dropped) => this.forget(w, dropped),
      () => this.metrics.eventsSent++,
    );
    let set = this.watches.get(tenantId);
    if (!set) this.watches.set(tenantId, (set = new Set()));
    set.add(watch);
    this.metrics.watchersActive++;
    this.metrics.watchersOpened++;
    return watch;
  }

  /** Agents of a tenant changed (from the feed). Cheap when nobody watches the tenant. */
  notice(tenantId: string, uids: readonly Buffer[]): void {
    this.metrics.noticesReceived++;
    if (!this.watches.has(tenantId) || uids.length === 0) return;
    let agents = this.pending.get(tenantId);
    if (!agents) this.pending.set(tenantId, (agents = new Map()));
    for (const uid of uids) agents.set(uid.toString('hex'), uid);
    this.timer ??= setTimeout(() => {
      this.timer = null;
      this.flushing = this.flushing.then(() => this.flush());
    }, this.coalesceMs);
  }

  /** Ends every watch with `error` (the feed was interrupted: changes may have been missed). */
  endAll(error: DesiredStateError): void {
    for (const set of [...this.watches.values()]) for (const w of [...set]) w.end(error);
  }

  /** Resolves when the notices received so far have been offered to the watches. */
  async settled(): Promise<void> {
    while (this.timer || this.pending.size > 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        this.timer = null;
        this.flushing = this.flushing.then(() => this.flush());
      }
      await this.flushing;
    }
    await this.flushing;
  }

  /** Stops: ends every watch normally. */
  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    for (const set of [...this.watches.values()]) for (const w of [...set]) w.close();
  }

  private forget(watch: AgentWatch, dropped: boolean): void {
    const set = this.watches.get(watch.tenantId);
    if (!set?.delete(watch)) return;
    if (set.size === 0) this.watches.delete(watch.tenantId);
    this.metrics.watchersActive--;
    if (dropped) this.metrics.streamsDropped++;
  }

  private async flush(): Promise<void> {
    const pending = this.pending;
    this.pending = new Map();
    for (const [tenantId, agents] of pending) {
      if (!this.watches.has(tenantId)) continue;
      try {
        const uids = [...agents.values()];
        const views = new Map<string, AgentView>();
        for (let i = 0; i < uids.length; i += READ_CHUNK) {
          const chunk = uids.slice(i, i + READ_CHUNK);
          const rows = await this.repo.agentsPage(tenantId, null, chunk.length, 'a.instance_uid = ANY($1::bytea[])', [chunk]);
          for (const row of rows) views.set(row.instanceUid.toString('hex'), this.view(row));
        }
        const cursor = () => `${Date.now()}-${++this.sequence}`;
        for (const watch of [...(this.watches.get(tenantId) ?? [])]) {
          for (const hex of agents.keys()) watch.offer(hex, views.get(hex) ?? null, cursor);
        }
      } catch (err) {
        this.options.log?.('error', `reading agent changes of tenant ${tenantId} failed: ${String(err)}`);
        for (const w of [...(this.watches.get(tenantId) ?? [])]) {
          w.end(new DesiredStateError('UNAVAILABLE', 'agent changes could not be read; list the agents again and watch again'));
        }
      }
    }
  }
}
